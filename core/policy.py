"""Policy parameters: the numbers rules.md marks *(param)*.

``PARAMETERS`` declares each name with its type, seeded value, first effective
date and meaning; the data migration seeds from it and ``policy_value`` reads
the row in force on a date. Code never hard-codes these numbers.
"""

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from core.exceptions import DomainError

PILOT_START = dt.date(2025, 1, 1)


@dataclass(frozen=True)
class ParamSpec:
    kind: Callable[[str], Any]
    seed: str
    description: str
    effective_from: dt.date = PILOT_START


PARAMETERS: dict[str, ParamSpec] = {
    # 1. who may join
    "min_opening_age": ParamSpec(int, "16", "Minimum age on the opening date"),
    # 2. agreement and deposits
    "monthly_amount_min": ParamSpec(Decimal, "220", "Lowest monthly amount (yuan)"),
    "monthly_amount_max": ParamSpec(Decimal, "5794", "Highest monthly amount (yuan)"),
    "first_month_max_ahead": ParamSpec(
        int, "2", "How many months after opening the first month may be"
    ),
    "deposit_max_months": ParamSpec(int, "12", "Most months one deposit covers"),
    "arrears_seal_months": ParamSpec(
        int, "6", "Consecutive months in arrears that seal the account"
    ),
    "idle_cancel_months": ParamSpec(
        int, "6", "Months with zero balance and no deposit that cancel the account"
    ),
    # 5. interest
    "interest_rate": ParamSpec(Decimal, "0.015", "Deposit interest rate a year"),
    "interest_day_basis": ParamSpec(int, "360", "Days in an interest year"),
    # 6. subsidy
    "subsidy_rate": ParamSpec(Decimal, "0.012", "Deposit subsidy rate a year"),
    "subsidy_wait_months": ParamSpec(
        int, "12", "Months after its value date a deposit becomes eligible"
    ),
    "subsidy_years": ParamSpec(
        int, "5", "Years the subsidy runs from first eligibility"
    ),
    # 7. withdrawals
    "withdrawal_single_review_limit": ParamSpec(
        Decimal, "50000", "Largest withdrawal one reviewer may approve alone"
    ),
    "rent_min_continuous_months": ParamSpec(
        int, "3", "Continuous full months needed for a rent withdrawal"
    ),
    "rent_limit_single": ParamSpec(Decimal, "8000", "Rent withdrawal a year, single"),
    "rent_limit_couple": ParamSpec(Decimal, "16000", "Rent withdrawal a year, couple"),
    "rent_limit_invoice_single": ParamSpec(
        Decimal, "12000", "Rent a year with filing certificate and invoice, single"
    ),
    "rent_limit_invoice_couple": ParamSpec(
        Decimal, "24000", "Rent a year with filing certificate and invoice, couple"
    ),
    "rent_limit_multichild": ParamSpec(
        Decimal, "24000", "Rent a year, two- or three-child family"
    ),
    "relocation_rent_person": ParamSpec(
        Decimal, "14000", "Relocation rent per case, per person"
    ),
    "relocation_rent_couple": ParamSpec(
        Decimal, "28000", "Relocation rent per case, couple combined"
    ),
    "purchase_withdrawal_years": ParamSpec(
        int, "3", "Years after contract or title a purchase withdrawal is allowed"
    ),
    # 8. loans
    "loan_min_continuous_months": ParamSpec(
        int, "6", "Consecutive paid months before a loan application"
    ),
    "loan_multiple_normal": ParamSpec(
        Decimal, "30", "Balance multiple, ratio <= threshold"
    ),
    "loan_multiple_tight": ParamSpec(
        Decimal, "20", "Balance multiple, ratio > threshold"
    ),
    "loan_ratio_threshold": ParamSpec(
        Decimal, "0.85", "Loan ratio above which the tight multiple applies"
    ),
    "down_payment_first": ParamSpec(Decimal, "0.20", "Down payment, first home"),
    "down_payment_second": ParamSpec(Decimal, "0.30", "Down payment, second home"),
    "loan_cap": ParamSpec(Decimal, "1000000", "Loan cap"),
    "loan_cap_bonus_factor": ParamSpec(
        Decimal, "1.3", "Cap factor: quality home, multi-child family, talent"
    ),
    "loan_cap_conversion": ParamSpec(
        Decimal, "800000", "Cap for commercial-to-HPF conversion"
    ),
    "loan_income_share": ParamSpec(
        Decimal, "0.50", "Largest monthly payment as share of household income"
    ),
    "loan_max_term_months": ParamSpec(int, "360", "Longest loan term in months"),
    "loan_after_retirement_months": ParamSpec(
        int, "60", "Months after retirement a loan may run"
    ),
    "loan_rate_first_short": ParamSpec(
        Decimal, "0.0210", "First home, term <= 5 years", dt.date(2025, 5, 8)
    ),
    "loan_rate_first_long": ParamSpec(
        Decimal, "0.0260", "First home, term > 5 years", dt.date(2025, 5, 8)
    ),
    "loan_rate_second_short": ParamSpec(
        Decimal, "0.02525", "Second home, term <= 5 years", dt.date(2025, 5, 8)
    ),
    "loan_rate_second_long": ParamSpec(
        Decimal, "0.03075", "Second home, term > 5 years", dt.date(2025, 5, 8)
    ),
    "loan_penalty_factor": ParamSpec(Decimal, "1.5", "Penalty interest factor"),
    "bad_credit_consecutive_overdue": ParamSpec(
        int, "3", "Consecutive overdue instalments that mark bad credit"
    ),
    "bad_credit_cumulative_overdue": ParamSpec(
        int, "6", "Cumulative overdue instalments that mark bad credit"
    ),
    # 10. risk
    "loan_ratio_warning_1": ParamSpec(Decimal, "0.85", "Loan ratio warning tier 1"),
    "loan_ratio_warning_2": ParamSpec(Decimal, "0.90", "Loan ratio warning tier 2"),
    "loan_ratio_warning_3": ParamSpec(Decimal, "0.95", "Loan ratio warning tier 3"),
    "latest_loan_ratio": ParamSpec(
        Decimal, "0.80", "Latest month-end loan ratio (written by the risk job)"
    ),
    "reserve_min_income_share": ParamSpec(
        Decimal, "0.60", "Risk reserve: least share of value-added income"
    ),
    "reserve_min_fe_loan_share": ParamSpec(
        Decimal, "0.01", "Risk reserve: least share of FE loans outstanding"
    ),
    # 11. scope
    "pilot_target_accounts": ParamSpec(int, "30000", "Pilot target of FE accounts"),
    # 13. tax
    "tax_deposit_base_ceiling": ParamSpec(
        Decimal, "24142", "City deposit-base ceiling a month"
    ),
    "tax_deduction_share": ParamSpec(
        Decimal, "0.24", "Deductible share of the ceiling per month deposited"
    ),
    # bank API
    "consent_valid_days": ParamSpec(
        int, "365", "Days a credit-profile consent stays valid"
    ),
}

_CACHE_TTL = 30.0
_lock = threading.Lock()
_cache: dict[str, list[tuple[dt.date, str]]] | None = None
_cache_loaded_at = 0.0


def clear_policy_cache() -> None:
    global _cache
    with _lock:
        _cache = None


def _rows() -> dict[str, list[tuple[dt.date, str]]]:
    global _cache, _cache_loaded_at
    with _lock:
        if _cache is not None and time.monotonic() - _cache_loaded_at < _CACHE_TTL:
            return _cache
    from core.models import PolicyParameter

    rows: dict[str, list[tuple[dt.date, str]]] = {}
    for name, eff, value in PolicyParameter.objects.order_by(
        "name", "-effective_from"
    ).values_list("name", "effective_from", "value"):
        rows.setdefault(name, []).append((eff, value))
    with _lock:
        _cache, _cache_loaded_at = rows, time.monotonic()
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
            return spec.kind(value)
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
