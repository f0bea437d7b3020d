"""The duplicate checks opening and loans call (rules section 10), and what
waits on the national platforms."""

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from national.models import Direction, DuplicateCheck, NationalMessage, NationalRecord


def holds_account_elsewhere(id_number_hash: str) -> bool:
    return NationalRecord.objects.filter(
        id_number_hash=id_number_hash,
        kind=NationalRecord.Kind.ACCOUNT,
        is_active=True,
    ).exists()


def holds_loan_elsewhere(id_number_hash: str) -> bool:
    return NationalRecord.objects.filter(
        id_number_hash=id_number_hash,
        kind=NationalRecord.Kind.LOAN,
        is_active=True,
    ).exists()


def duplicate_check_state(
    *, id_number_hash: str, purpose: str, subject: str
) -> str | None:
    """``"hit"``, ``"clear"``, ``"pending"``, or ``None`` when never asked.

    What the mirror of national records already shows is a hit whatever the
    check answered: the records are the platform's later word.
    """
    mirror = (
        holds_account_elsewhere
        if purpose == DuplicateCheck.Purpose.ACCOUNT
        else holds_loan_elsewhere
    )
    if mirror(id_number_hash):
        return DuplicateCheck.Status.HIT.value
    status = (
        DuplicateCheck.objects.filter(
            id_number_hash=id_number_hash, purpose=purpose, subject=subject
        )
        .values_list("status", flat=True)
        .first()
    )
    return str(status) if status is not None else None


def duplicate_check_pending(*, id_number_hash: str, purpose: str) -> bool:
    """Whether any check of this person for ``purpose`` awaits its answer."""
    return DuplicateCheck.objects.filter(
        id_number_hash=id_number_hash,
        purpose=purpose,
        status=DuplicateCheck.Status.PENDING,
    ).exists()


def pending_checks() -> QuerySet[DuplicateCheck]:
    """The queue: checks still waiting for the platform, oldest first."""
    return (
        DuplicateCheck.objects.filter(status=DuplicateCheck.Status.PENDING)
        .select_related("request")
        .order_by("asked_at", "pk")
    )


def messages_waiting(
    older_than: dt.timedelta, now: dt.datetime | None = None
) -> QuerySet[NationalMessage]:
    """Outbound messages not answered yet and older than ``older_than``."""
    cutoff = (now or timezone.now()) - older_than
    return (
        NationalMessage.objects.filter(
            direction=Direction.OUT,
            status__in=[
                NationalMessage.Status.PENDING,
                NationalMessage.Status.EXPORTED,
            ],
            created_at__lt=cutoff,
        )
        .select_related("file")
        .order_by("created_at", "pk")
    )
