from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from core.exceptions import DomainError
from ops.services import demo_loans_seed


class Command(BaseCommand):
    help = (
        "Outside production: demo loans through the real services (one waiting "
        "for its second approver, one active with a repayment)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when loans exist."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not get_user_model().objects.filter(username="reviewer2").exists():
            raise CommandError(_("Run ensure_demo_admin first (demo staff users)."))
        try:
            counts = demo_loans_seed(if_empty=options["if_empty"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if counts is None:
            self.stdout.write(_("Loans already exist; nothing filed."))
            return
        self.stdout.write(
            _("Demo loans: %(counts)s")
            % {"counts": ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))}
        )
