"""Typed numbers are ASCII digits (full-width folded); other scripts' digits
are refused on every face, never half-accepted and never a 500."""

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.clock import parse_month
from core.exceptions import DomainError
from core.forms import AsciiDecimalField, AsciiIntegerField
from core.inputs import ascii_digits_text, parse_ascii_decimal, parse_ascii_int

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")


@pytest.mark.parametrize("text", ["٣", "३", "೩", "²", "①", "3²", "1\u200b2"])
def test_non_ascii_digits_are_refused(text) -> None:
    with pytest.raises(DomainError) as err:
        parse_ascii_int(text, field="months")
    assert err.value.fields == {"months": [err.value.message]}
    with pytest.raises(DomainError):
        parse_ascii_decimal(text, field="amount")


def test_full_width_digits_fold() -> None:
    assert ascii_digits_text("１２") == "12"
    assert parse_ascii_int("１２", field="months", minimum=1, maximum=12) == 12
    assert parse_ascii_decimal("８００.００".translate(FULLWIDTH), field="a") == (
        Decimal("800.00")
    )
    with pytest.raises(DomainError):
        parse_ascii_int("13", field="months", minimum=1, maximum=12)


def test_months_are_ascii() -> None:
    assert parse_month("2026-01") == dt.date(2026, 1, 1)
    assert parse_month("２０２６-０１") == dt.date(2026, 1, 1)
    for bad in [
        "2026-01".translate(ARABIC),
        "2026-1３",
        "2026-13",
        "0000-01",
        "²026-01",
    ]:
        with pytest.raises(DomainError) as err:
            parse_month(bad)
        assert err.value.code == "invalid_month"


@pytest.mark.parametrize("field_class", [AsciiIntegerField, AsciiDecimalField])
def test_counter_form_fields_refuse_other_scripts(field_class) -> None:
    from django import forms

    field = field_class()
    assert field.clean("１２") == 12
    for bad in ["١٢", "१२", "೧೨", "¹²"]:
        with pytest.raises(forms.ValidationError):
            field.clean(bad)


@pytest.mark.django_db
def test_commands_refuse_other_scripts_digits(capsys) -> None:
    with pytest.raises((CommandError, SystemExit)):
        call_command("settle_year", "--year", "٢٠٢٦")
    with pytest.raises(SystemExit) as exit_:
        call_command("check_arrears", "--month", "2026-01".translate(ARABIC))
    assert exit_.value.code == 2


def test_a_command_with_a_superscript_is_a_message_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_ledger", "--limit", "²"],
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.local", "PATH": "/usr/bin"},
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
