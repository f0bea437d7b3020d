"""The demo's withdrawals are filed through the real services: every kind of
outcome is there, the ledger and the audit log stay whole."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.selectors import ledger_problems
from core.audit import audit_problems
from withdrawals.models import Withdrawal

pytestmark = pytest.mark.django_db


def test_demo_withdrawals_cover_every_outcome(seed_demo) -> None:
    seed_demo(accounts=60, months=12, seed=3)
    with pytest.raises(CommandError):
        call_command("demo_withdrawals", stdout=StringIO())  # no demo staff yet
    call_command("ensure_demo_admin", stdout=StringIO())
    out = StringIO()
    call_command("demo_withdrawals", stdout=out)
    statuses = set(Withdrawal.objects.values_list("type", "status"))
    assert {
        ("rent", "paid"),
        ("rent", "pending_review"),
        ("rent", "approved"),
        ("rent", "rejected"),
        ("loan_repayment", "pending_review"),
        ("exit", "paid"),
    } <= statuses
    exit_ = Withdrawal.objects.get(type="exit")
    assert exit_.fund_account.status == "closed"
    assert ledger_problems() == [] and audit_problems() == []
    before = Withdrawal.objects.count()
    call_command("demo_withdrawals", "--if-empty", stdout=StringIO())
    assert Withdrawal.objects.count() == before


def test_demo_loans_through_the_services(seed_demo) -> None:
    from loans.models import Loan

    seed_demo(accounts=60, months=12, seed=3)
    call_command("ensure_demo_admin", stdout=StringIO())
    call_command("demo_loans", stdout=StringIO())
    statuses = sorted(Loan.objects.values_list("status", flat=True))
    assert statuses == ["active", "pending_review"]
    active = Loan.objects.get(status="active")
    # One collected by the bank, the next paid from the fund balance.
    bank, from_balance = active.repayments.order_by("id")
    assert bank.bank_txn_id.startswith("DEMO-R-") and bank.withdrawal_no == ""
    assert from_balance.withdrawal_no.startswith("W")
    assert active.fund_account.withdrawals.get().status == "paid"
    assert ledger_problems() == [] and audit_problems() == []


def test_demo_transfers_through_the_services(seed_demo, settings, tmp_path) -> None:
    from deposits.models import Conversion, ExternalMonths
    from national.models import NationalMessage
    from transfers.models import TransferIn, TransferOut

    settings.NATIONAL_EXCHANGE_DIR = str(tmp_path / "out")
    seed_demo(accounts=60, months=12, seed=3)
    call_command("ensure_demo_admin", stdout=StringIO())
    call_command("demo_transfers", stdout=StringIO())
    conversion = Conversion.objects.get()
    assert conversion.fund_account.kind == "employee"
    assert TransferOut.objects.get().fund_account.status == "closed"
    assert sorted(TransferIn.objects.values_list("status", flat=True)) == [
        "arrived",
        "requested",
    ]
    arrived = TransferIn.objects.get(status="arrived")
    assert arrived.fund_account.first_time is False
    assert ExternalMonths.objects.get().months_paid == 18
    # Everything went out in exported files; one request was answered.
    assert NationalMessage.objects.get(kind="transfer_out").status == "exported"
    assert sorted(
        NationalMessage.objects.filter(kind="transfer_in_request").values_list(
            "status", flat=True
        )
    ) == ["answered", "exported"]
    assert list((tmp_path / "out").glob("*.jsonl"))
    assert ledger_problems() == [] and audit_problems() == []
    call_command("demo_transfers", "--if-empty", stdout=StringIO())
    assert TransferIn.objects.count() == 2
