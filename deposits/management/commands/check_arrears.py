import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from core.clock import parse_month
from core.exceptions import DomainError
from core.inputs import ascii_int_arg


class Command(BaseCommand):
    help = (
        "Mark arrears, seal and cancel accounts as of the end of a month "
        "(idempotent). Refused while the month has not ended."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--chunk-size", type=ascii_int_arg, default=50_000)

    def handle(self, *args: Any, **options: Any) -> None:
        from deposits.services import ArrearsSummary, check_arrears

        def progress(done: int, total: int, so_far: ArrearsSummary) -> None:
            self.stdout.write(
                _(
                    "%(done)s / %(total)s accounts checked, %(sealed)s sealed, "
                    "%(cancelled)s cancelled"
                )
                % {
                    "done": done,
                    "total": total,
                    "sealed": len(so_far.sealed_ids),
                    "cancelled": len(so_far.cancelled_ids),
                }
            )

        try:
            month = parse_month(options["month"])
            summary = check_arrears(
                month=month, progress=progress, chunk_size=options["chunk_size"]
            )
        except DomainError as exc:
            self.stderr.write(exc.message)
            sys.exit(2)
        self.stdout.write(
            _(
                "Arrears check for %(month)s: %(checked)s checked, "
                "%(newly)s newly in arrears, %(sealed)s sealed, "
                "%(cancelled)s cancelled, %(terminated)s subsidies terminated "
                "(%(seconds).1f s)."
            )
            % {
                "month": options["month"],
                "checked": summary.checked,
                "newly": summary.newly_in_arrears,
                "sealed": summary.sealed,
                "cancelled": summary.cancelled,
                "terminated": summary.subsidy_terminated,
                "seconds": summary.seconds,
            }
        )
