"""Emit events for the outside world inside the current database transaction.

Lower floors call ``emit``; the delivering face (bank webhooks, platform files)
reads ``OutboxEvent`` rows after commit, so an event exists if and only if the
change it reports was committed.
"""

from typing import Any

from core.models import OutboxEvent


def emit(*, topic: str, audience: str, payload: dict[str, Any]) -> OutboxEvent:
    return OutboxEvent.objects.create(topic=topic, audience=audience, payload=payload)


def emit_many(rows: list[tuple[str, str, dict[str, Any]]]) -> int:
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(topic=t, audience=a, payload=p) for t, a, p in rows],
        batch_size=5000,
    )
    return len(rows)
