"""``create_bank_partner CODE --name NAME``: prints one JSON line with the
secret. The secret appears only on stdout, never in a log."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import bank_partner_create
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Create a partner bank; prints its code, key id and secret (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        parser.add_argument("--name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            partner, secret = bank_partner_create(
                code=options["code"], name=options["name"] or options["code"]
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            json.dumps(
                {"code": partner.code, "key_id": partner.key_id, "secret": secret},
                ensure_ascii=False,
            )
        )
