"""Every value the API parses from a path, a query or a header: never a 500.

The class of defect: ``str.isdigit`` and ``int`` take any script's digits
(and ``isdigit`` superscripts ``int`` then refuses), and a date at the edge
of the calendar overflows once a day or a time zone is added to it.
"""

import datetime as dt
import json
import time
from typing import Any

import pytest
from django.test import Client

from accounts.models import Depositor, FundAccount
from banks.models import ApiRequestLog
from banks.selectors import account_no_canonical
from clients.fund_bank_client import FundBankClient, signed_headers
from deposits.models import Deposit
from tests.banks.conftest import account_fields, deposit_fields, error_code
from tests.idgen import make_id

pytestmark = pytest.mark.django_db

# Digits of other scripts, and the superscripts str.isdigit() accepts.
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
KANNADA = str.maketrans("0123456789", "೦೧೨೩೪೫೬೭೮೯")
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
SUPERSCRIPT_TWO = "²"


def _contract_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body


# --- statements: the date, page_size, cursor ----------------------------------


@pytest.mark.parametrize(
    "day",
    [
        "9999-12-31",  # the day's end is past datetime.max: OverflowError
        "9999-12-30",
        "0001-01-01",
        "1899-12-31",
        "0000-01-01",
        "2026-1５-01",
        "２０２６-01-15",
        "2026-01-15".translate(ARABIC_INDIC),
        "2026-01-15".translate(DEVANAGARI),
        "2026-01-1" + SUPERSCRIPT_TWO,
        "99999-01-01",
        "2026-01-15T00:00",
        "+2026-01-15",
    ],
)
def test_statement_date_out_of_range_or_in_other_digits_is_400(
    api: FundBankClient, day: str
) -> None:
    response = api.get(f"/api/v1/statements/{day}/")
    if day == "9999-12-30":
        # The last day whose end still exists: a real (empty) statement.
        assert response.status_code == 200, response.text
        assert response.json()["count"] == 0
        return
    _contract_error(response, 400, "invalid_date")


@pytest.mark.parametrize(
    "size",
    [
        SUPERSCRIPT_TWO,
        "1" + SUPERSCRIPT_TWO,
        "⁵",
        "①",
        "10".translate(ARABIC_INDIC),
        "10".translate(DEVANAGARI),
        "10".translate(KANNADA),
        "9" * 30,
        "9" * 5000,
        "-1",
        "+5",
        "1e2",
        "10.0",
        "",
        " ",
        "0x10",
        "٣",
    ],
)
def test_statement_page_size_not_ascii_or_out_of_range_is_400(
    api: FundBankClient, size: str
) -> None:
    response = api.get("/api/v1/statements/2026-01-15/", {"page_size": size})
    _contract_error(response, 400, "invalid_page_size")


def test_statement_page_size_in_full_width_digits_is_read_as_ascii(
    api: FundBankClient,
) -> None:
    # Full-width digits are what a Chinese input method types (core.inputs).
    response = api.get("/api/v1/statements/2026-01-15/", {"page_size": "１０"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "٣٤٥",
        SUPERSCRIPT_TWO,
        "x" * 5000,
        "a.b",
        "eyJhIjoxfQ",
        "WyI5OTk5LTEyLTMxVDIzOjU5OjU5LTEwOjAwIiwgOTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ",
        "\u00e9\u00e9.\u00e9",
    ],
)
def test_statement_forged_cursor_is_400(api: FundBankClient, cursor: str) -> None:
    response = api.get("/api/v1/statements/2026-01-15/", {"cursor": cursor})
    _contract_error(response, 400, "invalid_cursor")


# --- account numbers in the path -----------------------------------------------


@pytest.mark.parametrize(
    "transform",
    [
        lambda no: no.translate(ARABIC_INDIC),
        lambda no: no.translate(DEVANAGARI),
        lambda no: no.translate(KANNADA),
        lambda no: no[:-1] + SUPERSCRIPT_TWO,
        lambda no: no + "0" * 5000,
        lambda no: "9" * 40,
        lambda no: no + "%00",
        lambda no: no + "%FF",
    ],
)
@pytest.mark.parametrize("suffix", ["", "credit-profile/"])
def test_account_number_in_other_digits_is_404(
    api: FundBankClient, open_via_api: Any, transform: Any, suffix: str
) -> None:
    no = open_via_api(api)
    response = api.get(f"/api/v1/accounts/{transform(no)}/{suffix}")
    _contract_error(response, 404)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3706000000017", "3706000000017"),
        ("３７０６０００００００１７", "3706000000017"),
        ("٣٧٠٦", None),
        ("३७०६", None),
        ("೩೭೦೬", None),
        ("37" + SUPERSCRIPT_TWO, None),
        ("①", None),
        ("1" * 17, None),
        ("", None),
        ("-1", None),
        (3706, None),
    ],
)
def test_account_numbers_are_ascii_digits(raw: Any, expected: str | None) -> None:
    assert account_no_canonical(raw) == expected


def test_an_account_number_in_other_digits_never_reaches_the_database(
    api: FundBankClient,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api.industries()  # credentials cached
    with CaptureQueriesContext(connection) as queries:
        response = api.get(
            "/api/v1/accounts/" + "3706000000017".translate(ARABIC_INDIC) + "/"
        )
    assert response.status_code == 404
    assert not [q for q in queries.captured_queries if "fundaccount" in q["sql"]]


def test_account_number_in_full_width_digits_reads_the_account(
    api: FundBankClient, open_via_api: Any
) -> None:
    no = open_via_api(api)
    response = api.get(f"/api/v1/accounts/{no.translate(FULL_WIDTH)}/")
    assert response.status_code == 200, response.text
    assert response.json()["account_no"] == no


@pytest.mark.parametrize(
    "account_no",
    ["٣٧٠٦", SUPERSCRIPT_TWO * 13, "३७०६०००००००१७", "3706" + "²"],
)
def test_deposit_to_an_account_number_in_other_digits_is_404(
    api: FundBankClient, open_via_api: Any, account_no: str
) -> None:
    open_via_api(api)
    response = api.post_deposit(**deposit_fields(account_no))
    _contract_error(response, 404, "account_not_found")
    assert not Deposit.objects.exists()


# --- headers -------------------------------------------------------------------


def _raw_get(bank: Any, path: str, **overrides: str) -> Any:
    """Through Django's client: httpx will not send non-ASCII header values."""
    headers = signed_headers(bank.key_id, bank.plain_secret, "GET", path)
    headers.update(overrides)
    return Client().get(path, headers=headers, REQUEST_URI=path)


# Transforms of "now", applied in the test: collection must not read the clock
# (xdist workers must collect the same ids).
_STAMPS = {
    "arabic-indic": lambda now: now.translate(ARABIC_INDIC),
    "devanagari": lambda now: now.translate(DEVANAGARI),
    "full-width": lambda now: now.translate(FULL_WIDTH),
    "superscript": lambda now: now[:-1] + SUPERSCRIPT_TWO,
    "13-digits": lambda now: "9" * 13,
    "400-digits": lambda now: "9" * 400,
    "zero": lambda now: "0",
    "leading-space": lambda now: " " + now,
}


@pytest.mark.parametrize("stamp_kind", sorted(_STAMPS))
def test_timestamp_in_other_digits_or_extreme_is_401(
    bank: Any, today: Any, stamp_kind: str
) -> None:
    stamp = _STAMPS[stamp_kind](str(int(time.time())))
    response = _raw_get(bank, "/api/v1/industries/", **{"X-Timestamp": stamp})
    _contract_error(response, 401)
    assert response.json()["error"]["code"] in {
        "timestamp_invalid",
        "timestamp_out_of_window",
    }


@pytest.mark.parametrize(
    "key_id", ["bk_\u0000x", "bk_٣٤", "x" * 65, "x" * 5000, "bk x", "\u00e9"]
)
def test_malformed_key_id_is_401(bank: Any, today: Any, key_id: str) -> None:
    response = _raw_get(bank, "/api/v1/industries/", **{"X-Bank-Key": key_id})
    _contract_error(response, 401, "unknown_bank_key")


@pytest.mark.parametrize(
    "signature", ["٣" * 64, "a" * 63 + SUPERSCRIPT_TWO, "A" * 6400, "\u0000" * 64]
)
def test_malformed_signature_is_401(bank: Any, today: Any, signature: str) -> None:
    response = _raw_get(bank, "/api/v1/industries/", **{"X-Signature": signature})
    _contract_error(response, 401, "signature_invalid")


@pytest.mark.parametrize(
    "key",
    [
        "k" + "١٢٣",
        "k" + SUPERSCRIPT_TWO,
        "ｋｅｙ１",
        "k\u0000",
        "x" * 65,
        "x" * 5000,
        "k\u212a",  # KELVIN SIGN, which is "K" under case folding
    ],
)
def test_idempotency_key_not_ascii_is_400(
    api: FundBankClient, open_via_api: Any, bank: Any, key: str
) -> None:
    no = open_via_api(api)
    body = json.dumps(deposit_fields(no)).encode()
    path = "/api/v1/deposits/"
    headers = signed_headers(bank.key_id, bank.plain_secret, "POST", path, body)
    headers["Idempotency-Key"] = key
    response = Client().post(
        path,
        data=body,
        content_type="application/json",
        headers=headers,
        REQUEST_URI=path,
    )
    _contract_error(response, 400, "idempotency_key_invalid")
    assert not Deposit.objects.exists()


@pytest.mark.parametrize("version", ["3", "0", "２", "٢", "v2", "2 ", "1,2"])
def test_unknown_signature_version_is_401(bank: Any, today: Any, version: str) -> None:
    response = _raw_get(bank, "/api/v1/industries/", **{"X-Signature-Version": version})
    _contract_error(response, 401, "signature_version_invalid")


@pytest.mark.parametrize("length", ["abc", "١٠", "-1", "9" * 30])
def test_malformed_content_length_is_not_a_500(
    bank: Any, today: Any, length: str
) -> None:
    path = "/api/v1/deposits/"
    headers = signed_headers(bank.key_id, bank.plain_secret, "POST", path, b"{}")
    headers["Idempotency-Key"] = "cl-1"
    response = Client().post(
        path,
        data=b"{}",
        content_type="application/json",
        headers=headers,
        REQUEST_URI=path,
        CONTENT_LENGTH=length,
    )
    assert response.status_code < 500, response.content
    assert set(response.json()) == {"error"}


# --- body values at the edges ----------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"first_month": "9999-12"},
        {"first_month": "9999-12", "months": 12, "amount": "9600.00"},
        {"first_month": "1900-01"},
        {"paid_at": "9999-12-31T23:59:59-23:59"},
        {"paid_at": "0001-01-01T00:00:00+14:00"},
        {"paid_at": "2026-01-15T10:00:00+99:99"},
        {"amount": "9999999999999.99"},
        {"months": 2**63},
        {"months": -(2**63)},
        {"bank_txn_id": "٣" * 10},
        {"amount": "٨٠٠.٠٠"},
        {"first_month": "٢٠٢٦-٠١"},
    ],
)
def test_deposit_edge_values_are_4xx(
    api: FundBankClient, open_via_api: Any, change: dict
) -> None:
    no = open_via_api(api)
    response = api.post_deposit(**deposit_fields(no, **change))
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"error"}
    assert not Deposit.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"start_month": "9999-12"},
        {"start_month": "1900-01"},
        {"monthly_amount": "9999999999999.99"},
        {"monthly_amount": "٨٠٠.٠٠"},
        {"start_month": "٢٠٢٦-٠١"},
        {"phone": "١٣٨٠٠٠٠٠٠٠٠"},
        {"name": "\ud800"},  # a lone surrogate: no UTF-8 text holds one
        {"name": "\udfff\ud800"},
        {"id_number": "\ud83d" * 18},
    ],
)
def test_account_open_edge_values_are_4xx(api: FundBankClient, change: dict) -> None:
    # ensure_ascii: the escapes go as JSON escapes, as a hostile bank sends them.
    body = json.dumps(account_fields(**change)).encode()
    response = api.request(
        "POST", "/api/v1/accounts/", raw_body=body, idempotency_key="edge-open"
    )
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"error"}
    assert not FundAccount.objects.exists()
    # The log row is written even when a value cannot be stored as text.
    assert ApiRequestLog.objects.filter(idempotency_key="edge-open").count() == 1


# --- resident IDs in other scripts -----------------------------------------------

_ID = make_id(dt.date(1990, 5, 15), seq=777, male=True)


@pytest.mark.parametrize(
    "typed",
    [
        _ID.translate(ARABIC_INDIC),
        _ID.translate(DEVANAGARI),
        _ID.translate(KANNADA),
        _ID[:5] + SUPERSCRIPT_TWO + _ID[6:],
    ],
)
def test_resident_id_in_another_script_is_refused(
    api: FundBankClient, typed: str
) -> None:
    response = api.open_account(**account_fields(id_number=typed))
    _contract_error(response, 400, "invalid_id_number")
    assert "id_number" in response.json()["error"]["fields"]
    assert not Depositor.objects.exists() and not FundAccount.objects.exists()


def test_resident_id_in_full_width_digits_is_the_same_person(
    api: FundBankClient,
) -> None:
    ascii_id = make_id(dt.date(1990, 5, 15), seq=779, male=True)
    first = api.open_account(**account_fields(id_number=ascii_id))
    assert first.status_code == 201, first.text
    again = api.open_account(**account_fields(id_number=ascii_id.translate(FULL_WIDTH)))
    _contract_error(again, 409, "duplicate_account")
    refused = [
        api.open_account(**account_fields(id_number=ascii_id.translate(table)))
        for table in (ARABIC_INDIC, DEVANAGARI, KANNADA)
    ] + [
        api.open_account(
            **account_fields(id_number=ascii_id[:7] + SUPERSCRIPT_TWO + ascii_id[8:])
        )
    ]
    assert [r.status_code for r in refused] == [400] * 4
    assert {error_code(r) for r in refused} == {"invalid_id_number"}
    assert FundAccount.objects.count() == 1
    assert Depositor.objects.count() == 1


def test_resident_id_in_full_width_digits_opens_like_ascii(
    api: FundBankClient,
) -> None:
    ascii_id = make_id(dt.date(1990, 5, 15), seq=781, male=True)
    opened = api.open_account(
        **account_fields(id_number=ascii_id.translate(FULL_WIDTH))
    )
    assert opened.status_code == 201, opened.text
    again = api.open_account(**account_fields(id_number=ascii_id))
    _contract_error(again, 409, "duplicate_account")
    assert FundAccount.objects.count() == 1


# --- each layer on its own -------------------------------------------------------


class _FakeRequest:
    def __init__(self, content_length: str, body: Any) -> None:
        self.META = {"CONTENT_LENGTH": content_length}
        self._body = body

    @property
    def body(self) -> bytes:
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


@pytest.mark.parametrize("length", ["١٠", "1" + SUPERSCRIPT_TWO, "１０", "-1", "1e3"])
def test_a_content_length_in_other_digits_is_refused_before_reading(
    length: str,
) -> None:
    from banks.api.authentication import _read_body
    from core.exceptions import DomainError

    with pytest.raises(DomainError) as refused:
        _read_body(_FakeRequest(length, b"{}"))  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.code) == (400, "bad_request")
    assert _read_body(_FakeRequest("2", b"{}")) == b"{}"  # type: ignore[arg-type]


def test_an_unreadable_body_is_a_400() -> None:
    from django.http import UnreadablePostError

    from banks.api.authentication import _read_body
    from core.exceptions import DomainError

    with pytest.raises(DomainError) as refused:
        _read_body(_FakeRequest("2", UnreadablePostError("reset")))  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.code) == (400, "bad_request")


@pytest.mark.parametrize("key_id", ["bk_\u0000x", "bk_٣٤", "x" * 65, "bk x", ""])
def test_a_malformed_key_id_never_reaches_the_database(key_id: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from banks.selectors import bank_partner_for_key

    with CaptureQueriesContext(connection) as queries:
        assert bank_partner_for_key(key_id) is None
    assert queries.captured_queries == []
