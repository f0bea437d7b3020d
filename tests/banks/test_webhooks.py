"""Outbox events delivered as signed webhooks to a real local HTTP server."""

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import BankPartner, FundAccount
from accounts.services import fund_account_transition
from banks import services
from banks.models import WebhookDelivery
from banks.tasks import deliver_outbox
from clients.fund_bank_client import verify_webhook
from core import outbox
from core.actors import Actor
from core.models import OutboxEvent

pytestmark = pytest.mark.django_db


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.received.append((self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        # Loopback only, an ephemeral port.
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/fund?v=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def _hooked(bank: Any, url: str) -> BankPartner:
    return services.bank_partner_update(
        partner=bank, name=bank.name, webhook_url=url, throttle_per_minute=6000
    )


def test_status_change_is_delivered_signed(
    bank: Any, open_account: Any, receiver: Receiver, business_day: Any
) -> None:
    business_day(dt.date(2026, 1, 15))
    _hooked(bank, receiver.url)
    account = open_account(1)
    fund_account_transition(account=account, to="sealed", reason="arrears")
    result = deliver_outbox.delay().get()
    assert result == {"attempted": 1, "delivered": 1, "retrying": 0, "failed": 0}
    path, headers, body = receiver.received[0]
    assert path == "/hooks/fund?v=1"
    assert verify_webhook(
        secret=bank.plain_secret, url=receiver.url, headers=headers, body=body
    )
    assert not verify_webhook(
        secret="wrong", url=receiver.url, headers=headers, body=body
    )
    assert not verify_webhook(
        secret=bank.plain_secret, url=receiver.url, headers=headers, body=body + b" "
    )
    event = json.loads(body)
    assert event["topic"] == "account.sealed"
    assert event["payload"]["account_no"] == account.account_no
    assert event["payload"]["status"] == "sealed"
    assert headers["X-Fund-Event-Topic"] == "account.sealed"
    assert headers["X-Bank-Key"] == bank.key_id
    row = OutboxEvent.objects.get()
    assert row.status == "delivered" and row.attempts == 1 and row.delivered_at
    delivery = WebhookDelivery.objects.get()
    assert delivery.succeeded and delivery.response_status == 200
    assert delivery.attempt == 1
    # Nothing left to do: a second run sends nothing.
    assert deliver_outbox.delay().get()["attempted"] == 0
    assert len(receiver.received) == 1


def test_failures_back_off_then_give_up(bank: Any, receiver: Receiver) -> None:
    _hooked(bank, receiver.url)
    receiver.status = 500
    event = outbox.emit(
        topic="loan.overdue", audience=bank.code, payload={"loan_no": "L1"}
    )
    delays = []
    for attempt in range(1, services.WEBHOOK_MAX_ATTEMPTS + 1):
        before = timezone.now()
        summary = services.outbox_deliver_due()
        assert summary.attempted == 1, attempt
        event.refresh_from_db()
        assert event.attempts == attempt
        if attempt < services.WEBHOOK_MAX_ATTEMPTS:
            assert event.status == "pending"
            delays.append(round((event.next_attempt_at - before).total_seconds()))
            # Not due yet: nothing is sent before the backoff has passed.
            assert services.outbox_deliver_due().attempted == 0
            OutboxEvent.objects.filter(pk=event.pk).update(next_attempt_at=before)
    assert event.status == "failed"
    assert delays[:4] == [30, 60, 120, 240]
    assert delays == sorted(delays)
    deliveries = list(WebhookDelivery.objects.order_by("attempt"))
    assert [d.attempt for d in deliveries] == list(
        range(1, services.WEBHOOK_MAX_ATTEMPTS + 1)
    )
    assert all(not d.succeeded and d.response_status == 500 for d in deliveries)
    assert deliveries[0].error == "HTTP 500"
    assert services.outbox_deliver_due().attempted == 0


def test_unreachable_endpoint_is_logged_and_retried(bank: Any) -> None:
    import socket

    with socket.socket() as s:  # a port on loopback that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _hooked(bank, f"http://127.0.0.1:{port}/hook")
    outbox.emit(topic="withdrawal.paid", audience=bank.code, payload={"id": 1})
    summary = services.outbox_deliver_due()
    assert summary.retrying == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.response_status is None
    assert "ConnectionError" in delivery.error


def test_events_wait_for_a_webhook_url(
    bank: Any, other_bank: Any, receiver: Receiver
) -> None:
    outbox.emit(topic="account.closed", audience=bank.code, payload={"n": 1})
    outbox.emit(topic="account.closed", audience="national", payload={"n": 2})
    assert services.outbox_deliver_due().attempted == 0
    _hooked(other_bank, receiver.url)
    assert services.outbox_deliver_due().attempted == 0  # not addressed to it
    _hooked(bank, receiver.url)
    assert services.outbox_deliver_due().delivered == 1
    national = OutboxEvent.objects.get(audience="national")
    assert national.status == "pending" and national.attempts == 0


def test_bulk_sealing_events_reach_the_bank(
    bank: Any, open_account: Any, receiver: Receiver
) -> None:
    from accounts.services import fund_accounts_transition_bulk

    _hooked(bank, receiver.url)
    ids = [open_account(n).pk for n in range(1, 4)]
    fund_accounts_transition_bulk(
        account_ids=ids,
        to="sealed",
        reason="arrears",
        actor=Actor.system("job"),
        effective_on=dt.date(2026, 2, 28),
        audit_stream="job:test",
    )
    assert services.outbox_deliver_due().delivered == 3
    numbers = sorted(
        json.loads(b)["payload"]["account_no"] for _, _, b in receiver.received
    )
    assert numbers == sorted(
        FundAccount.objects.filter(pk__in=ids).values_list("account_no", flat=True)
    )
