"""The withdrawal rules of rules section 7: one function per type.

Each rule takes an ``Application`` (who, what, how much, what was declared
and uploaded, on which business day) and returns a ``RuleResult``: the
amount allowed, the rule that capped it, and every refusal as a code with a
Chinese message. The same functions answer the quote before filing, the
filing itself and the re-check at approval and payout, on every face.

Amounts other applications already took are counted when they are paid or
still live (pending review or approved), so two applications cannot both
use the same room under a cap.
"""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import ports
from accounts.idcard import retirement_date
from accounts.models import FundAccount
from core.clock import add_months
from core.money import ZERO, quantize_money
from core.policy import policy_value
from deposits.selectors import account_deposit_summary
from withdrawals.models import Evidence, Withdrawal

Type = Withdrawal.Type
Kind = Evidence.Kind


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


@dataclass(frozen=True)
class Application:
    account: FundAccount
    type: str
    on: dt.date
    amount: Decimal | None = None
    spouse_account: FundAccount | None = None
    declarations: dict = field(default_factory=dict)
    evidence: frozenset[str] = frozenset()
    # The application being re-checked (approval, payout): not counted
    # against its own caps, nor as the pending one.
    withdrawal_id: int | None = None


@dataclass
class RuleResult:
    allowed: Decimal = ZERO
    cap_rule: str = ""
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refusals

    def refuse(self, code: str, message: str) -> None:
        self.refusals.append(Refusal(code, message))

    def cap(self, caps: Iterable[tuple[str, Decimal]]) -> None:
        """The allowed amount is the least of ``caps`` (never below 0);
        ``cap_rule`` names the one that bound."""
        name, value = min(caps, key=lambda item: item[1])
        self.allowed, self.cap_rule = max(quantize_money(value), ZERO), name


# --- evidence each type needs -------------------------------------------------

REQUIRED_EVIDENCE: dict[str, tuple[str, ...]] = {
    Type.RENT: (),
    Type.RENT_FILED: (Kind.FILING_CERTIFICATE, Kind.TAX_INVOICE),
    Type.RENT_MULTICHILD: (Kind.CHILDREN,),
    Type.RENT_RELOCATION: (
        Kind.RELOCATION_AGREEMENT,
        Kind.FILING_CERTIFICATE,
        Kind.TAX_INVOICE,
    ),
    Type.PURCHASE: (Kind.PURCHASE_CONTRACT, Kind.PURCHASE_INVOICE),
    Type.LOAN_REPAYMENT: (),
    Type.EXIT: (),
    Type.RETIREMENT: (),
    Type.LEAVING_CITY: (Kind.LEAVING_PROOF,),
    Type.ABROAD: (Kind.EMIGRATION_PROOF,),
    Type.DEATH: (Kind.DEATH_CERTIFICATE, Kind.HEIR_PROOF),
    Type.INCAPACITY: (Kind.INCAPACITY_CERTIFICATE,),
}


def required_evidence(app: Application) -> tuple[str, ...]:
    kinds = list(REQUIRED_EVIDENCE[app.type])
    if app.spouse_account is not None:
        kinds.append(Kind.MARRIAGE_CERTIFICATE)
    if app.type == Type.LOAN_REPAYMENT and _declared_money(app, "external_repaid"):
        kinds.append(Kind.LOAN_STATEMENT)
    return tuple(kinds)


def _check_evidence(app: Application, result: RuleResult) -> None:
    missing = [k for k in required_evidence(app) if k not in app.evidence]
    if missing:
        names = "、".join(str(Kind(k).label) for k in missing)
        result.refuse(
            "evidence_missing",
            _("Evidence is missing: %(kinds)s.") % {"kinds": names},
        )


# --- declarations -------------------------------------------------------------


def _declared_money(app: Application, key: str) -> Decimal:
    raw = app.declarations.get(key)
    if raw in (None, ""):
        return ZERO
    return quantize_money(Decimal(str(raw)))


def _declared_date(app: Application, key: str) -> dt.date | None:
    raw = app.declarations.get(key)
    if not raw:
        return None
    if isinstance(raw, dt.date):
        return raw
    return dt.date.fromisoformat(str(raw))


def _require_declared(app: Application, result: RuleResult, key: str) -> bool:
    if app.declarations.get(key) in (None, ""):
        result.refuse(
            "declaration_missing",
            _("The declaration %(name)s is missing.") % {"name": DECLARATIONS[key]},
        )
        return False
    return True


# Names of the declarations, as a clerk or depositor sees them.
DECLARATIONS = {
    "rent_paid": gettext_lazy("rent actually paid"),
    "no_home_owned": gettext_lazy("no home owned here by the applicant or spouse"),
    "children": gettext_lazy("number of children"),
    "relocation_case": gettext_lazy("relocation case number"),
    "home_ref": gettext_lazy("purchase contract or title number"),
    "price": gettext_lazy("price paid"),
    "loans": gettext_lazy("loans for the home"),
    "contract_date": gettext_lazy("contract or title date"),
    "external_repaid": gettext_lazy(
        "repaid on loans from other lenders in the last 12 months"
    ),
    "repay_loan_no": gettext_lazy(
        "pay into this housing fund loan of the applicant (loan number)"
    ),
    "repay_early": gettext_lazy("beyond the instalments due, repay early by"),
}

# The early-repayment choices a payment into a loan may declare.
REPAY_EARLY_CHOICES = (
    ("reduce_payment", gettext_lazy("a lower monthly payment")),
    ("shorten_term", gettext_lazy("a shorter term")),
)


# --- what others already took -------------------------------------------------


def _taken(
    accounts: Iterable[FundAccount],
    types: Iterable[str],
    *,
    app: Application,
    paid_since: dt.date | None = None,
    paid_until: dt.date | None = None,
    declared: tuple[str, str] | None = None,
    any_account: bool = False,
) -> Decimal:
    """Amounts of paid or live applications of ``types``: paid ones by what
    was paid (within the dates, when given), live ones by what they ask."""
    qs = Withdrawal.objects.filter(type__in=list(types))
    if not any_account:
        qs = qs.filter(fund_account__in=[a.pk for a in accounts if a is not None])
    if app.withdrawal_id is not None:
        qs = qs.exclude(pk=app.withdrawal_id)
    if declared is not None:
        qs = qs.filter(**{f"declarations__{declared[0]}": declared[1]})
    paid = qs.filter(status=Withdrawal.Status.PAID)
    if paid_since is not None:
        paid = paid.filter(paid_on__gte=paid_since)
    if paid_until is not None:
        paid = paid.filter(paid_on__lte=paid_until)
    live = qs.filter(status__in=Withdrawal.LIVE_STATUSES)
    if paid_since is not None:
        live = live.filter(submitted_on__gte=paid_since)
    total = paid.aggregate(s=Sum("amount_paid"))["s"] or ZERO
    total += live.aggregate(s=Sum("amount_requested"))["s"] or ZERO
    return total


def _household(app: Application) -> list[FundAccount]:
    return [a for a in (app.account, app.spouse_account) if a is not None]


# --- the rules ----------------------------------------------------------------

CALENDAR_RENT_TYPES = (Type.RENT, Type.RENT_FILED, Type.RENT_MULTICHILD)


def _continuity(app: Application, result: RuleResult) -> None:
    needed = policy_value("rent_min_continuous_months", app.on)
    summary = account_deposit_summary(app.account, as_of=app.on)
    if summary["continuous_months"] < needed or summary["arrears_months"] > 0:
        result.refuse(
            "continuity_short",
            _(
                "A rent withdrawal needs %(n)s months of continuous full "
                "deposits with nothing in arrears."
            )
            % {"n": needed},
        )


def _no_home(app: Application, result: RuleResult) -> None:
    if app.declarations.get("no_home_owned") is not True:
        result.refuse(
            "home_owned",
            _(
                "A rent withdrawal needs the declaration that neither the "
                "applicant nor the spouse owns a home here."
            ),
        )


def _calendar_rent(
    app: Application, limit_single: str, limit_couple: str
) -> RuleResult:
    result = RuleResult()
    _continuity(app, result)
    _no_home(app, result)
    _require_declared(app, result, "rent_paid")
    year_start = dt.date(app.on.year, 1, 1)
    if app.type == Type.RENT_MULTICHILD:
        if int(app.declarations.get("children") or 0) < 2:
            result.refuse(
                "not_multichild",
                _("This type is for families with two or three children."),
            )
        cap_name, cap = "rent_limit_multichild", policy_value(limit_single, app.on)
    elif app.spouse_account is not None:
        cap_name, cap = limit_couple, policy_value(limit_couple, app.on)
    else:
        cap_name, cap = limit_single, policy_value(limit_single, app.on)
    used = _taken(_household(app), CALENDAR_RENT_TYPES, app=app, paid_since=year_start)
    result.cap(
        [
            (cap_name, cap - used),
            ("rent_paid", _declared_money(app, "rent_paid")),
            ("balance", app.account.balance),
        ]
    )
    return result


def rent(app: Application) -> RuleResult:
    return _calendar_rent(app, "rent_limit_single", "rent_limit_couple")


def rent_filed(app: Application) -> RuleResult:
    return _calendar_rent(app, "rent_limit_invoice_single", "rent_limit_invoice_couple")


def rent_multichild(app: Application) -> RuleResult:
    return _calendar_rent(app, "rent_limit_multichild", "rent_limit_multichild")


def rent_relocation(app: Application) -> RuleResult:
    """Per relocation case: 14,000 a person, 28,000 a couple together, never
    above the rent paid for the household or the person's balance (E4)."""
    result = RuleResult()
    _require_declared(app, result, "relocation_case")
    _require_declared(app, result, "rent_paid")
    case = str(app.declarations.get("relocation_case") or "")
    same_case = ("relocation_case", case)
    mine = _taken([app.account], [Type.RENT_RELOCATION], app=app, declared=same_case)
    household = _taken(
        _household(app), [Type.RENT_RELOCATION], app=app, declared=same_case
    )
    person_cap = policy_value("relocation_rent_person", app.on)
    caps = [
        ("relocation_rent_person", person_cap - mine),
        ("rent_paid", _declared_money(app, "rent_paid") - household),
        ("balance", app.account.balance),
    ]
    if app.spouse_account is not None:
        couple_cap = policy_value("relocation_rent_couple", app.on)
        caps.insert(1, ("relocation_rent_couple", couple_cap - household))
    result.cap(caps)
    return result


def purchase(app: Application) -> RuleResult:
    """Up to the price less loans and what every co-owner already took for
    that home, once per home a person, within the years after the contract."""
    result = RuleResult()
    for key in ("home_ref", "price", "contract_date"):
        _require_declared(app, result, key)
    home = str(app.declarations.get("home_ref") or "")
    contract = _declared_date(app, "contract_date")
    years = policy_value("purchase_withdrawal_years", app.on)
    if contract is not None and (
        contract > app.on or add_months(contract, 12 * years) < app.on
    ):
        result.refuse(
            "purchase_too_old",
            _(
                "A purchase withdrawal must come within %(years)s years of the "
                "contract or title date."
            )
            % {"years": years},
        )
    same_home = ("home_ref", home)
    if home and _taken([app.account], [Type.PURCHASE], app=app, declared=same_home):
        result.refuse(
            "home_already_used",
            _("This person has already withdrawn for this home."),
        )
    everyone = _taken(
        [], [Type.PURCHASE], app=app, declared=same_home, any_account=True
    )
    result.cap(
        [
            (
                "price_less_loans",
                _declared_money(app, "price")
                - _declared_money(app, "loans")
                - everyone,
            ),
            ("balance", app.account.balance),
        ]
    )
    return result


def loan_repayment(app: Application) -> RuleResult:
    """Once per 12 months. Paid to a card: at most what was repaid in the 12
    months before. Paid into the applicant's own HPF loan (冲还贷): at most
    what that loan still owes, and it never needs an earlier repayment."""
    result = RuleResult()
    since = add_months(app.on, -12)
    earlier = Withdrawal.objects.filter(
        fund_account=app.account,
        type=Type.LOAN_REPAYMENT,
        status=Withdrawal.Status.PAID,
        paid_on__gt=since,
    )
    if app.withdrawal_id is not None:
        earlier = earlier.exclude(pk=app.withdrawal_id)
    if earlier.exists():
        result.refuse(
            "once_per_12_months",
            _("A loan-repayment withdrawal is allowed once in 12 months."),
        )
    loan_no = str(app.declarations.get("repay_loan_no") or "").strip()
    if loan_no:
        if app.declarations.get("repay_early", "reduce_payment") not in dict(
            REPAY_EARLY_CHOICES
        ):
            result.refuse("invalid_choice", _("Unknown early-repayment choice."))
        owed = ports.loan_payable(
            loan_no=loan_no, depositor=app.account.depositor, on=app.on
        )
        if owed is None:
            result.refuse(
                "loan_not_found",
                _("The applicant has no active housing fund loan %(no)s.")
                % {"no": loan_no},
            )
            owed = ZERO
        result.cap([("loan_owed", owed), ("balance", app.account.balance)])
        return result
    repaid = ports.loan_repaid_between(
        account=app.account, start=since, end=app.on
    ) + _declared_money(app, "external_repaid")
    if repaid <= 0:
        result.refuse(
            "nothing_repaid",
            _("No loan repayment was made in the last 12 months."),
        )
    result.cap([("repaid_12_months", repaid), ("balance", app.account.balance)])
    return result


def _closing(extra: Callable[[Application, RuleResult], None] | None = None):
    def rule(app: Application) -> RuleResult:
        result = RuleResult()
        if ports.loan_outstanding(depositor=app.account.depositor):
            result.refuse(
                "loan_outstanding",
                _("The account holder has a housing loan outstanding."),
            )
        if extra is not None:
            extra(app, result)
        # The whole balance; the interest to the day is added at payout.
        result.allowed, result.cap_rule = app.account.balance, "whole_balance"
        return result

    return rule


def _retired(app: Application, result: RuleResult) -> None:
    person = app.account.depositor
    day = retirement_date(
        person.sex, person.birth_date, person.female_original_retirement_age
    )
    if app.on < day:
        result.refuse(
            "not_retired",
            _("The applicant reaches retirement age on %(day)s.")
            % {"day": day.isoformat()},
        )


RULES: dict[str, Callable[[Application], RuleResult]] = {
    Type.RENT: rent,
    Type.RENT_FILED: rent_filed,
    Type.RENT_MULTICHILD: rent_multichild,
    Type.RENT_RELOCATION: rent_relocation,
    Type.PURCHASE: purchase,
    Type.LOAN_REPAYMENT: loan_repayment,
    Type.EXIT: _closing(),
    Type.RETIREMENT: _closing(_retired),
    Type.LEAVING_CITY: _closing(),
    Type.ABROAD: _closing(),
    Type.DEATH: _closing(),
    Type.INCAPACITY: _closing(),
}


def _common(app: Application, result: RuleResult) -> None:
    account = app.account
    if account.status == FundAccount.Status.CLOSED:
        result.refuse("account_closed", _("The account is closed."))
    elif account.status != FundAccount.Status.OPEN and app.type in (
        Withdrawal.RENT_TYPES
    ):
        result.refuse("account_not_open", _("A rent withdrawal needs an open account."))
    spouse = app.spouse_account
    if spouse is not None and (
        spouse.pk == account.pk or spouse.depositor_id == account.depositor_id
    ):
        result.refuse("spouse_invalid", _("The spouse must be another person."))
    pending = Withdrawal.objects.filter(
        fund_account=account, status__in=Withdrawal.LIVE_STATUSES
    )
    if app.withdrawal_id is not None:
        pending = pending.exclude(pk=app.withdrawal_id)
    live = pending.values_list("type", flat=True).first()
    if live is not None:
        if live == Type.EXIT and app.type == Type.EXIT:
            result.refuse("exit_pending", _("An exit application is already waiting."))
        else:
            result.refuse(
                "application_pending",
                _("Another withdrawal application of this person is still open."),
            )


def evaluate(app: Application) -> RuleResult:
    """Every rule of the type, the evidence, and the amount asked."""
    if app.type not in RULES:
        result = RuleResult()
        result.refuse("type_unknown", _("Unknown withdrawal type."))
        return result
    # The account's state comes first: it is what a refusal should lead with.
    common = RuleResult()
    _common(app, common)
    result = RULES[app.type](app)
    result.refusals[:0] = common.refusals
    _check_evidence(app, result)
    if app.type not in Withdrawal.CLOSING_TYPES and app.amount is not None:
        if app.amount <= 0:
            result.refuse("amount_invalid", _("The amount must be above zero."))
        elif app.amount > result.allowed:
            result.refuse(
                "amount_over_limit",
                _("The amount asked, %(asked)s, is above the %(allowed)s allowed.")
                % {"asked": app.amount, "allowed": result.allowed},
            )
    return result
