from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from core.audit import audit_problems
from core.inputs import ascii_int_arg


class Command(BaseCommand):
    help = (
        "Check the audit log: every hash chain and every chunk digest; exit 0 "
        "when intact, 1 with the failures."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=ascii_int_arg, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        problems = audit_problems(limit=options["limit"])
        if problems:
            for line in problems:
                self.stderr.write(line)
            self.stderr.write(
                _("Audit check failed: %(n)s problem(s) listed.") % {"n": len(problems)}
            )
            raise SystemExit(1)
        self.stdout.write(_("Audit check passed: every chain is intact."))
