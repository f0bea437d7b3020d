"""Celery tasks of the national exchange (names fixed in CELERY_BEAT_SCHEDULE)."""

import logging
from pathlib import Path
from typing import Any

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="national.export", acks_late=True, ignore_result=True)
def national_export_task(out_dir: str | None = None) -> list[str]:
    """Beat: the pending outbox as signed files under ``NATIONAL_EXCHANGE_DIR``.
    Idempotent: exported messages are no longer pending, so a redelivered
    task writes nothing more."""
    from django.conf import settings

    from national.services import outbox_export

    target = Path(out_dir) if out_dir else Path(settings.NATIONAL_EXCHANGE_DIR)
    return [str(p) for p in outbox_export(out_dir=target)]


@shared_task(name="national.import", acks_late=True, ignore_result=True)
def national_import_task(path: str) -> dict[str, Any]:
    """Idempotent: a file imported before changes nothing the second time."""
    from core.exceptions import DomainError
    from national.services import inbox_import

    try:
        outcome = inbox_import(path=Path(path))
    except DomainError as exc:
        logger.error("national import of %s refused: %s", Path(path).name, exc)
        return {"status": "refused", "reason": exc.message}
    if outcome.status in ("refused", "interrupted"):
        logger.error(
            "national import of %s %s: %s",
            Path(path).name,
            outcome.status,
            outcome.reason,
        )
    return {
        "status": outcome.status,
        "reason": outcome.reason,
        "lines": outcome.lines,
        "applied": outcome.applied,
        "refused": outcome.refused,
        "skipped": outcome.skipped,
    }


@shared_task(name="national.report_waiting", acks_late=True, ignore_result=True)
def national_report_task(older_than_hours: int = 48) -> int:
    """Beat, daily: log how many messages and checks wait on the platforms."""
    import datetime as dt

    from national.selectors import messages_waiting, pending_checks

    waiting = messages_waiting(dt.timedelta(hours=older_than_hours)).count()
    checks = pending_checks().count()
    level = logging.WARNING if waiting else logging.INFO
    logger.log(
        level,
        "national exchange: %s outbound message(s) unanswered for over %s hours; "
        "%s duplicate check(s) pending",
        waiting,
        older_than_hours,
        checks,
    )
    return waiting
