import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from core.clock import business_date, calendar_today, set_business_date
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Show, set (YYYY-MM-DD) or clear (--clear) the business date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("date", nargs="?")
        parser.add_argument("--clear", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["clear"]:
                set_business_date(None)
            elif options["date"]:
                try:
                    day = dt.date.fromisoformat(options["date"])
                except ValueError:
                    raise CommandError(
                        _("The date must be written as YYYY-MM-DD.")
                    ) from None
                set_business_date(day)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        today = business_date()
        pinned = today != calendar_today() or options["date"]
        self.stdout.write(
            today.isoformat() + ("" if not pinned else " " + _("(pinned)"))
        )
