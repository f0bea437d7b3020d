from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from core.exceptions import DomainError
from ops.demo_transfers import demo_transfers_seed


class Command(BaseCommand):
    help = (
        "Outside production: a demo employer and conversion, a transfer out, "
        "transfers in (one arrived through an imported platform file, one "
        "waiting) and the national exchange files, through the real services."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when transfers in exist.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not get_user_model().objects.filter(username="teller").exists():
            raise CommandError(_("Run ensure_demo_admin first (demo staff users)."))
        try:
            counts = demo_transfers_seed(if_empty=options["if_empty"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if counts is None:
            self.stdout.write(_("Transfers already exist; nothing filed."))
            return
        self.stdout.write(
            _("Demo transfers: %(counts)s")
            % {"counts": ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))}
        )
