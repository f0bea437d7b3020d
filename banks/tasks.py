"""Periodic jobs of the bank API (names fixed in CELERY_BEAT_SCHEDULE)."""

from typing import Any

from celery import shared_task


@shared_task(name="banks.deliver_outbox", acks_late=True, ignore_result=True)
def deliver_outbox(limit: int = 200) -> dict[str, Any]:
    """Idempotent: events are claimed under SKIP LOCKED with a lease, so an
    overlapping run or a redelivered task never sends one event twice at once."""
    from banks.services import outbox_deliver_due

    summary = outbox_deliver_due(limit=limit)
    return {
        "attempted": summary.attempted,
        "delivered": summary.delivered,
        "retrying": summary.retrying,
        "failed": summary.failed,
    }


@shared_task(name="banks.purge_idempotency_keys", acks_late=True, ignore_result=True)
def purge_idempotency_keys(keep_days: int = 30) -> int:
    from banks.services import idempotency_keys_purge

    return idempotency_keys_purge(keep_days=keep_days)
