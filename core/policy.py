"""Policy parameters: the numbers rules.md marks *(param)*.

``PARAMETERS`` declares each name with its type, seeded value, first effective
date and meaning; the data migration seeds from it and ``policy_value`` reads
the row in force on a date. Code never hard-codes these numbers.
"""

import datetime as dt
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.exceptions import DomainError, field_error

PILOT_START = dt.date(2025, 1, 1)


@dataclass(frozen=True)
class ParamSpec:
    kind: Callable[[str], Any]
    seed: str
    description: str
    effective_from: dt.date = PILOT_START


PARAMETERS: dict[str, ParamSpec] = {
    # 1. who may join
    "min_opening_age": ParamSpec(
        int, "16", gettext_noop("Minimum age on the opening date")
    ),
    # 2. agreement and deposits
    "monthly_amount_min": ParamSpec(
        Decimal, "220", gettext_noop("Lowest monthly amount (yuan)")
    ),
    "monthly_amount_max": ParamSpec(
        Decimal, "5794", gettext_noop("Highest monthly amount (yuan)")
    ),
    "first_month_max_ahead": ParamSpec(
        int, "2", gettext_noop("How many months after opening the first month may be")
    ),
    "deposit_max_months": ParamSpec(
        int, "12", gettext_noop("Most months one deposit covers")
    ),
    "arrears_seal_months": ParamSpec(
        int, "6", gettext_noop("Consecutive months in arrears that seal the account")
    ),
    "idle_cancel_months": ParamSpec(
        int,
        "6",
        gettext_noop("Months with zero balance and no deposit that cancel the account"),
    ),
    # 5. interest
    "interest_rate": ParamSpec(
        Decimal, "0.015", gettext_noop("Deposit interest rate a year")
    ),
    "interest_day_basis": ParamSpec(
        int, "360", gettext_noop("Days in an interest year")
    ),
    # 6. subsidy
    "subsidy_rate": ParamSpec(
        Decimal, "0.012", gettext_noop("Deposit subsidy rate a year")
    ),
    "subsidy_wait_months": ParamSpec(
        int,
        "12",
        gettext_noop("Months after its value date a deposit becomes eligible"),
    ),
    "subsidy_years": ParamSpec(
        int, "5", gettext_noop("Years the subsidy runs from first eligibility")
    ),
    # 7. withdrawals
    "withdrawal_single_review_limit": ParamSpec(
        Decimal,
        "50000",
        gettext_noop("Largest withdrawal one reviewer may approve alone"),
    ),
    "rent_min_continuous_months": ParamSpec(
        int, "3", gettext_noop("Continuous full months needed for a rent withdrawal")
    ),
    "rent_limit_single": ParamSpec(
        Decimal, "8000", gettext_noop("Rent withdrawal a year, single")
    ),
    "rent_limit_couple": ParamSpec(
        Decimal, "16000", gettext_noop("Rent withdrawal a year, couple")
    ),
    "rent_limit_invoice_single": ParamSpec(
        Decimal,
        "12000",
        gettext_noop("Rent a year with filing certificate and invoice, single"),
    ),
    "rent_limit_invoice_couple": ParamSpec(
        Decimal,
        "24000",
        gettext_noop("Rent a year with filing certificate and invoice, couple"),
    ),
    "rent_limit_multichild": ParamSpec(
        Decimal, "24000", gettext_noop("Rent a year, two- or three-child family")
    ),
    "relocation_rent_person": ParamSpec(
        Decimal, "14000", gettext_noop("Relocation rent per case, per person")
    ),
    "relocation_rent_couple": ParamSpec(
        Decimal, "28000", gettext_noop("Relocation rent per case, couple combined")
    ),
    "purchase_withdrawal_years": ParamSpec(
        int,
        "3",
        gettext_noop("Years after contract or title a purchase withdrawal is allowed"),
    ),
    # 8. loans
    "loan_min_continuous_months": ParamSpec(
        int, "6", gettext_noop("Consecutive paid months before a loan application")
    ),
    "loan_multiple_normal": ParamSpec(
        Decimal, "30", gettext_noop("Balance multiple, ratio <= threshold")
    ),
    "loan_multiple_tight": ParamSpec(
        Decimal, "20", gettext_noop("Balance multiple, ratio > threshold")
    ),
    "loan_ratio_threshold": ParamSpec(
        Decimal,
        "0.85",
        gettext_noop("Loan ratio above which the tight multiple applies"),
    ),
    "down_payment_first": ParamSpec(
        Decimal, "0.20", gettext_noop("Down payment, first home")
    ),
    "down_payment_second": ParamSpec(
        Decimal, "0.30", gettext_noop("Down payment, second home")
    ),
    "loan_cap": ParamSpec(Decimal, "1000000", gettext_noop("Loan cap")),
    "loan_cap_bonus_factor": ParamSpec(
        Decimal,
        "1.3",
        gettext_noop("Cap factor: quality home, multi-child family, talent"),
    ),
    "loan_cap_conversion": ParamSpec(
        Decimal, "800000", gettext_noop("Cap for commercial-to-HPF conversion")
    ),
    "loan_income_share": ParamSpec(
        Decimal,
        "0.50",
        gettext_noop("Largest monthly payment as share of household income"),
    ),
    "loan_max_term_months": ParamSpec(
        int, "360", gettext_noop("Longest loan term in months")
    ),
    "loan_after_retirement_months": ParamSpec(
        int, "60", gettext_noop("Months after retirement a loan may run")
    ),
    "loan_rate_first_short": ParamSpec(
        Decimal,
        "0.0210",
        gettext_noop("First home, term <= 5 years"),
        dt.date(2025, 5, 8),
    ),
    "loan_rate_first_long": ParamSpec(
        Decimal,
        "0.0260",
        gettext_noop("First home, term > 5 years"),
        dt.date(2025, 5, 8),
    ),
    "loan_rate_second_short": ParamSpec(
        Decimal,
        "0.02525",
        gettext_noop("Second home, term <= 5 years"),
        dt.date(2025, 5, 8),
    ),
    "loan_rate_second_long": ParamSpec(
        Decimal,
        "0.03075",
        gettext_noop("Second home, term > 5 years"),
        dt.date(2025, 5, 8),
    ),
    "loan_penalty_factor": ParamSpec(
        Decimal, "1.5", gettext_noop("Penalty interest factor")
    ),
    "bad_credit_consecutive_overdue": ParamSpec(
        int, "3", gettext_noop("Consecutive overdue instalments that mark bad credit")
    ),
    "bad_credit_cumulative_overdue": ParamSpec(
        int, "6", gettext_noop("Cumulative overdue instalments that mark bad credit")
    ),
    # 10. risk
    "loan_ratio_warning_1": ParamSpec(
        Decimal, "0.85", gettext_noop("Loan ratio warning tier 1")
    ),
    "loan_ratio_warning_2": ParamSpec(
        Decimal, "0.90", gettext_noop("Loan ratio warning tier 2")
    ),
    "loan_ratio_warning_3": ParamSpec(
        Decimal, "0.95", gettext_noop("Loan ratio warning tier 3")
    ),
    "latest_loan_ratio": ParamSpec(
        Decimal,
        "0.80",
        gettext_noop("Latest month-end loan ratio (written by the risk job)"),
    ),
    "reserve_min_income_share": ParamSpec(
        Decimal, "0.60", gettext_noop("Risk reserve: least share of value-added income")
    ),
    "reserve_min_fe_loan_share": ParamSpec(
        Decimal,
        "0.01",
        gettext_noop("Risk reserve: least share of FE loans outstanding"),
    ),
    # 11. scope
    "pilot_target_accounts": ParamSpec(
        int, "30000", gettext_noop("Pilot target of FE accounts")
    ),
    # 13. tax
    "tax_deposit_base_ceiling": ParamSpec(
        Decimal, "24142", gettext_noop("City deposit-base ceiling a month")
    ),
    "tax_deduction_share": ParamSpec(
        Decimal,
        "0.24",
        gettext_noop("Deductible share of the ceiling per month deposited"),
    ),
    # bank API
    "consent_valid_days": ParamSpec(
        int, "365", gettext_noop("Days a credit-profile consent stays valid")
    ),
}

# Changes to these take a second person's approval (maker-checker).
DUAL_CONTROL = frozenset(
    {
        "monthly_amount_min",
        "monthly_amount_max",
        "interest_rate",
        "subsidy_rate",
        "withdrawal_single_review_limit",
        "rent_limit_single",
        "rent_limit_couple",
        "rent_limit_invoice_single",
        "rent_limit_invoice_couple",
        "rent_limit_multichild",
        "relocation_rent_person",
        "relocation_rent_couple",
        "loan_cap",
        "loan_cap_bonus_factor",
        "loan_cap_conversion",
        "loan_rate_first_short",
        "loan_rate_first_long",
        "loan_rate_second_short",
        "loan_rate_second_long",
        "loan_penalty_factor",
        "tax_deposit_base_ceiling",
        "tax_deduction_share",
    }
)
# Shares, rates and ratios are fractions of one.
_FRACTION_WORDS = ("rate", "share", "ratio", "threshold", "down_payment")


def _bounds(name: str, kind: Callable[[str], Any]) -> tuple[Decimal, Decimal | None]:
    if kind is int:
        return Decimal(0), Decimal(100_000)
    if any(word in name for word in _FRACTION_WORDS):
        return Decimal(0), Decimal(1)
    return Decimal(0), None


def policy_value_check(name: str, raw: Any) -> str:
    """The canonical text of a proposed value of ``name``, or a 400 saying why.

    Every value is a number written in ASCII digits (or full-width ones,
    folded); integers are whole, and each is within its sensible range.
    """
    from core.inputs import ASCII_DECIMAL_RE, NotAsciiError, ascii_digits_text

    spec = PARAMETERS.get(name)
    if spec is None:
        raise field_error("name", _("Unknown policy parameter."), "invalid_choice")
    try:
        text = ascii_digits_text(str(raw))
    except NotAsciiError:
        text = ""
    if not ASCII_DECIMAL_RE.fullmatch(text) or len(text) > 30:
        raise field_error(
            "value", _("The value must be a number written in digits."), "invalid"
        )
    number = Decimal(text)
    if spec.kind is int and number != number.to_integral_value():
        raise field_error("value", _("The value must be a whole number."), "invalid")
    low, high = _bounds(name, spec.kind)
    if number < low or (high is not None and number > high):
        raise field_error(
            "value",
            _("The value must be between %(min)s and %(max)s.")
            % {"min": low, "max": high if high is not None else "∞"},
            "out_of_range",
        )
    return str(int(number)) if spec.kind is int else text


# Every process keeps the rows; any change replaces a generation token in the
# shared cache (Redis), and every process compares its token at most every
# GENERATION_CHECK_SECONDS, so a change reaches all web and worker processes
# at once. Without a shared cache the rows live for _CACHE_TTL seconds.
_CACHE_TTL = 30.0
GENERATION_CHECK_SECONDS = 0.5
GENERATION_KEY = "policy-parameters:generation"
_lock = threading.Lock()
_cache: dict[str, list[tuple[dt.date, str]]] | None = None
_cache_loaded_at = 0.0
_cache_generation: str | None = None
_generation_checked_at = 0.0


def clear_policy_cache() -> None:
    global _cache
    with _lock:
        _cache = None


def _shared_generation() -> str | None:
    from django.core.cache import cache

    try:
        value = cache.get(GENERATION_KEY)
        if value is None:
            value = secrets.token_hex(8)
            if not cache.add(GENERATION_KEY, value, timeout=None):
                value = cache.get(GENERATION_KEY)
        return value
    except Exception:  # noqa: BLE001 - no shared cache: fall back to the TTL
        return None


def policy_generation_bump() -> None:
    """Make every process drop its rows (called on commit of a change)."""
    from django.core.cache import cache

    clear_policy_cache()
    try:
        cache.set(GENERATION_KEY, secrets.token_hex(8), timeout=None)
    except Exception:  # noqa: BLE001 - the TTL still bounds the staleness
        pass


def _rows() -> dict[str, list[tuple[dt.date, str]]]:
    global _cache, _cache_loaded_at, _cache_generation, _generation_checked_at
    now = time.monotonic()
    with _lock:
        cached, loaded_at, generation = _cache, _cache_loaded_at, _cache_generation
        check_due = now - _generation_checked_at >= GENERATION_CHECK_SECONDS
    if cached is not None:
        if not check_due and (generation or now - loaded_at < _CACHE_TTL):
            return cached
        current = _shared_generation()
        with _lock:
            _generation_checked_at = now
        if current is not None and current == generation:
            return cached
        if current is None and now - loaded_at < _CACHE_TTL:
            return cached
    current = _shared_generation()
    from core.models import PolicyParameter

    rows: dict[str, list[tuple[dt.date, str]]] = {}
    for name, eff, value in (
        PolicyParameter.objects.filter(status=PolicyParameter.Status.APPROVED)
        .order_by("name", "-effective_from")
        .values_list("name", "effective_from", "value")
    ):
        rows.setdefault(name, []).append((eff, value))
    with _lock:
        _cache, _cache_loaded_at, _cache_generation = rows, now, current
        _generation_checked_at = now
    return rows


def policy_value(name: str, on: dt.date | None = None) -> Any:
    """The value of parameter ``name`` in force on ``on`` (default: business date)."""
    spec = PARAMETERS.get(name)
    if spec is None:
        raise KeyError(name)
    if on is None:
        from core.clock import business_date

        on = business_date()
    for eff, value in _rows().get(name, []):
        if eff <= on:
            try:
                return spec.kind(value)
            except (ValueError, ArithmeticError):
                # Only a row written past the service and the CHECK gets here.
                raise DomainError(
                    _("Policy parameter %(name)s holds an invalid value.")
                    % {"name": name},
                    "policy_invalid",
                    status=503,
                ) from None
    raise DomainError(
        _("Policy parameter %(name)s has no value in force on %(date)s.")
        % {"name": name, "date": on.isoformat()},
        "policy_missing",
    )


def policy_year_start(on: dt.date) -> dt.date:
    """Policy years (amount range, interest) start on 1 July."""
    return dt.date(on.year if on.month >= 7 else on.year - 1, 7, 1)


def seed_policy_parameters(model: Any) -> None:
    """Insert every declared parameter's seed row that is missing (idempotent).

    Data migrations call this with their historical model; a later migration
    that adds parameters calls it again.
    """
    model.objects.bulk_create(
        [
            model(
                name=name,
                value=spec.seed,
                effective_from=spec.effective_from,
                note=spec.description,
            )
            for name, spec in PARAMETERS.items()
        ],
        ignore_conflicts=True,
    )
