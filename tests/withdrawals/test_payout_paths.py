"""The composed payout (three statements) writes the rows the service path
writes: the same posting, balance, subsidy end with its history row and
event, status change, audit records and webhook event."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from accounts.models import FundAccount, LedgerTransaction, SubsidyEvent
from accounts.selectors import ledger_problems
from core.audit import audit_problems
from core.models import AuditRecord, OutboxEvent
from withdrawals.models import WithdrawalStatusChange
from withdrawals.services import withdrawal_approve, withdrawal_pay, withdrawal_submit

pytestmark = pytest.mark.django_db

RENT = {"rent_paid": "3000.00", "no_home_owned": True}


def _pay(funded, staff, monkeypatch, *, fast: bool, already_ended: bool = False):
    account = funded()
    if already_ended:
        # An earlier termination stands: no history row, the date stays.
        FundAccount.objects.filter(pk=account.pk).update(
            subsidy_terminated_on=dt.date(2025, 9, 1)
        )
    w = withdrawal_submit(
        account=account,
        type="rent",
        amount=Decimal("1234.56"),
        declarations=RENT,
        actor=staff("clerk"),
    )
    w = withdrawal_approve(withdrawal=w, actor=staff("reviewer"))
    calls = []
    import withdrawals.services as services

    original = services.withdrawal_pay_fast

    def spy(**kwargs):
        calls.append(1)
        return original(**kwargs) if fast else None

    monkeypatch.setattr(services, "withdrawal_pay_fast", spy)
    audit_before = AuditRecord.objects.filter(stream=f"account:{account.pk}").count()
    history_before = FundAccount.history.filter(id=account.pk).count()
    paid = withdrawal_pay(withdrawal=w, actor=staff("finance"))
    assert calls == [1]
    account.refresh_from_db()
    txn = LedgerTransaction.objects.get(pk=paid.payout_transaction_id)
    audits = list(
        AuditRecord.objects.filter(stream=f"account:{account.pk}").order_by("id")
    )[audit_before:]
    history = list(FundAccount.history.filter(id=account.pk).order_by("history_id"))[
        history_before:
    ]
    event = SubsidyEvent.objects.filter(fund_account=account).latest("id")
    change = WithdrawalStatusChange.objects.filter(withdrawal=paid).latest("id")
    outbox = OutboxEvent.objects.filter(topic="withdrawal.paid").latest("id")
    payload = dict(outbox.payload)
    for key in ("withdrawal_id", "account_no", "paid_at"):
        payload.pop(key)
    return {
        "returned": (paid.status, paid.amount_paid, paid.interest_paid, paid.paid_on),
        "withdrawal": tuple(
            getattr(paid.__class__.objects.get(pk=paid.pk), f)
            for f in ("status", "amount_paid", "interest_paid", "paid_on")
        ),
        "txn": (
            txn.kind,
            txn.purpose,
            txn.external_ref == paid.withdrawal_no,
            txn.memo == f"提取 {paid.withdrawal_no}",
            txn.value_date,
            txn.actor_kind,
            txn.actor_id is not None,
            txn.bank_id,
            txn.fund_account_id == account.pk,
        ),
        "legs": [
            (e.ledger_account.code.split("-")[0], e.side, e.amount, e.value_date)
            for e in txn.entries.order_by("id")
        ],
        "account": (account.balance, account.subsidy_terminated_on),
        "history": [
            (h.history_type, h.subsidy_terminated_on, h.status) for h in history
        ],
        "event": (event.kind, event.reason, event.occurred_on, event.note != ""),
        "change": (
            change.from_status,
            change.to_status,
            change.reason,
            change.effective_on,
            change.actor_kind,
        ),
        "audits": [(a.action, a.object_type, _data(a)) for a in audits],
        "outbox": (outbox.audience, outbox.status, payload),
    }


def _data(record: AuditRecord) -> dict:
    """The record's data without what differs between two accounts."""
    data = json.loads(record.body)["data"]
    data = {k: v for k, v in data.items() if k not in ("change_id", "external_ref")}
    if "legs" in data:
        data["legs"] = [[code.split("-")[0], *rest] for code, *rest in data["legs"]]
    return data


@pytest.mark.parametrize("already_ended", [False, True])
def test_both_payout_paths_write_the_same_rows(
    funded, staff, monkeypatch, already_ended
) -> None:
    orm = _pay(funded, staff, monkeypatch, fast=False, already_ended=already_ended)
    fast = _pay(funded, staff, monkeypatch, fast=True, already_ended=already_ended)
    assert fast == orm
    assert orm["returned"] == orm["withdrawal"]
    assert len(orm["audits"]) == 3
    assert len(orm["history"]) == (0 if already_ended else 1)
    assert ledger_problems() == [] and audit_problems() == []


def test_the_composed_path_leaves_unusual_cases_to_the_service(
    funded, staff, monkeypatch
) -> None:
    """A closing type is paid by the service path (close-out), not composed."""
    import withdrawals.services as services

    account = funded()
    w = withdrawal_submit(account=account, type="exit", actor=staff("clerk"))
    w = withdrawal_approve(withdrawal=w, actor=staff("reviewer"))
    seen = []
    original = services.withdrawal_pay_fast

    def spy(**kwargs):
        result = original(**kwargs)
        seen.append(result)
        return result

    monkeypatch.setattr(services, "withdrawal_pay_fast", spy)
    paid = withdrawal_pay(withdrawal=w, actor=staff("finance"))
    assert seen == [None] and paid.status == "paid"
    account.refresh_from_db()
    assert account.status == "closed"
