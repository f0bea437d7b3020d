"""Accounts and deposits through the signed client: shapes, codes, isolation."""

from typing import Any

import pytest

from accounts.models import FundAccount
from clients.fund_bank_client import FundBankClient
from deposits.models import Deposit
from tests.banks.conftest import account_fields, deposit_fields, error_code

pytestmark = pytest.mark.django_db


def test_open_account_shape(api: FundBankClient, bank: Any) -> None:
    response = api.open_account(**account_fields(1, cadence="quarterly"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "account_no",
        "status",
        "monthly_amount",
        "cadence",
        "start_month",
    }
    assert body["status"] == "open"
    assert body["monthly_amount"] == "800.00"
    assert body["cadence"] == "quarterly"
    assert body["start_month"] == "2026-01"
    account = FundAccount.objects.get(account_no=body["account_no"])
    assert account.bank_id == bank.pk
    assert account.channel == "bank_app"


def test_open_duplicate_person(api: FundBankClient, other_api: FundBankClient) -> None:
    assert api.open_account(**account_fields(2)).status_code == 201
    again = other_api.open_account(**account_fields(2))
    assert again.status_code == 409
    assert error_code(again) == "duplicate_account"


@pytest.mark.parametrize(
    "override, field",
    [
        ({"id_number": "370602199005151238"}, "id_number"),
        ({"id_number": "37060219900515123"}, "id_number"),
        ({"monthly_amount": 800}, "monthly_amount"),
        ({"monthly_amount": "800"}, "monthly_amount"),
        ({"monthly_amount": "800.001"}, "monthly_amount"),
        ({"monthly_amount": "0.00"}, "monthly_amount"),
        ({"monthly_amount": "-800.00"}, "monthly_amount"),
        ({"start_month": "2026-1"}, "start_month"),
        ({"start_month": "2026-13"}, "start_month"),
        ({"start_month": "2026-01-01"}, "start_month"),
        ({"cadence": "weekly"}, "cadence"),
        ({"employment_form": "retired"}, "employment_form"),
        ({"name": 12}, "name"),
        ({"industry": "no_such_code"}, "industry"),
    ],
)
def test_open_bad_input_is_400(api: FundBankClient, override: dict, field: str) -> None:
    response = api.open_account(**account_fields(3, **override))
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["fields"]


def test_open_amount_out_of_range(api: FundBankClient) -> None:
    response = api.open_account(**account_fields(4, monthly_amount="100.00"))
    assert response.status_code == 400
    assert error_code(response) == "amount_out_of_range"


def test_open_outside_working_age(api: FundBankClient) -> None:
    import datetime as dt

    from tests.idgen import make_id

    child = make_id(dt.date(2015, 3, 1), seq=41, male=True)
    response = api.open_account(**account_fields(5, id_number=child))
    assert response.status_code == 400
    assert error_code(response) == "age_not_allowed"


@pytest.mark.parametrize("body", [b"", b"[]", b"not json", b'"text"', b"{"])
def test_open_garbage_body_is_400(api: FundBankClient, body: bytes) -> None:
    response = api.request(
        "POST", "/api/v1/accounts/", raw_body=body, idempotency_key="garbage1"
    )
    assert response.status_code == 400, response.text
    assert "error" in response.json()


def test_read_account(api: FundBankClient, open_via_api: Any) -> None:
    no = open_via_api(api)
    response = api.get_account(no)
    assert response.status_code == 200
    assert response.json() == {
        "account_no": no,
        "status": "open",
        "balance": "0.00",
        "monthly_amount": "800.00",
        "cadence": "monthly",
        "paid_through": None,
        "arrears_months": 0,
        "subsidy_status": "not_yet_eligible",
    }


def test_other_banks_account_is_404_like_unknown(
    api: FundBankClient, other_api: FundBankClient, open_via_api: Any
) -> None:
    no = open_via_api(api)
    theirs = other_api.get_account(no)
    unknown = other_api.get_account("370600000000000")
    for response in (theirs, unknown):
        assert response.status_code == 404
        assert error_code(response) == "account_not_found"
    assert theirs.json() == unknown.json()
    deposit = other_api.post_deposit(**deposit_fields(no))
    assert deposit.status_code == 404
    assert error_code(deposit) == "account_not_found"
    assert not Deposit.objects.exists()


@pytest.mark.parametrize("no", ["abc", "1" * 40, "%00", "12%2F3", "-1"])
def test_malformed_account_no_is_404(api: FundBankClient, no: str) -> None:
    response = api.get_account(no)
    assert response.status_code == 404
    # 12%2F3 decodes to another path: the catch-all's generic 404.
    assert error_code(response) in {"account_not_found", "not_found"}


def test_deposit_shape_and_read_after(api: FundBankClient, open_via_api: Any) -> None:
    no = open_via_api(api)
    response = api.post_deposit(
        **deposit_fields(no, amount="2400.00", months=3, bank_txn_id="TX-1")
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "deposit_id",
        "account_no",
        "amount",
        "months_covered",
        "balance",
        "status",
    }
    assert body["account_no"] == no
    assert body["amount"] == "2400.00"
    assert body["months_covered"] == ["2026-01", "2026-02", "2026-03"]
    assert body["balance"] == "2400.00"
    assert body["status"] == "open"
    deposit = Deposit.objects.get(pk=body["deposit_id"])
    assert deposit.bank_txn_id == "TX-1" and deposit.channel == "bank_app"
    account = api.get_account(no).json()
    assert account["paid_through"] == "2026-03"
    assert account["balance"] == "2400.00"


def test_deposit_conflicts(api: FundBankClient, open_via_api: Any) -> None:
    no = open_via_api(api)
    assert api.post_deposit(**deposit_fields(no, bank_txn_id="A1")).status_code == 201
    again = api.post_deposit(**deposit_fields(no, bank_txn_id="A2"))
    assert again.status_code == 409
    assert error_code(again) == "period_already_paid"
    dup = api.post_deposit(
        **deposit_fields(no, first_month="2026-02", bank_txn_id="A1")
    )
    assert dup.status_code == 409
    assert error_code(dup) == "duplicate_bank_txn"


def test_deposit_to_closed_account(api: FundBankClient, open_via_api: Any) -> None:
    from accounts.services import fund_account_transition

    no = open_via_api(api)
    # Closing is a payout or a cancellation, never a staff decision; the
    # account holds nothing, so an exit closes it.
    fund_account_transition(
        account=FundAccount.objects.get(account_no=no), to="closed", reason="exit"
    )
    response = api.post_deposit(**deposit_fields(no))
    assert response.status_code == 409
    assert error_code(response) == "account_closed"


def test_deposit_reopens_sealed_account(api: FundBankClient, open_via_api: Any) -> None:
    from accounts.services import fund_account_transition

    no = open_via_api(api)
    fund_account_transition(
        account=FundAccount.objects.get(account_no=no), to="sealed", reason="arrears"
    )
    response = api.post_deposit(**deposit_fields(no))
    assert response.status_code == 201
    assert response.json()["status"] == "open"


@pytest.mark.parametrize(
    "override, code",
    [
        ({"amount": "900.00"}, "invalid_amount"),
        ({"first_month": "2026-02"}, "month_gap"),
        ({"paid_at": "2026-01-16T10:00:00+08:00"}, "paid_at_in_future"),
    ],
)
def test_deposit_rule_errors(
    api: FundBankClient, open_via_api: Any, override: dict, code: str
) -> None:
    no = open_via_api(api)
    response = api.post_deposit(**deposit_fields(no, **override))
    assert response.status_code == 400
    assert error_code(response) == code
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    "override, field",
    [
        ({"amount": 800}, "amount"),
        ({"amount": 800.0}, "amount"),
        ({"amount": "800.0"}, "amount"),
        ({"amount": "800.000"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "-800.00"}, "amount"),
        ({"amount": "1e3"}, "amount"),
        ({"months": 0}, "months"),
        ({"months": 13}, "months"),
        ({"months": "1"}, "months"),
        ({"months": True}, "months"),
        ({"months": 1.5}, "months"),
        ({"first_month": "2026/01"}, "first_month"),
        ({"paid_at": "2026-01-15 10:00:00"}, "paid_at"),
        ({"paid_at": "2026-01-15T10:00:00"}, "paid_at"),
        ({"paid_at": 1768442400}, "paid_at"),
        ({"bank_txn_id": ""}, "bank_txn_id"),
        ({"bank_txn_id": "x" * 65}, "bank_txn_id"),
        ({"bank_txn_id": "bad id\u0000"}, "bank_txn_id"),
        ({"account_no": 3706}, "account_no"),
    ],
)
def test_deposit_format_errors(
    api: FundBankClient, open_via_api: Any, override: dict, field: str
) -> None:
    no = open_via_api(api)
    response = api.post_deposit(**deposit_fields(no, **override))
    assert response.status_code == 400, response.text
    assert error_code(response) == "validation_error"
    assert field in response.json()["error"]["fields"]
    assert not Deposit.objects.exists()


def test_unknown_path_and_method(api: FundBankClient) -> None:
    unknown = api.get("/api/v1/no/such/thing")
    assert unknown.status_code == 404
    assert error_code(unknown) == "not_found"
    wrong_method = api.request("DELETE", "/api/v1/industries/")
    assert wrong_method.status_code == 405
    assert error_code(wrong_method) == "method_not_allowed"


def test_a_bad_start_month_names_the_field_the_bank_sent(api: FundBankClient) -> None:
    # More than two months after the opening month (the business date's).
    response = api.open_account(**account_fields(start_month="2027-12"))
    assert response.status_code == 400, response.text
    assert error_code(response) == "invalid_first_month"
    assert list(response.json()["error"]["fields"]) == ["start_month"]
