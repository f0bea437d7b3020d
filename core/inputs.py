"""What a typed number may look like, for every face (API, admin, commands).

Python accepts any script's digits: ``str.isdigit()``, ``int()`` and
``Decimal()`` all take Arabic-Indic, Devanagari or Kannada digits, and
superscripts pass ``isdigit()`` but not ``int()``. A resident ID written in
another script then hashes differently from the same ID in ASCII, and one
person could hold several accounts. So every typed number goes through
``ascii_digits_text`` first: full-width forms (what a Chinese input method
types) are folded to ASCII by NFKC, anything else that is not ASCII is
refused, whatever NFKC would make of it (a superscript or circled digit is
not how anyone writes an ID or an amount; it is someone probing).
"""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from core.exceptions import DomainError, field_error

_IDEOGRAPHIC_SPACE = "\u3000"
ASCII_INT_RE = re.compile(r"[0-9]+")
ASCII_DECIMAL_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class NotAsciiError(ValueError):
    """The text holds a character that is neither ASCII nor a full-width form."""


def _allowed(char: str) -> bool:
    if char.isascii():
        return True
    if char == _IDEOGRAPHIC_SPACE:
        return True
    return (
        unicodedata.name(char, "").startswith("FULLWIDTH ")
        and unicodedata.normalize("NFKC", char).isascii()
    )


def ascii_digits_text(raw: str) -> str:
    """``raw`` with full-width forms folded to ASCII (NFKC), stripped.

    Raises ``NotAsciiError`` for any other non-ASCII character.
    """
    if not isinstance(raw, str):
        raise NotAsciiError(repr(raw))
    if not all(_allowed(c) for c in raw):
        raise NotAsciiError(raw)
    return unicodedata.normalize("NFKC", raw).strip()


def parse_ascii_int(
    raw: str,
    *,
    field: str,
    minimum: int | None = None,
    maximum: int | None = None,
    message: str | None = None,
    code: str = "invalid",
) -> int:
    """A whole number written in ASCII (or full-width) digits, in range."""
    text: str | None
    try:
        text = ascii_digits_text(raw)
    except NotAsciiError:
        text = None
    if text is None or not ASCII_INT_RE.fullmatch(text) or len(text) > 18:
        raise field_error(field, message or _("Must be a whole number."), code)
    value = int(text)
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        raise field_error(
            field,
            message
            or _("Must be a whole number from %(min)s to %(max)s.")
            % {"min": minimum, "max": maximum},
            code,
        )
    return value


def parse_ascii_decimal(raw: str, *, field: str, code: str = "invalid") -> Decimal:
    """A decimal number written in ASCII (or full-width) digits."""
    text: str | None
    try:
        text = ascii_digits_text(raw)
    except NotAsciiError:
        text = None
    if text is None or not ASCII_DECIMAL_RE.fullmatch(text) or len(text) > 30:
        raise field_error(field, _("Must be a number written in digits."), code)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise DomainError(_("Must be a number written in digits."), code) from None


def ascii_int_arg(text: str) -> int:
    """``type=`` for management-command integer options (argparse's ``int``
    would take any script's digits)."""
    import argparse

    try:
        return parse_ascii_int(text, field="value")
    except DomainError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
