"""One acceptance rule for request bodies (config.parsers.parse_json_body),
and replays that always answer the stored first response.

The fast path once posted bodies the DRF view refused (a UTF-8 byte-order
mark, UTF-16, ``Content-Type: text/plain``): a bank retrying after a timeout
then got a 400 for a deposit that was booked. Every variant here goes
through both paths, twice (first post and replay).
"""

import codecs
import json
import threading
from typing import Any

import pytest

import banks.api.views.base as views_base
import banks.api.views.deposits as deposit_views
from banks.models import ApiRequestLog, IdempotencyKey
from clients.fund_bank_client import FundBankClient, encode_body
from config.parsers import MAX_JSON_DEPTH, BodyRefused, parse_json_body
from deposits.models import Deposit
from tests.banks.conftest import account_fields, deposit_fields, error_code

pytestmark = pytest.mark.django_db

JSON = "application/json"


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# (name, encode(fields) -> bytes, content type, accepted)
VARIANTS = [
    ("utf8", encode_body, JSON, True),
    ("utf8-charset", encode_body, "application/json; charset=utf-8", True),
    ("utf8-charset-case", encode_body, "Application/JSON; Charset=UTF-8", True),
    ("utf8-charset-quoted", encode_body, 'application/json;charset="utf-8"', True),
    ("utf8-ascii-escapes", lambda f: json.dumps(f).encode(), JSON, True),
    ("utf8-spaced", lambda f: json.dumps(f, indent=2).encode(), JSON, True),
    ("bom", lambda f: codecs.BOM_UTF8 + encode_body(f), JSON, False),
    (
        "bom-charset",
        lambda f: codecs.BOM_UTF8 + encode_body(f),
        "application/json; charset=utf-8",
        False,
    ),
    ("utf16", lambda f: json.dumps(f).encode("utf-16"), JSON, False),
    ("utf16-le", lambda f: json.dumps(f).encode("utf-16-le"), JSON, False),
    ("utf16-be", lambda f: json.dumps(f).encode("utf-16-be"), JSON, False),
    ("utf32", lambda f: json.dumps(f).encode("utf-32"), JSON, False),
    (
        "utf16-declared",
        lambda f: json.dumps(f).encode("utf-16"),
        "application/json; charset=utf-16",
        False,
    ),
    (
        "gbk-text",
        lambda f: json.dumps({**f, "note": "备注"}, ensure_ascii=False).encode("gbk"),
        JSON,
        False,
    ),
    ("text-plain", encode_body, "text/plain", False),
    ("text-plain-utf8", encode_body, "text/plain; charset=utf-8", False),
    ("no-content-type", encode_body, "", False),
    ("form", encode_body, "application/x-www-form-urlencoded", False),
    ("multipart", encode_body, "multipart/form-data; boundary=xyz", False),
    ("json-patch", encode_body, "application/json-patch+json", False),
    ("jsonp", encode_body, "application/jsonp", False),
    ("charset-latin1", encode_body, "application/json; charset=latin-1", False),
    ("charset-utf8-nodash", encode_body, "application/json; charset=utf8", False),
    ("other-param", encode_body, "application/json; boundary=x", False),
    ("wildcard", encode_body, "*/*", False),
    (
        "nan",
        lambda f: encode_body(f)[:-1] + b',"note":NaN}',
        JSON,
        False,
    ),
    (
        "lone-surrogate",
        lambda f: encode_body(f)[:-1] + b',"note":"\\ud800"}',
        JSON,
        False,
    ),
    (
        "too-deep",
        lambda f: encode_body({**f, "note": _nested(MAX_JSON_DEPTH + 1)}),
        JSON,
        False,
    ),
    (
        "deep-but-allowed",
        lambda f: encode_body({**f, "note": _nested(MAX_JSON_DEPTH - 1)}),
        JSON,
        True,
    ),
    ("trailing-garbage", lambda f: encode_body(f) + b"x", JSON, False),
    ("not-an-object", lambda f: encode_body([f]), JSON, None),
]
IDS = [v[0] for v in VARIANTS]


def _post(
    api: FundBankClient, path: str, body: bytes, content_type: str, key: str
) -> Any:
    return api.request(
        "POST",
        path,
        raw_body=body,
        idempotency_key=key,
        extra_headers={"Content-Type": content_type},
    )


def _without_fast_path(monkeypatch: Any) -> None:
    monkeypatch.setattr(deposit_views, "deposit_fast", lambda request: None)


@pytest.mark.parametrize(
    ("name", "encode", "content_type", "accepted"), VARIANTS, ids=IDS
)
def test_deposit_bodies_answer_alike_on_both_paths_and_on_replay(
    api: FundBankClient,
    open_via_api: Any,
    monkeypatch: Any,
    name: str,
    encode: Any,
    content_type: str,
    accepted: bool | None,
) -> None:
    fast_no, view_no = open_via_api(api), open_via_api(api)
    answers = {}
    for label, no in (("fast", fast_no), ("view", view_no)):
        if label == "view":
            _without_fast_path(monkeypatch)
        body = encode(deposit_fields(no, bank_txn_id=f"{label}-{name}"[:64]))
        first = _post(api, "/api/v1/deposits/", body, content_type, f"{label}-k")
        again = _post(api, "/api/v1/deposits/", body, content_type, f"{label}-k")
        assert first.status_code == again.status_code, (first.text, again.text)
        assert first.content == again.content
        assert again.headers["Idempotent-Replayed"] == "true"
        answers[label] = first
    fast, view = answers["fast"], answers["view"]
    assert fast.status_code == view.status_code, (fast.text, view.text)
    if accepted:
        assert fast.status_code == 201, fast.text
        assert Deposit.objects.count() == 2
        strip = ("deposit_id", "account_no")
        assert {k: v for k, v in fast.json().items() if k not in strip} == {
            k: v for k, v in view.json().items() if k not in strip
        }
    else:
        assert fast.status_code == 400, fast.text
        if accepted is False:
            assert error_code(fast) == error_code(view) == "bad_request"
        else:
            assert error_code(fast) == error_code(view) == "validation_error"
        assert fast.json() == view.json()
        assert not Deposit.objects.exists()
    # One key record each, holding the answer that was sent.
    for label, response in answers.items():
        record = IdempotencyKey.objects.get(key=f"{label}-k")
        assert record.response_status == response.status_code
        assert json.loads(record.response_body) == response.json()


@pytest.mark.parametrize(
    ("name", "encode", "content_type", "accepted"), VARIANTS, ids=IDS
)
def test_account_bodies_answer_alike_on_replay(
    api: FundBankClient, name: str, encode: Any, content_type: str, accepted: Any
) -> None:
    body = encode(account_fields())
    first = _post(api, "/api/v1/accounts/", body, content_type, "open-k")
    again = _post(api, "/api/v1/accounts/", body, content_type, "open-k")
    assert first.status_code == again.status_code
    assert first.content == again.content
    assert first.status_code == (201 if accepted else 400), first.text
    if accepted is False:
        assert error_code(first) == "bad_request"
    assert again.headers["Idempotent-Replayed"] == "true"
    record = IdempotencyKey.objects.get(key="open-k")
    assert record.response_status == first.status_code


def test_the_rule_itself() -> None:
    assert parse_json_body("application/json", b'{"a": 1}') == {"a": 1}
    assert parse_json_body("APPLICATION/JSON ; CHARSET=UTF-8", b"[]") == []
    assert parse_json_body("application/json;", b'"x"') == "x"
    for content_type, raw in [
        ("application/json", codecs.BOM_UTF8 + b"{}"),
        ("application/json", "{}".encode("utf-16")),
        ("application/json", b""),
        ("application/json", b"\xff"),
        ("application/json", b"Infinity"),
        ("application/json", b"-Infinity"),
        ("application/json", b"1" * 5000),  # past int()'s digit limit
        ("application/json", b"[" * 100_000 + b"]" * 100_000),
        (None, b"{}"),
        ("text/json", b"{}"),
        ("application/json; charset=utf-8; charset=utf-16", b"{}"),
    ]:
        with pytest.raises(BodyRefused) as refused:
            parse_json_body(content_type, raw)
        assert refused.value.status == 400 and refused.value.code == "bad_request"


def test_the_drf_parser_uses_the_same_rule() -> None:
    import io

    from config.parsers import JSONParser

    parser = JSONParser()
    assert parser.parse(io.BytesIO(b'{"a":1}'), "application/json") == {"a": 1}
    with pytest.raises(BodyRefused):
        parser.parse(io.BytesIO(codecs.BOM_UTF8 + b"{}"), "application/json")
    with pytest.raises(BodyRefused):
        parser.parse(io.BytesIO(b"{}"), "application/json; charset=utf-16")


def test_a_replay_is_answered_from_the_record_before_the_body_is_read(
    api: FundBankClient, open_via_api: Any, monkeypatch: Any
) -> None:
    """Were the rule stricter tomorrow, yesterday's 201 still replays as 201."""
    no = open_via_api(api)
    fields = deposit_fields(no, bank_txn_id="RULE-1")
    first = api.post_deposit(idempotency_key="rule-1", **fields)
    assert first.status_code == 201

    def refuse_everything(*args: Any) -> Any:
        raise BodyRefused("refused")

    monkeypatch.setattr(views_base, "parse_json_body", refuse_everything)
    import banks.api.fast as fast

    monkeypatch.setattr(fast, "parse_json_body", refuse_everything)
    again = api.post_deposit(idempotency_key="rule-1", **fields)
    assert again.status_code == 201, again.text
    assert again.content == first.content
    # A new key now meets the stricter rule.
    other = api.post_deposit(
        idempotency_key="rule-2", **deposit_fields(no, bank_txn_id="RULE-2")
    )
    assert error_code(other) == "bad_request"
    assert Deposit.objects.count() == 1


def test_an_account_replay_is_answered_from_the_record_before_the_body_is_read(
    api: FundBankClient, monkeypatch: Any
) -> None:
    fields = account_fields()
    first = api.open_account(idempotency_key="rule-open", **fields)
    assert first.status_code == 201

    def refuse_everything(*args: Any) -> Any:
        raise BodyRefused("refused")

    monkeypatch.setattr(views_base, "parse_json_body", refuse_everything)
    again = api.open_account(idempotency_key="rule-open", **fields)
    assert (again.status_code, again.content) == (201, first.content)


def test_a_refused_body_then_another_body_with_the_key_is_422(
    api: FundBankClient, open_via_api: Any
) -> None:
    no = open_via_api(api)
    fields = deposit_fields(no)
    bom = codecs.BOM_UTF8 + encode_body(fields)
    first = _post(api, "/api/v1/deposits/", bom, JSON, "bom-1")
    assert error_code(first) == "bad_request"
    fixed = _post(api, "/api/v1/deposits/", encode_body(fields), JSON, "bom-1")
    assert fixed.status_code == 422
    assert error_code(fixed) == "idempotency_key_reused"
    assert not Deposit.objects.exists()
    assert ApiRequestLog.objects.filter(idempotency_key="bom-1").count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("body_kind", ["bom", "plain"])
def test_racing_duplicates_get_the_first_answer(
    live_server: Any, business_day: Any, body_kind: str
) -> None:
    from django.db import connection

    from accounts.services import bank_partner_create
    from tests.banks.conftest import TODAY

    business_day(TODAY)
    partner, secret = bank_partner_create(code="RACE3", name="竞争银行三")
    clients = [
        FundBankClient(live_server.url, key_id=partner.key_id, secret=secret)
        for _ in range(8)
    ]
    opened = clients[0].open_account(**account_fields(93))
    assert opened.status_code == 201, opened.text
    body = encode_body(deposit_fields(opened.json()["account_no"], bank_txn_id="R3"))
    if body_kind == "bom":
        body = codecs.BOM_UTF8 + body
    for c in clients:
        assert c.industries().status_code == 200
    barrier = threading.Barrier(len(clients))
    results: list[Any] = [None] * len(clients)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = clients[i].request(
                "POST", "/api/v1/deposits/", raw_body=body, idempotency_key="race3"
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    expected = 400 if body_kind == "bom" else 201
    assert [r.status_code for r in results] == [expected] * len(clients)
    assert len({r.content for r in results}) == 1
    replayed = sum(r.headers.get("Idempotent-Replayed") == "true" for r in results)
    assert replayed == len(clients) - 1
    assert Deposit.objects.filter(bank_txn_id="R3").count() == (expected == 201)
    for c in clients:
        c.close()
