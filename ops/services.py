"""Operations writes for the embedded demo: logins and demo withdrawals."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext as _

from core.exceptions import DomainError

# One demo login per counter role; the groups come from accounts migration 0003.
DEMO_ROLE_USERS: list[tuple[str, str]] = [
    ("teller", "柜员"),
    ("reviewer", "复核员"),
    # A second reviewer, so the maker-checker of large withdrawals can be shown.
    ("reviewer2", "复核员"),
    ("finance", "财务"),
    ("auditor", "审计"),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str  # group name, or "superuser"


@transaction.atomic
def demo_users_ensure(
    *, admin_password: str, user_password: str, actor: Any = None
) -> list[DemoLogin]:
    """Create or reset the superuser ``admin`` and one staff user per role.

    Refused in production: these are well-known passwords.
    """
    if settings.FUND_ENV == "production":
        raise DomainError(
            _("Demo logins are never created in production."), "production_refused"
        )
    if not admin_password or not user_password:
        raise DomainError(_("A demo password must not be empty."), "invalid_password")
    user_model = get_user_model()
    admin, _created = user_model.objects.get_or_create(username="admin")
    admin.is_staff = admin.is_superuser = admin.is_active = True
    admin.set_password(admin_password)
    admin.save()
    logins = [DemoLogin("admin", admin_password, "superuser")]
    for username, group_name in DEMO_ROLE_USERS:
        group, _created = Group.objects.get_or_create(name=group_name)
        user, _created = user_model.objects.get_or_create(username=username)
        user.is_staff, user.is_superuser, user.is_active = True, False, True
        user.set_password(user_password)
        user.save()
        user.groups.set([group])
        logins.append(DemoLogin(username, user_password, group_name))
    return logins


# The smallest PDF the evidence checks accept: demo uploads.
_DEMO_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def demo_withdrawals_seed(*, if_empty: bool = False) -> dict[str, int] | None:
    """File demo applications through the real services, each in its own
    transaction: paid, pending, approved and rejected rent withdrawals, a
    pending loan-repayment withdrawal with its evidence, a paid exit."""
    from accounts.models import FundAccount
    from core.actors import Actor
    from withdrawals.evidence import EvidenceUpload
    from withdrawals.models import Withdrawal
    from withdrawals.selectors import withdrawal_quote
    from withdrawals.services import (
        withdrawal_approve,
        withdrawal_pay,
        withdrawal_reject,
        withdrawal_submit,
    )

    if settings.FUND_ENV == "production":
        raise DomainError(
            _("Demo data is never seeded in production."), "production_refused"
        )
    if if_empty and Withdrawal.objects.exists():
        return None
    users = {u.username: u for u in get_user_model().objects.filter(is_staff=True)}
    clerk, reviewer = Actor.staff(users["teller"]), Actor.staff(users["reviewer"])
    finance = Actor.staff(users["finance"])
    rent = {"rent_paid": "6000.00", "no_home_owned": True}
    plan = ["paid"] * 3 + ["pending"] * 2 + ["approved", "rejected"]
    counts: dict[str, int] = {}
    accounts = FundAccount.objects.filter(status="open").order_by("id")
    for account in accounts.iterator():
        if not plan:
            break
        quote = withdrawal_quote(account=account, type="rent", declarations=rent)
        if quote.refusals or quote.allowed < 500:
            continue
        outcome = plan.pop(0)
        amount = min(quote.allowed, 3000) // 100 * 100
        with transaction.atomic():
            w = withdrawal_submit(
                account=account,
                type="rent",
                amount=amount,
                declarations=rent,
                payout_card="6217000012345678",
                payout_holder=account.depositor.name,
                actor=clerk,
            )
            if outcome in ("paid", "approved"):
                w = withdrawal_approve(withdrawal=w, actor=reviewer)
            if outcome == "paid":
                withdrawal_pay(withdrawal=w, actor=finance)
            if outcome == "rejected":
                withdrawal_reject(
                    withdrawal=w,
                    reason="evidence_insufficient",
                    note=_("The lease does not match the declared rent."),
                    actor=reviewer,
                )
        counts[f"rent {outcome}"] = counts.get(f"rent {outcome}", 0) + 1
    used = Withdrawal.objects.values_list("fund_account_id", flat=True)
    spare = accounts.exclude(pk__in=used).filter(balance__gt=0)
    extra = list(spare[:2])
    if extra:
        with transaction.atomic():
            w = withdrawal_submit(
                account=extra[0],
                type="loan_repayment",
                amount=min(extra[0].balance, 2000),
                declarations={"external_repaid": "2000.00"},
                evidence=[EvidenceUpload("loan_statement", "还款明细.pdf", _DEMO_PDF)],
                actor=clerk,
            )
        counts["loan repayment pending"] = 1
    if len(extra) > 1:
        with transaction.atomic():
            w = withdrawal_submit(account=extra[1], type="exit", actor=clerk)
            w = withdrawal_approve(withdrawal=w, actor=reviewer)
            withdrawal_pay(withdrawal=w, actor=finance)
        counts["exit paid"] = 1
    return counts


def demo_loans_seed(*, if_empty: bool = False) -> dict[str, int] | None:
    """Demo loans through the real services: one waiting for its second
    approver, one active with a repayment from the bank and the next
    instalment paid from the fund balance by a loan-repayment withdrawal."""
    import datetime as dt
    from decimal import Decimal

    from accounts.models import FundAccount
    from core.actors import Actor
    from core.clock import business_date
    from loans.calculator import LoanAsk, loan_estimate
    from loans.models import Loan
    from loans.repayments import loan_repay
    from loans.services import loan_apply, loan_approve, loan_disburse
    from withdrawals.models import Withdrawal
    from withdrawals.services import (
        withdrawal_approve,
        withdrawal_pay,
        withdrawal_submit,
    )

    if settings.FUND_ENV == "production":
        raise DomainError(
            _("Demo data is never seeded in production."), "production_refused"
        )
    if if_empty and Loan.objects.exists():
        return None
    users = {u.username: u for u in get_user_model().objects.filter(is_staff=True)}
    clerk = Actor.staff(users["teller"])
    reviewers = [Actor.staff(users["reviewer"]), Actor.staff(users["reviewer2"])]
    finance = Actor.staff(users["finance"])
    today = business_date()
    counts: dict[str, int] = {}
    plan = ["active", "pending"]
    # Accounts with no withdrawal still open: the active loan's next
    # instalment is paid by one.
    candidates = (
        FundAccount.objects.filter(status="open")
        .exclude(withdrawals__status__in=Withdrawal.LIVE_STATUSES)
        .order_by("-id")
    )
    for account in candidates:
        if not plan:
            break
        ask = LoanAsk(
            account=account,
            kind="hpf",
            home="first",
            price=Decimal("800000"),
            monthly_income=Decimal("12000"),
            term_months=240,
            method="equal_instalment",
        )
        estimate = loan_estimate(ask)
        if not estimate.eligible or estimate.limit < 20000:
            continue
        outcome = plan.pop(0)
        with transaction.atomic():
            loan = loan_apply(
                ask=LoanAsk(**{**ask.__dict__, "amount": estimate.limit}),
                actor=clerk,
            )
            loan_approve(loan=loan, actor=reviewers[0])
            if outcome == "active":
                loan_approve(loan=loan, actor=reviewers[1])
                loan = loan_disburse(
                    loan=loan,
                    bank_txn_id=f"DEMO-{loan.loan_no}",
                    disbursed_on=today - dt.timedelta(days=40),
                    actor=finance,
                )
                first = loan.instalments.order_by("n").first()
                loan_repay(
                    loan=loan,
                    amount=first.principal + first.interest,
                    paid_at=dt.datetime.combine(
                        first.due_date, dt.time(10), tzinfo=dt.UTC
                    ),
                    bank_txn_id=f"DEMO-R-{loan.loan_no}",
                    actor=finance,
                )
                # The next instalment paid from the fund balance (冲还贷).
                second = loan.instalments.order_by("n")[1]
                account.refresh_from_db()
                owed = second.principal + second.interest
                if account.balance >= owed:
                    filed = withdrawal_submit(
                        account=account,
                        type="loan_repayment",
                        amount=owed,
                        declarations={"repay_loan_no": loan.loan_no},
                        actor=clerk,
                    )
                    withdrawal_approve(withdrawal=filed, actor=reviewers[0])
                    withdrawal_pay(withdrawal=filed, actor=finance)
                    counts["loan paid from balance"] = 1
        counts[f"loan {outcome}"] = 1
    return counts
