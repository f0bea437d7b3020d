import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from core.exceptions import DomainError


class Command(BaseCommand):
    help = (
        "Import a file from a national platform: verified whole first, then "
        "applied line by line. Exit 0 when applied or already applied, 1 with "
        "the reason when refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the signed JSON-lines file")

    def handle(self, *args: Any, **options: Any) -> None:
        from national.services import inbox_import

        path = Path(options["file"])
        try:
            outcome = inbox_import(path=path, actor="national_import")
        except (DomainError, ImproperlyConfigured) as exc:
            self.stderr.write(_("Import refused: %(reason)s") % {"reason": exc})
            sys.exit(1)
        if outcome.status == "already_applied":
            self.stdout.write(outcome.reason)
            return
        if outcome.status == "applied":
            self.stdout.write(
                _("Imported %(name)s: %(lines)s message(s).")
                % {"name": path.name, "lines": outcome.lines}
            )
            self.stdout.write(outcome.reason)
            return
        if outcome.status == "interrupted":
            self.stderr.write(
                _("Import interrupted: %(reason)s") % {"reason": outcome.reason}
            )
            sys.exit(1)
        self.stderr.write(
            _("Import refused, nothing applied: %(reason)s")
            % {"reason": outcome.reason}
        )
        sys.exit(1)
