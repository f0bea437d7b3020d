import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from core.inputs import ascii_int_arg


class Command(BaseCommand):
    help = (
        "List the outbound messages to the national platforms unanswered for "
        "longer than the limit, and the duplicate checks still pending."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-hours", type=ascii_int_arg, default=48)

    def handle(self, *args: Any, **options: Any) -> None:
        from national.selectors import messages_waiting, pending_checks

        now = timezone.now()
        hours = options["older_than_hours"]
        waiting = list(messages_waiting(dt.timedelta(hours=hours), now=now))
        self.stdout.write(
            _("Outbound messages unanswered for more than %(hours)s hours: %(n)s")
            % {"hours": hours, "n": len(waiting)}
        )
        for message in waiting:
            self.stdout.write(
                "  %s  %s  %s  %s  %s"
                % (
                    message.message_id,
                    message.get_platform_display(),
                    message.kind,
                    message.get_status_display(),
                    _("waiting %(age)s") % {"age": timesince(message.created_at, now)},
                )
            )
        checks = list(pending_checks())
        self.stdout.write(
            _("Duplicate checks waiting for an answer: %(n)s") % {"n": len(checks)}
        )
        for check in checks:
            self.stdout.write(
                "  %s  %s  %s"
                % (
                    check.subject,
                    check.get_purpose_display(),
                    _("asked %(age)s ago") % {"age": timesince(check.asked_at, now)},
                )
            )
