"""Signature version 2 (the Idempotency-Key signed), the per-bank policy that
requires it, the failed-authentication lock-out, signed statement cursors,
and oversized bodies."""

import io
import json
import time
import types
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

import banks.api.authentication as authentication
import banks.api.views.deposits as deposit_views
from banks.bankgen import AUTH_FAILURE_LIMIT
from banks.models import ApiRequestLog, BankSigningPolicy
from banks.selectors import InvalidCursor, decode_cursor, encode_cursor
from banks.services import bank_signing_policy_set
from clients.fund_bank_client import FundBankClient, encode_body, signed_headers
from deposits.models import Deposit
from tests.banks.conftest import (
    DjangoTestTransport,
    client_for,
    deposit_fields,
    error_code,
)

pytestmark = pytest.mark.django_db


def _v2_client(partner: Any) -> FundBankClient:
    return FundBankClient(
        "http://testserver",
        key_id=partner.key_id,
        secret=partner.plain_secret,
        transport=DjangoTestTransport(),
        sign_idempotency_key=True,
    )


# --- signature version 2 --------------------------------------------------------


def test_version_2_signs_the_key_and_works_for_get_and_post(
    bank: Any, today: Any, open_via_api: Any
) -> None:
    api = _v2_client(bank)
    assert api.industries().status_code == 200
    no = open_via_api(api)
    fields = deposit_fields(no)
    posted = api.post_deposit(idempotency_key="v2-1", **fields)
    assert posted.status_code == 201, posted.text
    again = api.post_deposit(idempotency_key="v2-1", **fields)
    assert (again.status_code, again.content) == (201, posted.content)
    assert Deposit.objects.count() == 1


def test_version_2_signature_cannot_be_moved_to_another_key(
    bank: Any, today: Any, open_via_api: Any
) -> None:
    no = open_via_api(client_for(bank))
    body = encode_body(deposit_fields(no))
    path = "/api/v1/deposits/"
    headers = signed_headers(
        bank.key_id,
        bank.plain_secret,
        "POST",
        path,
        body,
        idempotency_key="signed-key",
        sign_idempotency_key=True,
    )
    assert headers["X-Signature-Version"] == "2"
    headers["Idempotency-Key"] = "another-key"
    response = client_for(bank)._http.post(
        path, content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert error_code(response) == "signature_invalid"
    assert not Deposit.objects.exists()


def test_a_version_1_signature_under_the_version_2_header_is_refused(
    bank: Any, today: Any
) -> None:
    headers = signed_headers(
        bank.key_id, bank.plain_secret, "GET", "/api/v1/industries/"
    )
    headers["X-Signature-Version"] = "2"
    response = client_for(bank)._http.get("/api/v1/industries/", headers=headers)
    assert error_code(response) == "signature_invalid"
    headers["X-Signature-Version"] = "1"
    response = client_for(bank)._http.get("/api/v1/industries/", headers=headers)
    assert response.status_code == 200


def test_a_bank_that_must_sign_its_key_gets_401_for_unsigned_posts(
    bank: Any, other_bank: Any, today: Any, open_via_api: Any
) -> None:
    v1, v2 = client_for(bank), _v2_client(bank)
    no = open_via_api(v1)
    other_no = open_via_api(client_for(other_bank))
    assert v1.industries().status_code == 200  # credentials now cached
    bank_signing_policy_set(partner=bank, require_signed_idempotency_key=True)
    for fast in (True, False):
        refused = v1.post_deposit(
            idempotency_key=f"unsigned-{fast}", **deposit_fields(no)
        )
        assert refused.status_code == 401, refused.text
        assert error_code(refused) == "idempotency_key_unsigned"
    assert v1.industries().status_code == 200  # a GET has no key to sign
    assert v2.post_deposit(idempotency_key="signed", **deposit_fields(no)).is_success
    # Other banks are not affected.
    other = client_for(other_bank).post_deposit(**deposit_fields(other_no))
    assert other.status_code == 201
    bank_signing_policy_set(partner=bank, require_signed_idempotency_key=False)
    later = v1.post_deposit(
        idempotency_key="v1-again",
        **deposit_fields(no, first_month="2026-02", bank_txn_id="V1-AGAIN"),
    )
    assert later.status_code == 201, later.text
    assert Deposit.objects.count() == 3


def test_the_policy_applies_on_the_fast_path_too(
    bank: Any, today: Any, open_via_api: Any, monkeypatch: Any
) -> None:
    no = open_via_api(client_for(bank))
    bank_signing_policy_set(partner=bank, require_signed_idempotency_key=True)
    seen = []
    real = deposit_views.deposit_fast

    def spy(request: Any) -> Any:
        result = real(request)
        seen.append(result)
        return result

    monkeypatch.setattr(deposit_views, "deposit_fast", spy)
    response = client_for(bank).post_deposit(idempotency_key="fp", **deposit_fields(no))
    assert error_code(response) == "idempotency_key_unsigned"
    assert seen == [None]  # the fast path refused to answer it
    assert not Deposit.objects.exists()


def test_the_policy_command(bank: Any) -> None:
    out = io.StringIO()
    call_command("bank_signing_policy", bank.code, "--require-signed-key", stdout=out)
    assert "require_signed_idempotency_key=true" in out.getvalue()
    assert BankSigningPolicy.objects.get(partner=bank).require_signed_idempotency_key
    out = io.StringIO()
    call_command("bank_signing_policy", bank.code, "--allow-unsigned-key", stdout=out)
    assert "require_signed_idempotency_key=false" in out.getvalue()


# --- failed authentications ------------------------------------------------------


@pytest.fixture
def frozen_minute(monkeypatch: Any) -> float:
    """One fixed instant for the server's counters, so a test never
    straddles two one-minute windows."""
    now = time.time()
    monkeypatch.setattr(authentication, "time", types.SimpleNamespace(time=lambda: now))
    return now


def _get(partner: Any, *, secret: str | None = None, ip: str, key_id: str = "") -> Any:
    path = "/api/v1/industries/"
    headers = signed_headers(
        key_id or partner.key_id,
        partner.plain_secret if secret is None else secret,
        "GET",
        path,
    )
    return Client(REMOTE_ADDR=ip).get(path, headers=headers, REQUEST_URI=path)


LIMIT = 20  # the brief's N, on purpose not read from the code


def test_the_limit_is_twenty() -> None:
    assert AUTH_FAILURE_LIMIT == LIMIT


def test_too_many_bad_signatures_from_one_key_are_429(
    bank: Any, other_bank: Any, today: Any, frozen_minute: float
) -> None:
    statuses = [
        _get(bank, secret="wrong", ip=f"10.0.0.{i}").status_code
        for i in range(LIMIT + 1)
    ]
    assert statuses == [401] * (LIMIT + 1)
    # Even a valid signature, from a fresh address: the key is locked.
    locked = _get(bank, ip="10.0.1.1")
    assert locked.status_code == 429
    assert error_code(locked) == "throttled"
    assert int(locked["Retry-After"]) >= 1
    assert _get(bank, secret="wrong", ip="10.0.1.2").status_code == 429
    # Another bank's key is not.
    assert _get(other_bank, ip="10.0.1.3").status_code == 200


def test_too_many_failures_from_one_address_are_429_without_a_lookup(
    bank: Any, today: Any, frozen_minute: float
) -> None:
    for i in range(LIMIT + 1):
        response = _get(bank, ip="10.9.9.9", key_id=f"bk_guess{i:04d}")
        assert error_code(response) == "unknown_bank_key"
    with CaptureQueriesContext(connection) as queries:
        locked = _get(bank, ip="10.9.9.9", key_id="bk_guess_more")
    assert locked.status_code == 429
    assert not [q for q in queries.captured_queries if "bankpartner" in q["sql"]]
    assert _get(bank, ip="10.9.9.9").status_code == 429
    assert _get(bank, ip="10.9.9.8").status_code == 200


def test_a_locked_client_gets_429_whatever_it_sends(
    bank: Any, today: Any, frozen_minute: float
) -> None:
    assert _get(bank, ip="10.4.4.4").status_code == 200  # credentials cached
    for _ in range(LIMIT + 1):
        assert _get(bank, secret="wrong", ip="10.4.4.4").status_code == 401
    path = "/api/v1/industries/"
    stale = signed_headers(
        bank.key_id, bank.plain_secret, "GET", path, timestamp=int(time.time()) - 999
    )
    client = Client(REMOTE_ADDR="10.4.4.4")
    for headers in [stale, {"X-Bank-Key": bank.key_id}, {}]:
        response = client.get(path, headers=headers, REQUEST_URI=path)
        assert response.status_code == 429, headers
        assert error_code(response) == "throttled"


def test_twenty_failures_do_not_lock(
    bank: Any, today: Any, frozen_minute: float
) -> None:
    for _ in range(LIMIT):
        assert _get(bank, secret="wrong", ip="10.1.1.1").status_code == 401
    assert _get(bank, ip="10.1.1.1").status_code == 200
    # The 21st failure is still answered 401; from then on, 429.
    assert _get(bank, secret="wrong", ip="10.1.1.1").status_code == 401
    assert _get(bank, ip="10.1.1.1").status_code == 429


def test_the_lock_ends_with_the_minute(bank: Any, today: Any, monkeypatch: Any) -> None:
    now = [time.time()]
    monkeypatch.setattr(
        authentication, "time", types.SimpleNamespace(time=lambda: now[0])
    )
    for _ in range(LIMIT + 1):
        _get(bank, secret="wrong", ip="10.2.2.2")
    assert _get(bank, ip="10.2.2.2").status_code == 429
    now[0] += 60
    assert _get(bank, ip="10.2.2.2").status_code == 200


def test_without_redis_failures_fail_open(
    bank: Any, today: Any, settings: Any, frozen_minute: float
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    for _ in range(LIMIT + 5):
        assert _get(bank, secret="wrong", ip="10.3.3.3").status_code == 401
    assert _get(bank, ip="10.3.3.3").status_code == 200


def test_a_fast_path_fallback_counts_a_failure_once(
    bank: Any, today: Any, open_via_api: Any, frozen_minute: float
) -> None:
    no = open_via_api(client_for(bank))
    wrong = client_for(bank, secret="wrong")
    # Each refused deposit passes the fast path and the view: counted once.
    for i in range(LIMIT):
        response = wrong.post_deposit(idempotency_key=f"w{i}", **deposit_fields(no))
        assert response.status_code == 401
    assert client_for(bank).industries().status_code == 200


# --- statement cursors -----------------------------------------------------------


@pytest.fixture
def two_postings(api: FundBankClient, open_via_api: Any) -> str:
    for i in range(2):
        no = open_via_api(api)
        assert api.post_deposit(**deposit_fields(no, bank_txn_id=f"CUR{i}")).is_success
    from django.utils import timezone

    return timezone.localdate().isoformat()


def test_a_cursor_works_only_for_its_bank_and_date(
    api: FundBankClient, other_api: FundBankClient, two_postings: str
) -> None:
    import datetime as dt

    day = two_postings
    cursor = api.statement(day, page_size=1).json()["next_cursor"]
    assert api.statement(day, cursor=cursor, page_size=1).status_code == 200
    theirs = other_api.statement(day, cursor=cursor)
    assert theirs.status_code == 400 and error_code(theirs) == "invalid_cursor"
    other_day = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    moved = api.statement(other_day, cursor=cursor)
    assert moved.status_code == 400 and error_code(moved) == "invalid_cursor"


def test_a_tampered_or_unsigned_cursor_is_400(
    api: FundBankClient, two_postings: str, settings: Any
) -> None:
    import base64

    day = two_postings
    cursor = api.statement(day, page_size=1).json()["next_cursor"]
    payload, mac = cursor.split(".")
    stamp, pk = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    forged = (
        base64.urlsafe_b64encode(json.dumps([stamp, pk + 1000]).encode())
        .decode()
        .rstrip("=")
    )
    for bad in [f"{forged}.{mac}", payload, f"{payload}.", f"{payload}.{mac}x"]:
        response = api.statement(day, cursor=bad)
        assert response.status_code == 400, bad
        assert error_code(response) == "invalid_cursor"
    settings.SECRET_KEY = "another-secret-key-for-this-test-0123456789"
    assert error_code(api.statement(day, cursor=cursor)) == "invalid_cursor"


def test_a_signed_cursor_out_of_its_day_or_range_is_refused(bank: Any) -> None:
    import datetime as dt

    from banks.selectors import _day_bounds

    day = dt.date(2026, 1, 15)
    start, _end = _day_bounds(day)
    inside = start + dt.timedelta(hours=1)
    assert decode_cursor(
        encode_cursor(inside, 7, bank_id=bank.pk, day=day), bank_id=bank.pk, day=day
    ) == (inside, 7)
    for when, pk in [
        (start - dt.timedelta(seconds=1), 7),
        (inside, 2**63),
        (inside, 0),
        (inside, -1),
    ]:
        signed = encode_cursor(when, pk, bank_id=bank.pk, day=day)
        with pytest.raises(InvalidCursor):
            decode_cursor(signed, bank_id=bank.pk, day=day)
    # A position inside the day asked for, signed for another day.
    before = day - dt.timedelta(days=1)
    elsewhere = encode_cursor(
        inside - dt.timedelta(days=1), 7, bank_id=bank.pk, day=day
    )
    with pytest.raises(InvalidCursor):
        decode_cursor(elsewhere, bank_id=bank.pk, day=before)


# --- oversized bodies ------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
def test_an_oversized_body_is_400_and_logged(
    api: FundBankClient,
    open_via_api: Any,
    settings: Any,
    monkeypatch: Any,
    fast: bool,
) -> None:
    no = open_via_api(api)
    if not fast:
        monkeypatch.setattr(deposit_views, "deposit_fast", lambda request: None)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    secret_text = "王小明13912345678"
    body = encode_body({**deposit_fields(no), "note": secret_text * 100})
    assert len(body) > 1000
    response = api.request(
        "POST", "/api/v1/deposits/", raw_body=body, idempotency_key="big-1"
    )
    assert response.status_code == 400
    assert error_code(response) == "body_too_large"
    row = ApiRequestLog.objects.get(idempotency_key="big-1")
    assert (row.status, row.error_code) == (400, "body_too_large")
    assert str(len(body)) in row.body_excerpt
    assert secret_text not in row.body_excerpt
    assert not Deposit.objects.exists()


def test_an_oversized_unsigned_body_is_logged(
    api: FundBankClient, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = api._http.post("/api/v1/accounts/", content=b"x" * 500)
    assert response.status_code == 401
    row = ApiRequestLog.objects.get()
    assert row.status == 401 and "500" in row.body_excerpt


def test_behind_a_trusted_proxy_the_lockout_counts_the_caller(rf, settings) -> None:
    from banks.api.authentication import client_address

    request = rf.get("/api/v1/industries/", REMOTE_ADDR="10.0.0.5")
    request.META["HTTP_X_FORWARDED_FOR"] = "203.0.113.9, 198.51.100.7"
    assert client_address(request) == "10.0.0.5"  # not trusted: the socket's
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    assert client_address(request) == "198.51.100.7"
