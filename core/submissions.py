"""Writes of counter form tokens (``core.admin_base.run_once``)."""

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.actors import actor_user
from core.models import FormSubmission


@dataclass(frozen=True)
class SubmissionClaim:
    record: FormSubmission
    claimed: bool


def submission_claim(*, token: str, user: Any, path: str) -> SubmissionClaim:
    """Insert the token in its own commit; whoever inserts it does the work."""
    token = (token or "")[:64]
    try:
        with transaction.atomic():
            record = FormSubmission.objects.create(
                token=token, user=actor_user(user), path=path[:300]
            )
        return SubmissionClaim(record, True)
    except IntegrityError:
        return SubmissionClaim(FormSubmission.objects.get(token=token), False)


def submission_complete(*, record: FormSubmission, message: str, url: str) -> None:
    FormSubmission.objects.filter(pk=record.pk).update(
        state=FormSubmission.State.DONE,
        result_message=str(message)[:300],
        result_url=url[:300],
        completed_at=timezone.now(),
    )


def submission_release(*, record: FormSubmission) -> None:
    """The work failed and wrote nothing: the same form may be sent again."""
    FormSubmission.objects.filter(
        pk=record.pk, state=FormSubmission.State.IN_PROGRESS
    ).delete()
