"""No personal data in the request log (banks.models.ApiRequestLog).

Masking is by field: the body is parsed and ``id_number``, ``name`` and
``phone`` are masked, every other unknown string keeps only its length, and
a body that is no JSON object is a placeholder. Checked on the raw text of
the table, whatever path wrote the row.
"""

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection

import banks.api.views.deposits as deposit_views
from banks import services
from banks.models import ApiRequestLog
from clients.fund_bank_client import FundBankClient, encode_body
from tests.banks.conftest import account_fields, deposit_fields
from tests.idgen import make_id

pytestmark = pytest.mark.django_db

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

ID = make_id(dt.date(1988, 3, 9), seq=555, male=True)
PHONE = "13912345678"
NAME = "欧阳明月"
IDS = [
    ID,
    ID.translate(FULL_WIDTH),
    ID.translate(ARABIC_INDIC),
    f"{ID[:6]} {ID[6:14]} {ID[14:]}",
    ID.lower(),
    ID[:17],  # one short: not canonical
]
PHONES = [
    PHONE,
    PHONE.translate(FULL_WIDTH),
    PHONE.translate(ARABIC_INDIC),
    f"{PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}",
    "+86-" + PHONE,
]
NAMES = [NAME, "Zhang Wei", "王 小明", "阿卜杜拉·买买提"]


def _raw_log_text() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT row_to_json(l)::text FROM banks_apirequestlog l")
        return "\n".join(row[0] for row in cur.fetchall())


def _assert_nothing_personal(values: list[str]) -> None:
    text = _raw_log_text()
    assert text, "no log rows were written"
    for value in values:
        for form in {value, json.dumps(value)[1:-1], value.replace(" ", "")}:
            assert form not in text, (form, text)
    # The parts a mask may never show: an ID's birth date, a phone's middle.
    assert ID[6:14] not in text and ID[6:14].translate(ARABIC_INDIC) not in text
    assert PHONE[3:9] not in text


@pytest.fixture(params=["fast", "view"])
def path_kind(request: Any, monkeypatch: Any) -> str:
    if request.param == "view":
        monkeypatch.setattr(deposit_views, "deposit_fast", lambda http_request: None)
    return request.param


@pytest.mark.parametrize("id_number", IDS)
@pytest.mark.parametrize("phone", PHONES)
def test_account_open_bodies_leave_no_personal_text(
    api: FundBankClient, id_number: str, phone: str
) -> None:
    for i, name in enumerate(NAMES):
        # Refused bodies are the ones logged with an excerpt.
        fields = account_fields(
            id_number=id_number, phone=phone, name=name, monthly_amount="1.00"
        )
        response = api.open_account(idempotency_key=f"p-{i}", **fields)
        assert response.status_code == 400, response.text
    _assert_nothing_personal([id_number, phone, *NAMES])


def test_masks_keep_what_helps_and_nothing_else(api: FundBankClient) -> None:
    fields = account_fields(id_number=ID, phone=PHONE, name=NAME, monthly_amount="1")
    assert api.open_account(idempotency_key="mask-1", **fields).status_code == 400
    excerpt = json.loads(ApiRequestLog.objects.get().body_excerpt)
    assert excerpt["id_number"] == ID[:6] + "*" * 8 + ID[-4:]
    assert excerpt["name"] == NAME[0] + "*" * (len(NAME) - 1)
    assert excerpt["phone"] == PHONE[:3] + "*" * 6 + PHONE[-2:]
    assert excerpt["monthly_amount"] == "1"  # the bank's mistake stays visible
    assert excerpt["industry"] == "new_courier"


@pytest.mark.parametrize(
    "id_number", [ID.translate(FULL_WIDTH), ID.translate(ARABIC_INDIC), ID[:17]]
)
def test_a_non_canonical_id_is_all_stars(api: FundBankClient, id_number: str) -> None:
    fields = account_fields(id_number=id_number, monthly_amount="1")
    api.open_account(idempotency_key="mask-2", **fields)
    excerpt = json.loads(ApiRequestLog.objects.get().body_excerpt)
    assert excerpt["id_number"] == "*" * len(id_number)


@pytest.mark.parametrize("id_number", IDS[:4])
def test_deposit_bodies_with_personal_fields_on_both_paths(
    api: FundBankClient, open_via_api: Any, path_kind: str, id_number: str
) -> None:
    no = open_via_api(api)
    ApiRequestLog.objects.all().delete()
    extra = {"id_number": id_number, "name": NAME, "phone": PHONE, "holder": NAME}
    ok = api.post_deposit(
        idempotency_key="d-ok", **deposit_fields(no, bank_txn_id="PV-1"), **extra
    )
    assert ok.status_code == 201, ok.text
    refused = {**deposit_fields(no, months=13), **extra}
    bad = api.post_deposit(idempotency_key="d-bad", **refused)
    assert bad.status_code == 400
    replay = api.post_deposit(idempotency_key="d-bad", **refused)
    assert replay.status_code == 400 and replay.content == bad.content
    assert ApiRequestLog.objects.count() == 3
    _assert_nothing_personal([id_number, NAME, PHONE])


@pytest.mark.parametrize(
    "raw",
    [
        # Not JSON at all, or cut short: never stored as text.
        f'{{"name": "{NAME}", "phone": "{PHONE}", "id_number": "{ID}"'.encode(),
        f'["{NAME}", "{PHONE}", "{ID}"]'.encode(),
        f'"{NAME} {PHONE} {ID}"'.encode(),
        f"name={NAME}&phone={PHONE}&id={ID}".encode(),
        f'{{"name": "{NAME}"}}'.encode("utf-16"),
        b"\xef\xbb\xbf" + f'{{"name": "{NAME}", "phone": "{PHONE}"}}'.encode(),
        # A JSON object hiding personal data in unknown fields and keys.
        encode_body({"holder": NAME, "mobile": PHONE, ID: 1, PHONE: NAME}),
        encode_body({"contact": {"name": NAME, "phone": PHONE}, "ids": [ID]}),
        encode_body({"name": {"first": NAME}, "phone": int(PHONE), "id_number": 1}),
        encode_body({"bank_txn_id": NAME, "amount": PHONE, "account_no": ID}),
        # Numbers are no safer than strings.
        encode_body({"months": int(PHONE), "amount": int(ID), "price": int(PHONE)}),
        # Where the allow-list trusts the value, the regex still masks an ID.
        encode_body({"bank_txn_id": ID, "account_no": "1"}),
    ],
)
@pytest.mark.parametrize("target", ["/api/v1/deposits/", "/api/v1/accounts/"])
def test_invalid_bodies_leave_no_personal_text(
    api: FundBankClient, path_kind: str, raw: bytes, target: str
) -> None:
    response = api.request("POST", target, raw_body=raw, idempotency_key="inv-1")
    assert 400 <= response.status_code < 500, response.text
    _assert_nothing_personal([NAME, PHONE, ID])


def test_a_non_object_body_is_a_placeholder_with_size_and_hash(
    api: FundBankClient,
) -> None:
    import hashlib

    raw = f'["{NAME}"]'.encode()
    api.request("POST", "/api/v1/accounts/", raw_body=raw, idempotency_key="ph-1")
    excerpt = ApiRequestLog.objects.get().body_excerpt
    assert str(len(raw)) in excerpt
    assert hashlib.sha256(raw).hexdigest()[:12] in excerpt
    assert NAME not in excerpt


def test_unsigned_and_unauthenticated_requests_are_masked_too(
    api: FundBankClient,
) -> None:
    body = encode_body({"name": NAME, "phone": PHONE, "id_number": ID})
    response = api._http.post(
        "/api/v1/accounts/", content=body, headers={"Idempotency-Key": ID}
    )
    assert response.status_code == 401
    _assert_nothing_personal([NAME, PHONE, ID])


@pytest.mark.parametrize(
    "segment", [ID, ID.translate(ARABIC_INDIC), ID.translate(FULL_WIDTH), NAME]
)
def test_personal_text_in_the_path_is_masked(api: FundBankClient, segment: str) -> None:
    response = api.get(f"/api/v1/accounts/{segment}/")
    assert response.status_code == 404
    response = api.get(f"/api/v1/no-such/{segment}/?q={segment}")
    assert response.status_code == 404
    _assert_nothing_personal([segment])
    from urllib.parse import quote

    assert quote(segment) not in _raw_log_text()


def test_an_id_as_idempotency_key_is_masked(api: FundBankClient) -> None:
    fields = account_fields(monthly_amount="1.00")
    api.open_account(idempotency_key=ID, **fields)
    assert ID not in _raw_log_text()


def test_an_invalid_idempotency_key_is_not_kept(api: FundBankClient) -> None:
    response = api.open_account(
        idempotency_key=f"Zhang Wei {PHONE}", **account_fields()
    )
    assert response.status_code == 400
    _assert_nothing_personal([PHONE, "Zhang Wei"])


def test_the_service_masks_whatever_the_caller_passes(bank: Any) -> None:
    for excerpt in [
        json.dumps({"name": NAME, "phone": PHONE, "id_number": ID}),
        json.dumps({"name": NAME, "phone": PHONE, "id_number": ID}).encode(),
        f"{NAME} {PHONE} {ID}",
    ]:
        services.api_request_log_create(
            bank=bank,
            method="POST",
            path="/api/v1/accounts/",
            status=400,
            latency_ms=1,
            body_excerpt=excerpt,
        )
    _assert_nothing_personal([NAME, PHONE, ID])
