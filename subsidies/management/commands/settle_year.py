import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
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
            help="Settle in this process (threads, one connection each) even "
            "when a broker is configured.",
        )
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="Return once the chunks are handed to the Celery workers "
            "(with a broker only; without one this process does the work).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

        from subsidies.services import (
            DEFAULT_CHUNK_SIZE,
            settle_year,
            settlement_run_start,
            settlement_work_in_process,
        )

        year = options["year"]
        chunk_size = options["chunk_size"] or DEFAULT_CHUNK_SIZE
        workers = options["workers"] or getattr(settings, "SETTLEMENT_WORKERS", 2)
        started = time.monotonic()
        in_process = options["inline"] or settings.CELERY_TASK_ALWAYS_EAGER
        worker_thread = None
        try:
            failure: list[BaseException] = []
            if in_process and (
                connection.vendor != "postgresql" or connection.in_atomic_block
            ):
                # Other connections would not see an open transaction's run.
                run = settlement_run_start(year=year, chunk_size=chunk_size)
                settlement_work_in_process(run_id=run.pk, workers=1)
            elif in_process:
                # No broker: this process settles, with one database
                # connection per worker thread, while this thread reports.
                run = settlement_run_start(year=year, chunk_size=chunk_size)

                def work() -> None:
                    try:
                        settlement_work_in_process(run_id=run.pk, workers=workers)
                    except BaseException as exc:  # noqa: BLE001 - reported below
                        failure.append(exc)

                worker_thread = threading.Thread(target=work, daemon=True)
                worker_thread.start()
            else:
                run = settle_year(year=year, workers=workers, chunk_size=chunk_size)
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
            # Without a broker this process is the worker: it always waits.
            if run.status == SettlementRun.Status.DONE or (
                options["no_wait"] and worker_thread is None and not in_process
            ):
                break
            if worker_thread is not None and not worker_thread.is_alive():
                run.refresh_from_db()
                if run.status != SettlementRun.Status.DONE:
                    if failure:
                        raise failure[0]
                    raise CommandError(_("The settlement stopped before the end."))
                continue
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
