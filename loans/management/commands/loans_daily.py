import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from core.exceptions import DomainError


class Command(BaseCommand):
    help = (
        "Mark overdue instalments, accrue penalty interest, set buckets and "
        "credit flags for a day (default: the business date). Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="YYYY-MM-DD (not after the business date)")

    def handle(self, *args: Any, **options: Any) -> None:
        import datetime as dt

        from loans.daily import loans_daily

        day = None
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError:
                self.stderr.write(_("Give the date as YYYY-MM-DD."))
                sys.exit(2)
        try:
            summary = loans_daily(day=day)
        except DomainError as exc:
            self.stderr.write(exc.message)
            sys.exit(2)
        self.stdout.write(
            _(
                "Loans on %(day)s: %(overdue)s overdue instalments updated, "
                "%(buckets)s buckets changed, %(flags)s credit flags set."
            )
            % {
                "day": summary.day.isoformat(),
                "overdue": summary.overdue_updated,
                "buckets": summary.buckets_changed,
                "flags": summary.flags_set,
            }
        )
