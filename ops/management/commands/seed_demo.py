from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from accounts.models import FundAccount
from core.exceptions import DomainError
from core.inputs import ascii_int_arg
from ops.seed import SeedSummary, demo_data_seed


class Command(BaseCommand):
    help = (
        "Create realistic synthetic depositors with up to M months of deposit "
        "history ending at the business date (deterministic for a seed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=ascii_int_arg, default=200)
        parser.add_argument("--months", type=ascii_int_arg, default=18)
        parser.add_argument("--seed", type=ascii_int_arg, default=1)
        parser.add_argument("--banks", type=ascii_int_arg, default=4)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when fund accounts already exist.",
        )
        parser.add_argument(
            "--writer",
            choices=["auto", "copy", "orm", "services"],
            default="auto",
            help="copy (PostgreSQL), orm (bulk_create), services (replay "
            "through the real services; small runs only).",
        )
        parser.add_argument("--chunk-size", type=ascii_int_arg, default=20_000)
        parser.add_argument(
            "--workers",
            type=ascii_int_arg,
            default=None,
            help="Parallel writer connections (PostgreSQL; default 2).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options.get("verbosity", 1)

        def progress(summary: SeedSummary, total: int) -> None:
            if verbosity < 1:
                return
            rate = summary.people / summary.seconds if summary.seconds else 0
            self.stdout.write(
                _(
                    "%(done)s/%(total)s people, %(deposits)s deposits, "
                    "%(seconds).1f s (%(rate).0f people/s)"
                )
                % {
                    "done": summary.people,
                    "total": total,
                    "deposits": summary.deposits,
                    "seconds": summary.seconds,
                    "rate": rate,
                }
            )

        try:
            summary = demo_data_seed(
                accounts=options["accounts"],
                months=options["months"],
                seed=options["seed"],
                banks=options["banks"],
                if_empty=options["if_empty"],
                writer=options["writer"],
                chunk_size=options["chunk_size"],
                workers=options["workers"],
                progress=progress,
            )
        except (DomainError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        if summary.skipped:
            self.stdout.write(
                _("Fund accounts already exist; nothing seeded (--if-empty).")
            )
            return
        for code, key_id, secret in summary.banks_created:
            self.stdout.write(
                _("Partner bank %(code)s created: key id %(key)s, secret %(secret)s")
                % {"code": code, "key": key_id, "secret": secret}
            )
        if summary.clamped_to_pilot_start:
            self.stdout.write(
                _("History starts at the pilot start, %(month)s.")
                % {"month": summary.first_month}
            )
        statuses = ", ".join(
            f"{FundAccount.Status(status).label} {n}"
            for status, n in sorted(summary.by_status.items())
        )
        self.stdout.write(
            _(
                "Seeded %(people)s people, %(accounts)s accounts (%(statuses)s), "
                "%(deposits)s deposits totalling %(amount)s yuan, "
                "%(changes)s status changes; months %(first)s to %(today)s."
            )
            % {
                "people": summary.people,
                "accounts": summary.accounts,
                "statuses": statuses,
                "deposits": summary.deposits,
                "amount": f"{summary.amount:,}",
                "changes": summary.status_changes,
                "first": summary.first_month,
                "today": summary.business_date,
            }
        )
        self.stdout.write(
            _(
                "Took %(total).1f s (planning %(plan).1f s, writing %(write).1f s, "
                "writer %(writer)s)."
            )
            % {
                "total": summary.seconds,
                "plan": summary.plan_seconds,
                "write": summary.write_seconds,
                "writer": summary.writer,
            }
        )
