import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from core.exceptions import DomainError
from core.inputs import ascii_int_arg
from subsidies.models import SettlementRun


class Command(BaseCommand):
    help = (
        "The 30 June settlement of interest and subsidy. Idempotent: a rerun, or "
        "a rerun after a crash part-way, credits each account exactly once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=ascii_int_arg, required=True)
        parser.add_argument("--workers", type=ascii_int_arg, default=None)
        parser.add_argument("--chunk-size", type=ascii_int_arg, default=None)
        parser.add_argument(
            "--inline",
            action="store_true",
            help="Settle in this process instead of Celery workers.",
        )
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="Return once the chunks are handed to the workers.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from subsidies.services import (
            DEFAULT_CHUNK_SIZE,
            settle_year,
            settlement_run_start,
            settlement_work,
        )

        year = options["year"]
        chunk_size = options["chunk_size"] or DEFAULT_CHUNK_SIZE
        started = time.monotonic()
        try:
            if options["inline"]:
                run = settlement_run_start(year=year, chunk_size=chunk_size)
                settlement_work(run_id=run.pk)
            else:
                run = settle_year(
                    year=year, workers=options["workers"], chunk_size=chunk_size
                )
        except DomainError as exc:
            self.stderr.write(exc.message)
            raise SystemExit(2) from exc
        last = -1
        while True:
            run.refresh_from_db()
            if run.chunks_done != last:
                last = run.chunks_done
                self.stdout.write(
                    _("Progress: %(done)s/%(total)s chunks, %(accounts)s accounts")
                    % {
                        "done": run.chunks_done,
                        "total": run.chunks_total,
                        "accounts": run.accounts,
                    }
                )
            if run.status == SettlementRun.Status.DONE or options["no_wait"]:
                break
            time.sleep(0.5)
        self.stdout.write(
            _(
                "Settlement %(date)s %(status)s: %(accounts)s accounts, "
                "interest %(interest)s (%(n_i)s postings), subsidy %(subsidy)s "
                "(%(n_s)s postings), %(seconds).1f s."
            )
            % {
                "date": run.settlement_date.isoformat(),
                "status": run.get_status_display(),
                "accounts": run.accounts,
                "interest": run.interest_total,
                "n_i": run.interest_count,
                "subsidy": run.subsidy_total,
                "n_s": run.subsidy_count,
                "seconds": time.monotonic() - started,
            }
        )
