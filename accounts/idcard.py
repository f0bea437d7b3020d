"""Resident ID numbers (GB 11643) and the statutory retirement date.

Validation order matters for the message a person sees: length and format,
then the check digit (ISO 7064 MOD 11-2, python-stdnum), then the birth date,
then the province code, each with its own message naming the field.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric

from core.clock import add_months
from core.exceptions import field_error
from core.inputs import NotAsciiError, ascii_digits_text

MALE = "M"
FEMALE = "F"

# Rules section 12: (original age in years, step months, cap months)
_RETIREMENT = {
    ("M", 60): (60, 4, 36),
    ("F", 55): (55, 4, 36),
    ("F", 50): (50, 2, 60),
}
_REFORM_START = dt.date(2025, 1, 1)
# ASCII only: in Python ``[0-9]`` is a literal range, ``\d`` would be any script.
_CANONICAL_RE = re.compile(r"[0-9]{17}[0-9X]")
# Province-level prefixes of GB/T 2260; finer codes change over time, so a
# real person's old county code is never refused.
_PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: dt.date
    sex: str

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)


def mask_id_number(number: str) -> str:
    return number[:6] + "*" * 8 + number[-4:]


def canonical_id_number(raw: str) -> str | None:
    """The stored and hashed form of a typed ID, or ``None`` when it is not one.

    Full-width digits (an input method's) fold to ASCII, spaces go, a final
    ``x`` becomes ``X``; digits of any other script make it no ID at all.
    """
    try:
        text = ascii_digits_text(raw or "")
    except NotAsciiError:
        return None
    number = text.replace(" ", "").upper()
    return number if _CANONICAL_RE.fullmatch(number) else None


def is_canonical_id_number(stored: str) -> bool:
    """True when ``stored`` is exactly its own canonical form."""
    return canonical_id_number(stored) == stored


def parse_resident_id(raw: str, field: str = "id_number") -> ResidentId:
    try:
        text = ascii_digits_text(raw or "").replace(" ", "").upper()
    except NotAsciiError:
        text = None
    if text is not None and len(text) != 18:
        raise field_error(
            field,
            _("The resident ID number must have 18 characters."),
            "invalid_id_number",
        )
    number = canonical_id_number(raw)
    if number is None:
        raise field_error(
            field,
            _("The resident ID number must be 17 digits followed by a digit or X."),
            "invalid_id_number",
        )
    if number[17] != ric.calc_check_digit(number):
        raise field_error(
            field,
            _("The check digit of the resident ID number is wrong."),
            "invalid_id_number",
        )
    try:
        birth = ric.get_birth_date(number)
    except stdnum_exc.ValidationError:
        birth = None
    if birth is None or birth.year < 1900:
        raise field_error(
            field,
            _("The birth date in the resident ID number is not a real date."),
            "invalid_id_number",
        )
    if number[:2] not in _PROVINCE_CODES:
        raise field_error(
            field,
            _("The region code of the resident ID number is unknown."),
            "invalid_id_number",
        )
    sex = MALE if int(number[16]) % 2 == 1 else FEMALE
    return ResidentId(number=number, birth_date=birth, sex=sex)


def original_retirement_age(sex: str, female_original_age: int = 50) -> int:
    return 60 if sex == MALE else female_original_age


def retirement_delay_months(
    sex: str, birth_date: dt.date, female_original_age: int = 50
) -> int:
    age = original_retirement_age(sex, female_original_age)
    _, step, cap = _RETIREMENT[(sex, age)]
    original_month = dt.date(birth_date.year + age, birth_date.month, 1)
    n = (original_month.year - _REFORM_START.year) * 12 + (
        original_month.month - _REFORM_START.month
    )
    if n < 0:
        return 0
    return min(cap, n // step + 1)


def retirement_date(
    sex: str, birth_date: dt.date, female_original_age: int = 50
) -> dt.date:
    """The day the person reaches statutory retirement age (2025 reform).

    Birthday at the original age, moved later by the delay in whole months.
    """
    age = original_retirement_age(sex, female_original_age)
    birthday = add_months(birth_date, age * 12)
    return add_months(
        birthday, retirement_delay_months(sex, birth_date, female_original_age)
    )


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return (
        day.year
        - birth_date.year
        - ((day.month, day.day) < (birth_date.month, birth_date.day))
    )
