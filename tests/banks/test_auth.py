"""Signing: every failure is a 401 with the contract's error body."""

import time
from typing import Any

import pytest

from banks.services import bank_partner_set_active
from clients.fund_bank_client import FundBankClient, encode_body, signed_headers
from tests.banks.conftest import client_for, error_code

pytestmark = pytest.mark.django_db


def _send(api: FundBankClient, method: str, path: str, headers: dict, body=b""):
    return api._http.request(method, path, content=body, headers=headers)


def test_valid_signature_is_accepted(api: FundBankClient) -> None:
    response = api.industries()
    assert response.status_code == 200
    codes = [i["code"] for i in response.json()["items"]]
    assert "new_courier" in codes and "fruit_apple" in codes
    assert set(response.json()["items"][0]) == {"code", "name", "group"}


def test_wrong_secret(bank: Any, today: Any) -> None:
    response = client_for(bank, secret="not-the-secret").industries()
    assert response.status_code == 401
    assert error_code(response) == "signature_invalid"
    assert response.json()["error"]["message"] == "签名不匹配。"
    assert response.headers["WWW-Authenticate"].startswith("HMAC-SHA256")


@pytest.mark.parametrize("skew", [-301, 301, -100000])
def test_stale_or_future_timestamp(api: FundBankClient, skew: int) -> None:
    response = api.request(
        "GET", "/api/v1/industries/", timestamp=int(time.time()) + skew
    )
    assert response.status_code == 401
    assert error_code(response) == "timestamp_out_of_window"


def test_timestamp_inside_window_is_accepted(api: FundBankClient) -> None:
    response = api.request(
        "GET", "/api/v1/industries/", timestamp=int(time.time()) - 250
    )
    assert response.status_code == 200


def test_altered_body(api: FundBankClient, bank: Any) -> None:
    body = encode_body({"account_no": "1", "amount": "800.00"})
    headers = signed_headers(
        bank.key_id, bank.plain_secret, "POST", "/api/v1/deposits/", body
    )
    headers |= {"Content-Type": "application/json", "Idempotency-Key": "k1"}
    tampered = body.replace(b"800.00", b"900.00")
    response = _send(api, "POST", "/api/v1/deposits/", headers, tampered)
    assert response.status_code == 401
    assert error_code(response) == "signature_invalid"


def test_altered_path_and_query(api: FundBankClient, bank: Any) -> None:
    headers = signed_headers(
        bank.key_id, bank.plain_secret, "GET", "/api/v1/statements/2026-01-15/"
    )
    moved = _send(api, "GET", "/api/v1/statements/2026-01-14/", headers)
    assert moved.status_code == 401
    assert error_code(moved) == "signature_invalid"
    with_query = _send(
        api, "GET", "/api/v1/statements/2026-01-15/?page_size=1", headers
    )
    assert with_query.status_code == 401
    signed_q = signed_headers(
        bank.key_id,
        bank.plain_secret,
        "GET",
        "/api/v1/statements/2026-01-15/?page_size=1",
    )
    ok = _send(api, "GET", "/api/v1/statements/2026-01-15/?page_size=1", signed_q)
    assert ok.status_code == 200


def test_altered_method(api: FundBankClient, bank: Any) -> None:
    headers = signed_headers(bank.key_id, bank.plain_secret, "GET", "/api/v1/deposits/")
    response = _send(api, "POST", "/api/v1/deposits/", headers)
    assert response.status_code == 401


@pytest.mark.parametrize("missing", ["X-Bank-Key", "X-Timestamp", "X-Signature"])
def test_missing_header(api: FundBankClient, bank: Any, missing: str) -> None:
    headers = signed_headers(
        bank.key_id, bank.plain_secret, "GET", "/api/v1/industries/"
    )
    del headers[missing]
    response = _send(api, "GET", "/api/v1/industries/", headers)
    assert response.status_code == 401
    assert error_code(response) == "signature_missing"


@pytest.mark.parametrize("stamp", ["abc", "1.5", "-5", "12345678901234567890"])
def test_malformed_timestamp(api: FundBankClient, bank: Any, stamp: str) -> None:
    headers = signed_headers(
        bank.key_id, bank.plain_secret, "GET", "/api/v1/industries/"
    )
    headers["X-Timestamp"] = stamp
    response = _send(api, "GET", "/api/v1/industries/", headers)
    assert response.status_code == 401
    assert error_code(response) == "timestamp_invalid"


def test_malformed_signature(api: FundBankClient, bank: Any) -> None:
    headers = signed_headers(
        bank.key_id, bank.plain_secret, "GET", "/api/v1/industries/"
    )
    headers["X-Signature"] = "zz" * 32
    response = _send(api, "GET", "/api/v1/industries/", headers)
    assert response.status_code == 401
    assert error_code(response) == "signature_invalid"


def test_unknown_key(bank: Any, today: Any) -> None:
    bank.key_id = "bk_doesnotexist"
    response = client_for(bank).industries()
    assert response.status_code == 401
    assert error_code(response) == "unknown_bank_key"


def test_disabled_bank_is_refused_at_once(api: FundBankClient, bank: Any) -> None:
    assert api.industries().status_code == 200
    bank_partner_set_active(partner=bank, is_active=False)
    response = api.industries()
    assert response.status_code == 401
    assert error_code(response) == "unknown_bank_key"
    bank_partner_set_active(partner=bank, is_active=True)
    assert api.industries().status_code == 200


def test_rotated_secret(api: FundBankClient, bank: Any) -> None:
    from accounts.services import bank_partner_rotate_secret

    new_secret = bank_partner_rotate_secret(partner=bank)
    assert api.industries().status_code == 401
    assert client_for(bank, secret=new_secret).industries().status_code == 200


def test_unsigned_requests_to_any_path_are_401(api: FundBankClient) -> None:
    for path in ["/api/v1/deposits/", "/api/v1/nothing/", "/api/v1/accounts/1/exit/"]:
        response = api._http.post(path, content=b"{}")
        assert response.status_code == 401, path
        assert error_code(response) == "signature_missing"
