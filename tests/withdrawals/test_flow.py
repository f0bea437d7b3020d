"""Withdrawals through the real services: file, review, pay; E2 and E4 end
to end; exit with interest to the day; maker-checker; the second payout."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts import ledger
from accounts.ledger.balances import account_balance
from accounts.models import AccountStatusChange, LedgerTransaction, SubsidyEvent
from core.exceptions import DomainError
from core.models import OutboxEvent
from subsidies.selectors import subsidy_status_on
from subsidies.services import settle_year
from tests.policy import set_param
from tests.subsidies.helpers import monthly, posting
from tests.withdrawals.conftest import doc
from withdrawals.models import Withdrawal
from withdrawals.selectors import withdrawal_quote
from withdrawals.services import (
    withdrawal_approve,
    withdrawal_cancel,
    withdrawal_pay,
    withdrawal_reject,
    withdrawal_submit,
)

pytestmark = pytest.mark.django_db

RENT = {"rent_paid": "3000.00", "no_home_owned": True}


def _paid(account, type_, staff, amount=None, **kwargs):
    clerk, reviewer, finance = staff("clerk"), staff("reviewer"), staff("finance")
    w = withdrawal_submit(
        account=account, type=type_, amount=amount, actor=clerk, **kwargs
    )
    withdrawal_approve(withdrawal=w, actor=reviewer)
    return withdrawal_pay(withdrawal=w, actor=finance)


def test_e2_a_real_rent_withdrawal_ends_the_subsidy(
    fe_account, pay, business_day, staff
) -> None:
    """E1, then 3,000.00 rent on 2026-09-15 through the services: the 2027
    settlement pays 234.89 interest and no subsidy."""
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2026, 8, 10)):
        pay(account, day)
        if day == dt.date(2025, 6, 10):
            business_day(dt.date(2025, 6, 30))
            settle_year(year=2025)
        if day == dt.date(2026, 6, 10):
            business_day(dt.date(2026, 6, 30))
            settle_year(year=2026)
    account.refresh_from_db()
    assert posting(account, "subsidy", dt.date(2026, 6, 30)) == Decimal("8.80")
    business_day(dt.date(2026, 9, 15))
    assert subsidy_status_on(account) == "accruing"
    paid = _paid(account, "rent", staff, amount=Decimal("3000.00"), declarations=RENT)
    assert (paid.status, paid.amount_paid, paid.paid_on) == (
        "paid",
        Decimal("3000.00"),
        dt.date(2026, 9, 15),
    )
    account.refresh_from_db()
    assert subsidy_status_on(account) == "terminated"
    event = SubsidyEvent.objects.get(fund_account=account)
    assert (event.reason, event.occurred_on) == ("withdrawal", dt.date(2026, 9, 15))
    business_day(dt.date(2027, 6, 30))
    settle_year(year=2027)
    account.refresh_from_db()
    # 16,173.47 x 1.5 % = 242.60205; the 2026-07-10 and 08-10 deposits
    # (355 + 324 days) 28.291666; the withdrawal -3,000 x 288 days -36.00.
    assert posting(account, "interest", dt.date(2027, 6, 30)) == Decimal("234.89")
    assert posting(account, "subsidy", dt.date(2027, 6, 30)) is None
    assert account.balance == Decimal("15408.36")


def test_the_payout_is_one_transaction_through_clearing_to_the_bank(
    funded, staff, bank
) -> None:
    account = funded()
    clearing = ledger.center_account(ledger.PAYOUT_CLEARING)
    settlement = ledger.bank_settlement_account(bank)
    bank_before = account_balance(settlement)
    paid = _paid(account, "rent", staff, amount=Decimal("2500.00"), declarations=RENT)
    txn = paid.payout_transaction
    assert (txn.kind, txn.purpose, txn.external_ref) == (
        "withdrawal",
        "withdrawal",
        paid.withdrawal_no,
    )
    legs = sorted((e.ledger_account.code, e.side, e.amount) for e in txn.entries.all())
    assert legs == sorted(
        [
            (ledger.depositor_account(account).code, "D", Decimal("2500.00")),
            (clearing.code, "C", Decimal("2500.00")),
            (clearing.code, "D", Decimal("2500.00")),
            (settlement.code, "C", Decimal("2500.00")),
        ]
    )
    account.refresh_from_db()
    assert account.balance == Decimal("7500.00")
    # The bank's settlement account (an asset) falls by what it pays out.
    assert bank_before - account_balance(settlement) == Decimal("2500.00")
    topics = list(
        OutboxEvent.objects.filter(topic__startswith="withdrawal.").values_list(
            "topic", flat=True
        )
    )
    assert topics == ["withdrawal.approved", "withdrawal.paid"]
    event = OutboxEvent.objects.get(topic="withdrawal.paid")
    assert event.audience == "YTB"
    assert event.payload["withdrawal_id"] == paid.withdrawal_no
    assert event.payload["amount_paid"] == "2500.00"


def test_exit_pays_interest_to_the_day_and_closes_the_account(
    funded, staff, business_day
) -> None:
    # 1,000 on the 10th of 2025-07 .. 2025-12, exit on 2026-01-20.
    account = funded(start=dt.date(2025, 7, 1), until=dt.date(2025, 12, 31))
    business_day(dt.date(2026, 1, 20))
    quote = withdrawal_quote(account=account, type="exit")
    # Days to 2026-01-20: 194 + 163 + 132 + 102 + 71 + 41 = 703;
    # 1,000 x 703 x 1.5 % / 360 = 29.2916... -> 29.29
    assert quote.interest_to_date == Decimal("29.29")
    assert quote.estimated_payout == Decimal("6029.29")
    paid = _paid(account, "exit", staff)
    account.refresh_from_db()
    assert (account.status, account.closed_on, account.balance) == (
        "closed",
        dt.date(2026, 1, 20),
        Decimal("0.00"),
    )
    assert (paid.amount_paid, paid.interest_paid) == (
        Decimal("6029.29"),
        Decimal("29.29"),
    )
    assert posting(account, "interest", dt.date(2026, 1, 20)) == Decimal("29.29")
    change = AccountStatusChange.objects.get(fund_account=account, to_status="closed")
    assert change.reason == "exit"
    assert SubsidyEvent.objects.get(fund_account=account).reason == "exit"
    assert subsidy_status_on(account) == "terminated"
    # The clearing account is empty again: both legs went through it.
    refs = set(
        LedgerTransaction.objects.filter(external_ref=paid.withdrawal_no).values_list(
            "purpose", flat=True
        )
    )
    assert refs == {"withdrawal"}
    with pytest.raises(DomainError) as exc:
        withdrawal_submit(account=account, type="rent", amount=1, actor=staff("clerk"))
    assert exc.value.code == "account_closed"


def test_a_second_payout_of_the_same_application_is_refused(funded, staff) -> None:
    account = funded()
    paid = _paid(account, "rent", staff, amount=Decimal("1000.00"), declarations=RENT)
    with pytest.raises(DomainError) as exc:
        withdrawal_pay(withdrawal=paid, actor=staff("finance"))
    assert exc.value.code == "already_paid"
    account.refresh_from_db()
    assert account.balance == Decimal("9000.00")
    assert LedgerTransaction.objects.filter(kind="withdrawal").count() == 1


def test_a_pending_application_cannot_be_paid(funded, staff) -> None:
    account = funded()
    w = withdrawal_submit(
        account=account,
        type="rent",
        amount=Decimal("1000"),
        declarations=RENT,
        actor=staff("clerk"),
    )
    with pytest.raises(DomainError) as exc:
        withdrawal_pay(withdrawal=w, actor=staff("finance"))
    assert exc.value.code == "invalid_transition"
    assert not LedgerTransaction.objects.filter(kind="withdrawal").exists()


def test_maker_checker_above_the_single_review_limit(fe_account, pay, staff) -> None:
    # 5,794 x 10 months = 57,940.00; a purchase of 55,000.00.
    account = fe_account(dt.date(2025, 3, 1), amount="5794")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2025, 12, 31)):
        pay(account, day)
    home = {
        "home_ref": "YT-2025-0001",
        "price": "600000.00",
        "loans": "400000.00",
        "contract_date": "2025-11-01",
    }
    evidence = [doc("purchase_contract"), doc("purchase_invoice")]
    maker = staff("reviewer")
    w = withdrawal_submit(
        account=account,
        type="purchase",
        amount=Decimal("55000.00"),
        declarations=home,
        evidence=evidence,
        actor=maker,
    )
    with pytest.raises(DomainError) as exc:
        withdrawal_approve(withdrawal=w, actor=maker)
    assert exc.value.code == "self_approval"
    assert "另一人" in exc.value.message or "another" in exc.value.message
    first = staff("reviewer")
    w = withdrawal_approve(withdrawal=w, actor=first)
    assert (w.status, w.first_approver_id) == ("pending_review", first.user_id)
    with pytest.raises(DomainError) as exc:
        withdrawal_approve(withdrawal=w, actor=first)
    assert exc.value.code == "same_approver"
    with pytest.raises(DomainError) as exc:
        withdrawal_pay(withdrawal=w, actor=staff("finance"))
    assert exc.value.code == "invalid_transition"
    second = staff("reviewer")
    w = withdrawal_approve(withdrawal=w, actor=second)
    assert (w.status, w.second_approver_id) == ("approved", second.user_id)
    paid = withdrawal_pay(withdrawal=w, actor=staff("finance"))
    assert paid.amount_paid == Decimal("55000.00")


def test_at_the_limit_one_approver_is_enough(funded, staff) -> None:
    account = funded(amount="5794")
    home = {
        "home_ref": "YT-2025-0002",
        "price": "600000.00",
        "loans": "400000.00",
        "contract_date": "2025-11-01",
    }
    w = withdrawal_submit(
        account=account,
        type="purchase",
        amount=Decimal("50000.00"),
        declarations=home,
        evidence=[doc("purchase_contract"), doc("purchase_invoice")],
        actor=staff("clerk"),
    )
    assert withdrawal_approve(withdrawal=w, actor=staff("reviewer")).status == (
        "approved"
    )


def test_the_single_review_limit_follows_a_new_effective_value(
    funded, staff, business_day
) -> None:
    account = funded(amount="5794")
    set_param("withdrawal_single_review_limit", "60000", dt.date(2026, 1, 5))
    business_day(dt.date(2026, 1, 5))
    w = withdrawal_submit(
        account=account,
        type="purchase",
        amount=Decimal("55000.00"),
        declarations={
            "home_ref": "YT-2025-0003",
            "price": "600000.00",
            "loans": "400000.00",
            "contract_date": "2025-11-01",
        },
        evidence=[doc("purchase_contract"), doc("purchase_invoice")],
        actor=staff("clerk"),
    )
    # 55,000 is within the new 60,000 limit: one reviewer decides.
    assert withdrawal_approve(withdrawal=w, actor=staff("reviewer")).status == (
        "approved"
    )


def test_only_staff_review_and_a_rejection_needs_a_reason(funded, staff) -> None:
    from core.actors import Actor

    account = funded()
    w = withdrawal_submit(
        account=account,
        type="rent",
        amount=Decimal("1000"),
        declarations=RENT,
        actor=Actor.bank("YTB"),
    )
    with pytest.raises(DomainError) as exc:
        withdrawal_approve(withdrawal=w, actor=Actor.bank("YTB"))
    assert exc.value.code == "staff_only"
    reviewer = staff("reviewer")
    with pytest.raises(DomainError) as exc:
        withdrawal_reject(withdrawal=w, reason="whim", actor=reviewer)
    assert exc.value.code == "invalid_reason"
    with pytest.raises(DomainError) as exc:
        withdrawal_reject(withdrawal=w, reason="other", actor=reviewer)
    assert exc.value.code == "note_required"
    w = withdrawal_reject(
        withdrawal=w,
        reason="evidence_insufficient",
        note="租赁合同不清晰",
        actor=reviewer,
    )
    assert (w.status, w.reason) == ("rejected", "evidence_insufficient")
    event = OutboxEvent.objects.get(topic="withdrawal.rejected")
    assert event.payload["reason"] == "租赁合同不清晰"
    # Decided: a new application may be filed.
    again = withdrawal_submit(
        account=account,
        type="rent",
        amount=Decimal("1000"),
        declarations=RENT,
        actor=staff("clerk"),
    )
    withdrawal_cancel(withdrawal=again, actor=Actor.bank("YTB"))
    again.refresh_from_db()
    assert again.status == "cancelled"
    with pytest.raises(DomainError) as exc:
        withdrawal_approve(withdrawal=again, actor=reviewer)
    assert exc.value.code == "already_cancelled"


def test_the_balance_at_payout_must_still_cover_the_amount(funded, staff) -> None:
    account = funded()
    w = withdrawal_submit(
        account=account,
        type="rent",
        amount=Decimal("5000"),
        declarations={"rent_paid": "8000", "no_home_owned": True},
        actor=staff("clerk"),
    )
    withdrawal_approve(withdrawal=w, actor=staff("reviewer"))
    # The money leaves by another road meanwhile (a correction, say).
    ledger.post_transaction(
        kind="withdrawal",
        legs=[
            ledger.Leg(ledger.depositor_account(account), ledger.D, Decimal("6000")),
            ledger.Leg(
                ledger.center_account(ledger.PAYOUT_CLEARING), ledger.C, Decimal("6000")
            ),
        ],
        value_date=dt.date(2025, 12, 31),
        fund_account=account,
    )
    with pytest.raises(DomainError) as exc:
        withdrawal_pay(withdrawal=w, actor=staff("finance"))
    assert exc.value.code == "insufficient_balance"
    w.refresh_from_db()
    assert w.status == "approved"
    account.refresh_from_db()
    assert account.balance == Decimal("4000.00")


def test_the_withdrawal_reads_the_same_on_every_status(funded, staff) -> None:
    from withdrawals.services import withdrawal_payload

    account = funded()
    w = withdrawal_submit(
        account=account,
        type="rent",
        amount=Decimal("1000"),
        declarations=RENT,
        actor=staff("clerk"),
    )
    body = withdrawal_payload(w)
    assert body["status"] == "pending_review"
    assert body["amount_requested"] == "1000.00"
    assert body["amount_paid"] is None and body["paid_at"] is None
    assert Withdrawal.objects.get().withdrawal_no.startswith("W2025")
