"""Webhook delivery: outbox events addressed to a bank, signed with the
bank's own secret, retried with exponential backoff."""

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts.models import BankPartner
from banks.models import WebhookDelivery
from banks.selectors import bank_secret
from banks.signing import signature
from core.logging import mask_id_numbers
from core.models import OutboxEvent

WEBHOOK_MAX_ATTEMPTS = 8
WEBHOOK_BASE_DELAY_SECONDS = 30
WEBHOOK_MAX_DELAY_SECONDS = 3600
WEBHOOK_TIMEOUT_SECONDS = 5.0
# A claimed batch is invisible to other deliverers for this long, so a worker
# that dies mid-batch only delays its events.
WEBHOOK_CLAIM_SECONDS = 300

HEADER_EVENT_ID = "X-Fund-Event-Id"
HEADER_EVENT_TOPIC = "X-Fund-Event-Topic"


def retry_delay_seconds(attempts: int) -> int:
    """Exponential backoff after the ``attempts``-th failure: 30 s, 60 s, ..."""
    return min(
        WEBHOOK_BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0),
        WEBHOOK_MAX_DELAY_SECONDS,
    )


def webhook_body(event: OutboxEvent) -> bytes:
    return json.dumps(
        {
            "id": event.pk,
            "topic": event.topic,
            "created_at": event.created_at.isoformat(),
            "payload": event.payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    ).encode()


def webhook_headers(
    *, partner: BankPartner, event: OutboxEvent, body: bytes
) -> dict[str, str]:
    """Signed like a bank's request: POST, the webhook URL's path and query,
    the Unix timestamp and the body hash, under the bank's own secret."""
    parts = urlsplit(partner.webhook_url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Bank-Key": partner.key_id,
        "X-Timestamp": timestamp,
        "X-Signature": signature(bank_secret(partner), "POST", path, timestamp, body),
        HEADER_EVENT_ID: str(event.pk),
        HEADER_EVENT_TOPIC: event.topic,
    }


@dataclass
class DeliverySummary:
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    event_ids: list[int] = field(default_factory=list)


def _claim_due_events(*, codes: list[str], limit: int) -> list[int]:
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(
                status=OutboxEvent.Status.PENDING,
                audience__in=codes,
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            OutboxEvent.objects.filter(pk__in=ids).update(
                next_attempt_at=now + dt.timedelta(seconds=WEBHOOK_CLAIM_SECONDS)
            )
    return ids


def outbox_event_deliver(
    *, event: OutboxEvent, partner: BankPartner, session: Any = None
) -> WebhookDelivery:
    """One signed POST of one event; records the attempt and moves the event.

    2xx delivers it; anything else (or no answer) schedules a retry with
    exponential backoff, and the ``WEBHOOK_MAX_ATTEMPTS``-th failure marks it
    failed for staff to look at.
    """
    body = webhook_body(event)
    headers = webhook_headers(partner=partner, event=event, body=body)
    started = time.perf_counter()
    status: int | None = None
    error = ""
    try:
        response = (session or requests).post(
            partner.webhook_url,
            data=body,
            headers=headers,
            timeout=WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except requests.RequestException as exc:
        error = type(exc).__name__ + ": " + str(exc)
    duration_ms = int((time.perf_counter() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    now = timezone.now()
    with transaction.atomic():
        locked = OutboxEvent.objects.select_for_update().get(pk=event.pk)
        attempt = locked.attempts + 1
        delivery = WebhookDelivery.objects.create(
            event=locked,
            bank=partner,
            attempt=attempt,
            url=partner.webhook_url[:300],
            response_status=status,
            error=mask_id_numbers(error)[:300],
            succeeded=ok,
            duration_ms=duration_ms,
        )
        locked.attempts = attempt
        fields = ["attempts", "status", "next_attempt_at"]
        if ok:
            locked.status = OutboxEvent.Status.DELIVERED
            locked.delivered_at = now
            fields.append("delivered_at")
        elif attempt >= WEBHOOK_MAX_ATTEMPTS:
            locked.status = OutboxEvent.Status.FAILED
        else:
            locked.status = OutboxEvent.Status.PENDING
            locked.next_attempt_at = now + dt.timedelta(
                seconds=retry_delay_seconds(attempt)
            )
        locked.save(update_fields=fields)
    event.status, event.attempts = locked.status, locked.attempts
    return delivery


def outbox_deliver_due(*, limit: int = 200) -> DeliverySummary:
    """Deliver every due event addressed to a bank that has a webhook URL.

    Events for a bank without a URL wait (pending) until one is set; events
    for other audiences (national platform files) are not touched here.
    """
    partners = {
        p.code: p
        for p in BankPartner.objects.filter(is_active=True).exclude(webhook_url="")
    }
    summary = DeliverySummary()
    if not partners:
        return summary
    ids = _claim_due_events(codes=list(partners), limit=limit)
    with requests.Session() as session:
        for event in OutboxEvent.objects.filter(pk__in=ids).order_by("id"):
            delivery = outbox_event_deliver(
                event=event, partner=partners[event.audience], session=session
            )
            summary.attempted += 1
            summary.event_ids.append(event.pk)
            if delivery.succeeded:
                summary.delivered += 1
            elif event.status == OutboxEvent.Status.FAILED:
                summary.failed += 1
            else:
                summary.retrying += 1
    return summary
