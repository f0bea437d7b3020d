import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = (
        "Write the pending outbox of the national platforms as signed JSON-lines "
        "files (one per platform) and print their paths. Idempotent: nothing "
        "pending writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out",
            help="folder to write to (default: the NATIONAL_EXCHANGE_DIR setting)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from national.services import outbox_export

        out_dir = Path(options["out"] or settings.NATIONAL_EXCHANGE_DIR)
        try:
            paths = outbox_export(out_dir=out_dir, actor="national_export")
        except (ImproperlyConfigured, OSError) as exc:
            self.stderr.write(_("Export failed: %(error)s") % {"error": exc})
            sys.exit(1)
        if not paths:
            self.stdout.write(_("Nothing was pending: no file written."))
            return
        for path in paths:
            self.stdout.write(str(path))
        self.stdout.write(
            _("%(n)s file(s) written; hand them to the national platforms.")
            % {"n": len(paths)}
        )
