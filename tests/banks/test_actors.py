"""Every write the API makes is the bank's: the signing partner is the actor
of the rows it causes (status changes, agreements, ledger, deposits, audit)."""

from typing import Any

import pytest

import banks.api.views.deposits as deposit_views
from accounts.models import AccountStatusChange, FundAccount, LedgerTransaction
from clients.fund_bank_client import FundBankClient
from core.models import AuditRecord
from deposits.models import Deposit, DepositAgreement
from tests.banks.conftest import deposit_fields

pytestmark = pytest.mark.django_db


def _stamp(row: Any) -> tuple[str, str, int | None]:
    return row.actor_kind, row.actor_ref, row.actor_id


def test_an_account_opened_through_the_api_is_opened_by_the_bank(
    api: FundBankClient, bank: Any, open_via_api: Any
) -> None:
    no = open_via_api(api)
    account = FundAccount.objects.get(account_no=no)
    opening = AccountStatusChange.objects.get(fund_account=account, reason="opened")
    assert _stamp(opening) == ("bank", bank.code, None)
    agreement = DepositAgreement.objects.get(fund_account=account)
    assert _stamp(agreement) == ("bank", bank.code, None)
    audited = AuditRecord.objects.filter(stream=f"account:{account.pk}")
    assert {(r.action, r.actor_kind, r.actor_ref) for r in audited} == {
        ("fundaccount.opened", "bank", bank.code),
        ("agreement.signed", "bank", bank.code),
    }


def _posted_by_the_bank(no: str, bank: Any, bank_txn_id: str) -> None:
    deposit = Deposit.objects.get(bank=bank, bank_txn_id=bank_txn_id)
    assert _stamp(deposit) == ("bank", bank.code, None)
    txn = LedgerTransaction.objects.get(pk=deposit.ledger_transaction_id)
    assert _stamp(txn) == ("bank", bank.code, None)
    assert txn.fund_account.account_no == no


def test_a_deposit_on_the_fast_path_is_posted_by_the_bank(
    api: FundBankClient, bank: Any, open_via_api: Any, monkeypatch: Any
) -> None:
    answered: list[bool] = []
    real = deposit_views.deposit_fast

    def spy(request: Any) -> Any:
        response = real(request)
        answered.append(response is not None)
        return response

    monkeypatch.setattr(deposit_views, "deposit_fast", spy)
    no = open_via_api(api)
    response = api.post_deposit(**deposit_fields(no, bank_txn_id="ACT-FAST"))
    assert response.status_code == 201, response.text
    assert answered == [True]
    _posted_by_the_bank(no, bank, "ACT-FAST")


def test_a_deposit_through_the_view_is_posted_by_the_bank(
    api: FundBankClient, bank: Any, open_via_api: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(deposit_views, "deposit_fast", lambda request: None)
    no = open_via_api(api)
    response = api.post_deposit(**deposit_fields(no, bank_txn_id="ACT-VIEW"))
    assert response.status_code == 201, response.text
    _posted_by_the_bank(no, bank, "ACT-VIEW")
