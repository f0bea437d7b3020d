"""``bank_signing_policy CODE [--require-signed-key | --allow-unsigned-key]``:
show or set whether a partner bank must sign its Idempotency-Key
(signature version 2) on every POST."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from banks.selectors import signed_idempotency_key_required
from banks.services import bank_code_required, bank_signing_policy_set
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Show or set whether a bank must sign its Idempotency-Key (version 2)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        choice = parser.add_mutually_exclusive_group()
        choice.add_argument("--require-signed-key", action="store_true")
        choice.add_argument("--allow-unsigned-key", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            partner = bank_code_required(options["code"])
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if options["require_signed_key"] or options["allow_unsigned_key"]:
            bank_signing_policy_set(
                partner=partner,
                require_signed_idempotency_key=options["require_signed_key"],
            )
        required = signed_idempotency_key_required(partner)
        self.stdout.write(
            f"{partner.code} require_signed_idempotency_key={str(required).lower()}"
        )
