"""The business date: the one "today" every rule reads.

In production it is the calendar date in Asia/Shanghai. Elsewhere operations
may pin it (``manage.py business_date YYYY-MM-DD``); the pin lives in the
database so web, workers and beat all see the same day.
"""

import datetime as dt
import re
import time

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import DomainError


def calendar_today() -> dt.date:
    return timezone.localdate()


# The pin is read on every rule check; a short in-process cache saves a query
# per call. Another process sees a new pin within the TTL (outside production
# only; production never pins).
_PIN_TTL = 1.0
_pin_cache: tuple[float, dt.date | None] | None = None


def clear_business_date_cache() -> None:
    global _pin_cache
    _pin_cache = None


def business_date() -> dt.date:
    global _pin_cache
    if settings.FUND_ENV == "production":
        return calendar_today()
    now = time.monotonic()
    if _pin_cache is not None and now - _pin_cache[0] < _PIN_TTL:
        pinned = _pin_cache[1]
    else:
        from core.models import BusinessDateSetting

        pinned = (
            BusinessDateSetting.objects.filter(pk=1)
            .values_list("pinned_date", flat=True)
            .first()
        )
        _pin_cache = (now, pinned)
    return pinned or calendar_today()


def business_now() -> dt.datetime:
    """End-of-day aware timestamp bound: the last instant of the business date."""
    day = business_date()
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


def set_business_date(day: dt.date | None) -> None:
    if settings.FUND_ENV == "production":
        raise DomainError(
            _("The business date cannot be changed in production."),
            "business_date_locked",
        )
    from core.models import BusinessDateSetting

    BusinessDateSetting.objects.update_or_create(pk=1, defaults={"pinned_date": day})
    global _pin_cache
    _pin_cache = (time.monotonic(), day)


_MONTH_RE = re.compile(r"[0-9]{4}-[0-9]{2}")


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clamped to the month end (29 Feb -> 28 Feb)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = _days_in_month(year, month)
    return dt.date(year, month, min(day.day, last))


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=_days_in_month(day.year, day.month))


def _days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


def month_index(day: dt.date) -> int:
    """Months since year 0: a month as one integer, for arithmetic and SQL."""
    return day.year * 12 + day.month - 1


def month_from_index(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_month(text: str) -> dt.date:
    """'YYYY-MM' -> first day of that month (ASCII or full-width digits)."""
    from core.inputs import NotAsciiError, ascii_digits_text

    try:
        folded = ascii_digits_text(text)
        if not _MONTH_RE.fullmatch(folded):
            raise ValueError(text)
        return dt.date(int(folded[:4]), int(folded[5:]), 1)
    except (TypeError, ValueError, NotAsciiError) as exc:
        raise DomainError(
            _("A month must be written as YYYY-MM."), "invalid_month"
        ) from exc


def format_month(day: dt.date) -> str:
    return day.strftime("%Y-%m")
