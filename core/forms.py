"""Form fields for typed numbers at the counter: ASCII or full-width digits
only (``core.inputs``). Django's own IntegerField and DecimalField hand the
text to ``int()`` / ``Decimal()``, which take any script's digits."""

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.inputs import ASCII_DECIMAL_RE, ASCII_INT_RE, NotAsciiError, ascii_digits_text


def _ascii(value: Any, message: Any) -> Any:
    if value in forms.Field.empty_values or not isinstance(value, str):
        return value
    try:
        return ascii_digits_text(value)
    except NotAsciiError:
        raise forms.ValidationError(message, code="invalid") from None


class AsciiIntegerField(forms.IntegerField):
    default_error_messages = {"invalid": _("Enter a whole number in digits 0-9.")}

    def to_python(self, value: Any) -> int | None:
        value = _ascii(value, self.error_messages["invalid"])
        if isinstance(value, str) and value and not ASCII_INT_RE.fullmatch(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class AsciiDecimalField(forms.DecimalField):
    default_error_messages = {"invalid": _("Enter a number in digits 0-9.")}

    def to_python(self, value: Any) -> Decimal | None:
        value = _ascii(value, self.error_messages["invalid"])
        if isinstance(value, str) and value and not ASCII_DECIMAL_RE.fullmatch(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class AsciiDateTimeField(forms.DateTimeField):
    def to_python(self, value: Any) -> Any:
        return super().to_python(_ascii(value, self.error_messages["invalid"]))


class AsciiDateField(forms.DateField):
    def to_python(self, value: Any) -> Any:
        return super().to_python(_ascii(value, self.error_messages["invalid"]))
