"""Find stored resident ID numbers that are not in their canonical form.

Before IDs were canonicalised (ASCII digits, upper-case X), a number typed in
another script's digits was stored as given and hashed differently, so one
person could hold several accounts. This reads every stored number (they are
encrypted, so it has to decrypt them) and reports, masked:
- numbers that are not canonical, or whose lookup hash is not that of their
  canonical form;
- people whose canonical numbers coincide (the same person more than once).
Exit 0 when everything is canonical, 1 when anything was found. It changes
nothing: merging two records of one person is a decision for staff.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from accounts.selectors import id_number_audit
from core.inputs import ascii_int_arg


class Command(BaseCommand):
    help = "Report resident ID numbers not stored in canonical form (exit 1 if any)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=ascii_int_arg, default=100)

    def handle(self, *args: Any, **options: Any) -> None:
        report = id_number_audit(
            progress=lambda n: self.stdout.write(_("%(n)s depositors read") % {"n": n})
        )
        for row in report.noncanonical[: options["limit"]]:
            self.stdout.write(
                _("depositor #%(pk)s (%(name)s): stored %(masked)s is not canonical")
                % row
            )
        for group in report.duplicates[: options["limit"]]:
            self.stdout.write(
                _("one person, several records: depositors %(pks)s (%(masked)s)")
                % {
                    "pks": ", ".join(f"#{pk}" for pk in group.pks),
                    "masked": group.masked,
                }
            )
        self.stdout.write(
            _(
                "%(checked)s depositors checked: %(bad)s not canonical, "
                "%(dups)s people recorded more than once."
            )
            % {
                "checked": report.checked,
                "bad": len(report.noncanonical),
                "dups": len(report.duplicates),
            }
        )
        if report.noncanonical or report.duplicates:
            raise SystemExit(1)
