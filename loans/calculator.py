"""The one loan calculator of rules section 8: the estimate, and unchanged
the figures an approval fixes.

It reads the applicant's (and the co-applicant spouse's) account, the rent
withdrawals of the 12 months before through ``accounts.ports`` (loans never
import withdrawals), and the effective-dated parameters on the day asked.
Every component is shown to the fen; only the limit is rounded down to a
whole 10,000 yuan.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from accounts import ports
from accounts.idcard import retirement_date
from accounts.models import CreditFlag, FundAccount
from core.clock import add_months, business_date, month_index
from core.money import ZERO, floor_to, quantize_money
from core.policy import policy_value
from deposits.selectors import loan_continuity
from loans.schedule import capacity_principal, schedule
from national.selectors import duplicate_check_pending, holds_loan_elsewhere

KINDS = ("hpf", "combination", "conversion", "relocation")
HOMES = ("first", "second")


@dataclass(frozen=True)
class LoanAsk:
    account: FundAccount
    kind: str
    home: str
    price: Decimal
    monthly_income: Decimal
    term_months: int
    method: str
    co_applicant: FundAccount | None = None
    high_quality: bool = False
    children: int = 0
    talent: bool = False
    amount: Decimal | None = None
    on: dt.date | None = None


@dataclass
class Estimate:
    eligible: bool
    reasons: list[str]
    limit: Decimal
    components: dict[str, Decimal]
    max_term_months: int
    rate: Decimal
    amount: Decimal
    term_months: int
    method: str
    first_payment: Decimal = ZERO
    last_payment: Decimal = ZERO
    total_interest: Decimal = ZERO
    extra: dict = field(default_factory=dict)


def loan_rate(*, home: str, term_months: int, on: dt.date) -> Decimal:
    """The rate in force on ``on`` for the home and term (5 years the step)."""
    short = term_months <= 60
    name = {
        ("first", True): "loan_rate_first_short",
        ("first", False): "loan_rate_first_long",
        ("second", True): "loan_rate_second_short",
        ("second", False): "loan_rate_second_long",
    }[(home, short)]
    return policy_value(name, on)


def max_term_months(account: FundAccount, on: dt.date) -> int:
    """Whole months from the application's month to the retirement month plus
    the months a loan may run after it, at most the longest term."""
    person = account.depositor
    retires = retirement_date(
        person.sex, person.birth_date, person.female_original_retirement_age
    )
    last = add_months(retires, policy_value("loan_after_retirement_months", on))
    months = month_index(last) - month_index(on)
    return max(0, min(policy_value("loan_max_term_months", on), months))


def _cap(ask: LoanAsk, on: dt.date) -> Decimal:
    if ask.kind == "conversion":
        return quantize_money(policy_value("loan_cap_conversion", on))
    cap = policy_value("loan_cap", on)
    # One boost, whichever grounds apply (they do not stack).
    if ask.high_quality or ask.children >= 2 or (ask.talent and ask.home == "first"):
        cap = cap * policy_value("loan_cap_bonus_factor", on)
    return quantize_money(cap)


def _reasons(ask: LoanAsk, on: dt.date, max_term: int) -> list[str]:
    account = ask.account
    reasons = []
    if account.status != FundAccount.Status.OPEN:
        reasons.append("account_not_open")
    else:
        needed = policy_value("loan_min_continuous_months", on)
        # Months deposited elsewhere (a transfer in) and across a conversion
        # count (rules section 9).
        paid_through, run = loan_continuity(account, as_of=on)
        before = add_months(on.replace(day=1), -1)
        if paid_through is None or paid_through < before or run < needed:
            reasons.append("continuity_short")
    people = [account.depositor] + (
        [ask.co_applicant.depositor] if ask.co_applicant is not None else []
    )
    from loans.models import Loan

    live = set(
        Loan.objects.filter(
            Q(fund_account__depositor__in=people)
            | Q(co_applicant__depositor__in=people),
            status__in=Loan.OUTSTANDING,
        ).values_list("status", flat=True)
    )
    if live - {Loan.Status.PENDING_REVIEW}:
        reasons.append("loan_outstanding")
    if Loan.Status.PENDING_REVIEW in live:
        reasons.append("application_pending")
    if CreditFlag.objects.filter(
        depositor__in=people, cleared_at__isnull=True
    ).exists():
        reasons.append("bad_credit")
    if any(holds_loan_elsewhere(p.id_number_hash) for p in people):
        reasons.append("national_check_hit")
    if any(
        duplicate_check_pending(id_number_hash=p.id_number_hash, purpose="loan")
        for p in people
    ):
        reasons.append("national_check_pending")
    if ask.term_months > max_term:
        reasons.append("term_too_long")
    return reasons


def loan_estimate(ask: LoanAsk) -> Estimate:
    """Rules section 8, every component shown; writes nothing."""
    on = ask.on or business_date()
    balance = ask.account.balance
    co_balance = ask.co_applicant.balance if ask.co_applicant is not None else ZERO
    addback = ZERO
    if ask.home == "first" and ask.account.kind == "flexible":
        addback = ports.rent_withdrawn_between(
            account=ask.account, start=add_months(on, -12), end=on
        )
    balance_term = balance + co_balance + addback
    ratio = policy_value("latest_loan_ratio", on)
    multiple = policy_value(
        "loan_multiple_normal"
        if ratio <= policy_value("loan_ratio_threshold", on)
        else "loan_multiple_tight",
        on,
    )
    down = policy_value(
        "down_payment_first" if ask.home == "first" else "down_payment_second", on
    )
    price_limit = quantize_money(ask.price * (1 - down))
    cap = _cap(ask, on)
    rate = loan_rate(home=ask.home, term_months=ask.term_months, on=on)
    share = ask.monthly_income * policy_value("loan_income_share", on)
    capacity = capacity_principal(
        share=share, annual_rate=rate, months=ask.term_months, method=ask.method
    )
    by_balance = quantize_money(balance_term * multiple)
    limit = floor_to(min(by_balance, price_limit, cap, capacity), 10000)
    max_term = max_term_months(ask.account, on)
    reasons = _reasons(ask, on, max_term)
    amount = ask.amount if ask.amount is not None else limit
    estimate = Estimate(
        eligible=not reasons,
        reasons=reasons,
        limit=limit,
        components={
            "balance": balance,
            "co_applicant_balance": co_balance,
            "rent_addback": addback,
            "balance_term": balance_term,
            "multiple": multiple,
            "by_balance": by_balance,
            "loan_ratio": ratio,
            "price_limit": price_limit,
            "cap": cap,
            "capacity_limit": capacity,
        },
        max_term_months=max_term,
        rate=rate,
        amount=amount,
        term_months=ask.term_months,
        method=ask.method,
    )
    if amount > 0:
        items = schedule(
            principal=amount,
            annual_rate=rate,
            months=ask.term_months,
            method=ask.method,
        )
        estimate.first_payment = items[0].total
        estimate.last_payment = items[-1].total
        estimate.total_interest = sum((i.interest for i in items), ZERO)
    return estimate
