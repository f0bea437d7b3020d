"""create_bank_partner, the admin actions, and the OpenAPI schema / docs."""

import io
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from accounts.models import BankPartner, FundAccount
from banks.models import Consent
from core.crypto import decrypt_text
from tests.banks.conftest import client_for, error_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    user = get_user_model().objects.create_superuser("boss", "b@example.com", "pw")
    c = Client()
    c.force_login(user)
    return c


def test_create_bank_partner_prints_one_json_line(caplog: Any) -> None:
    out = io.StringIO()
    call_command("create_bank_partner", "ccb", "--name", "建设银行", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == {"code", "key_id", "secret"}
    partner = BankPartner.objects.get(code="CCB")
    assert partner.name == "建设银行" and partner.key_id == data["key_id"]
    assert data["secret"] not in partner.secret_encrypted
    assert decrypt_text(partner.secret_encrypted) == data["secret"]
    assert data["secret"] not in caplog.text


def test_admin_add_shows_secret_once(staff: Client) -> None:
    response = staff.post(
        "/admin/accounts/bankpartner/add/", {"code": "boc", "name": "中国银行"}
    )
    assert response.status_code == 200
    partner = BankPartner.objects.get(code="BOC")
    secret = decrypt_text(partner.secret_encrypted)
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    # The change page never shows it again.
    page = staff.get(f"/admin/accounts/bankpartner/{partner.pk}/change/")
    assert secret not in page.content.decode()


def test_admin_rotate_and_disable(staff: Client, bank: Any, today: Any) -> None:
    api = client_for(bank)
    assert api.industries().status_code == 200
    response = staff.post(
        "/admin/accounts/bankpartner/",
        {"action": "rotate_secret", "_selected_action": [bank.pk]},
    )
    assert response.status_code == 200
    bank.refresh_from_db()
    new_secret = decrypt_text(bank.secret_encrypted)
    assert new_secret in response.content.decode()
    assert api.industries().status_code == 401
    assert client_for(bank, new_secret).industries().status_code == 200
    staff.post(
        "/admin/accounts/bankpartner/",
        {"action": "disable", "_selected_action": [bank.pk]},
    )
    refused = client_for(bank, new_secret).industries()
    assert error_code(refused) == "unknown_bank_key"
    staff.post(
        "/admin/accounts/bankpartner/",
        {"action": "enable", "_selected_action": [bank.pk]},
    )
    assert client_for(bank, new_secret).industries().status_code == 200


def test_admin_edit_goes_through_service(staff: Client, bank: Any) -> None:
    response = staff.post(
        f"/admin/accounts/bankpartner/{bank.pk}/change/",
        {
            "name": "烟台银行股份",
            "webhook_url": "http://127.0.0.1:9/hook",
            "throttle_per_minute": 120,
        },
    )
    assert response.status_code == 302, response.content[:500]
    bank.refresh_from_db()
    assert (bank.name, bank.throttle_per_minute) == ("烟台银行股份", 120)
    assert bank.webhook_url == "http://127.0.0.1:9/hook"


def test_admin_grants_and_revokes_consent(
    staff: Client, bank: Any, open_account: Any, business_day: Any
) -> None:
    import datetime as dt

    business_day(dt.date(2026, 1, 15))
    account: FundAccount = open_account(1)
    response = staff.post(
        "/admin/banks/consent/add/",
        {"depositor": account.depositor_id, "bank": bank.pk},
    )
    assert response.status_code == 302
    consent = Consent.objects.get()
    assert consent.granted_by.username == "boss"
    assert consent.expires_on == dt.date(2027, 1, 15)
    staff.post(
        "/admin/banks/consent/",
        {"action": "revoke", "_selected_action": [consent.pk]},
    )
    consent.refresh_from_db()
    assert consent.revoked_at is not None and consent.revoked_by.username == "boss"


@pytest.mark.parametrize(
    "url",
    [
        "/admin/banks/apirequestlog/",
        "/admin/banks/webhookdelivery/",
        "/admin/banks/idempotencykey/",
        "/admin/banks/consent/",
        "/admin/accounts/bankpartner/",
    ],
)
def test_admin_lists_render(staff: Client, url: str, bank: Any) -> None:
    assert staff.get(url).status_code == 200


def test_schema_and_docs(client: Client) -> None:
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    doc = json.loads(schema.content)
    paths = doc["paths"]
    assert set(paths) == {
        "/api/v1/accounts/",
        "/api/v1/accounts/{account_no}/",
        "/api/v1/accounts/{account_no}/credit-profile/",
        "/api/v1/accounts/{account_no}/exit/",
        "/api/v1/deposits/",
        "/api/v1/withdrawals/{withdrawal_id}/",
        "/api/v1/loan-estimates/",
        "/api/v1/loan-applications/",
        "/api/v1/loans/{loan_no}/",
        "/api/v1/loans/{loan_no}/schedule/",
        "/api/v1/loans/{loan_no}/disbursement/",
        "/api/v1/loans/{loan_no}/repayments/",
        "/api/v1/statements/{date}/",
        "/api/v1/industries/",
    }
    deposit = paths["/api/v1/deposits/"]["post"]
    assert {"201", "400", "401", "404", "409", "422", "429"} <= set(
        deposit["responses"]
    )
    headers = [p["name"] for p in deposit["parameters"] if p["in"] == "header"]
    assert headers == ["Idempotency-Key", "X-Signature-Version"]
    version = next(p for p in deposit["parameters"] if p["name"] == headers[1])
    assert not version.get("required", False)
    assert version["schema"]["enum"] == ["1", "2"]
    # Every bank operation documents the optional signing header.
    for path, operations in paths.items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            assert "X-Signature-Version" in names, (method, path)
    for code in ("bad_request", "body_too_large"):
        assert code in deposit["responses"]["400"]["description"]
    unauthorized = deposit["responses"]["401"]["description"]
    assert "signature_version_invalid" in unauthorized
    assert "idempotency_key_unsigned" in unauthorized
    schemes = doc["components"]["securitySchemes"]
    assert {s["name"] for s in schemes.values()} == {
        "X-Bank-Key",
        "X-Timestamp",
        "X-Signature",
    }
    assert "HMAC-SHA256" in schemes["BankKey"]["description"]
    assert "X-Signature-Version: 2" in schemes["BankKey"]["description"]
    amount = doc["components"]["schemas"]["DepositInput"]["properties"]["amount"]
    assert amount["type"] == "string" and amount["pattern"].startswith("^")
    # Every POST of the loans takes the key; the rate is a string, not a float.
    for path in ("/api/v1/loan-estimates/", "/api/v1/loans/{loan_no}/repayments/"):
        names = [p["name"] for p in paths[path]["post"]["parameters"]]
        assert "Idempotency-Key" in names, path
    application = paths["/api/v1/loan-applications/"]["post"]["responses"]
    assert "not_eligible" in application["409"]["description"]
    rate = doc["components"]["schemas"]["LoanOutput"]["properties"]["rate"]
    assert rate["type"] == "string"
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
