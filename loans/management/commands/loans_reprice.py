import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = (
        "Reprice the rest of every active loan to the rate in force on a day "
        "(the 1 January job; default the business date). Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        import datetime as dt

        from loans.repayments import loans_reprice

        day = None
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError:
                self.stderr.write(_("Give the date as YYYY-MM-DD."))
                sys.exit(2)
        changed = loans_reprice(day=day)
        self.stdout.write(_("%(n)s loans repriced.") % {"n": changed})
