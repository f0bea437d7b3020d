"""Writes of the national exchange: the outbox, the inbox, duplicate checks.

Nothing travels to or from a national platform except as a
``NationalMessage`` row. Outbound rows are written in the transaction of the
change that needs them (``outbox_send``) and leave as signed JSON-lines
files (``outbox_export``). An inbound file is verified whole before any of
its lines is applied (``inbox_import``); then each line is applied in its
own transaction by the handler of its kind, and its result is kept on its
row. A file, or a message, seen before changes nothing the second time.

The file format and its checks are in ``national.files``, the line-by-line
applying in ``national.inbox``; this module is their front door.

``NATIONAL_LINK`` says how answers come back: ``files`` (they are imported
later) or ``loopback`` (development and tests: a stand-in for a live link
answers a duplicate check at once from the mirror of national records,
through the same code path as an imported answer).
"""

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.clock import business_date
from core.exceptions import DomainError
from national.files import (
    AUDIT_STREAM,
    FORMAT,
    LINK_FILES,
    LINK_LOOPBACK,
    MessageStatus,
    _uuid_text,
    exchange_file_bytes,
    exchange_key,
    national_link,
    outbox_export,
)
from national.inbox import (
    _BUILTIN_HANDLERS,
    ImportOutcome,
    InboxHandler,
    _line_apply,
    _message_answered,
    _stored_payload,
    inbox_import,
    register_inbox_handler,
)
from national.models import (
    ID_NUMBER_KEY,
    Direction,
    DuplicateCheck,
    NationalMessage,
    NationalRecord,
    Platform,
)
from national.selectors import duplicate_check_state as duplicate_check_state

__all__ = [
    "AUDIT_STREAM",
    "FORMAT",
    "LINK_FILES",
    "LINK_LOOPBACK",
    "ImportOutcome",
    "InboxHandler",
    "duplicate_check_request",
    "duplicate_check_state",
    "exchange_file_bytes",
    "exchange_key",
    "inbox_import",
    "national_link",
    "outbox_export",
    "outbox_send",
    "register_inbox_handler",
]

DUPLICATE_CHECK = "duplicate_check"
DUPLICATE_ANSWER = "duplicate_answer"
ACK = "ack"


# --- the outbox ----------------------------------------------------------------


def _outbound_create(
    *,
    platform: str,
    kind: str,
    payload: dict[str, Any],
    correlation_id: uuid.UUID | None,
    message_id: uuid.UUID,
) -> NationalMessage:
    if platform not in Platform.values:
        raise ValueError(f"unknown national platform {platform!r}")
    if not kind or len(kind) > 40:
        raise ValueError(f"invalid message kind {kind!r}")
    return NationalMessage.objects.create(
        message_id=message_id,
        direction=Direction.OUT,
        platform=platform,
        kind=kind,
        correlation_id=correlation_id,
        payload=_stored_payload(payload),
        status=MessageStatus.PENDING,
    )


def outbox_send(
    *,
    platform: str,
    kind: str,
    payload: dict[str, Any],
    correlation_id: uuid.UUID | None = None,
) -> NationalMessage:
    """Queue a message for a platform, in the caller's transaction: it exists
    if and only if the change it reports was committed."""
    return _outbound_create(
        platform=platform,
        kind=kind,
        payload=payload,
        correlation_id=correlation_id,
        message_id=uuid.uuid4(),
    )


# --- built-in inbound kinds ----------------------------------------------------


def _payload_uuid(message: NationalMessage, key: str) -> uuid.UUID:
    value = (message.payload or {}).get(key)
    if not _uuid_text(value):
        raise DomainError(
            _("The payload's %(key)s is missing or not a message id.") % {"key": key},
            "invalid_payload",
        )
    return uuid.UUID(value)


def _duplicate_answer_apply(message: NationalMessage) -> str:
    """The supervision platform's answer to one of our duplicate checks; a
    hit is also kept as national records, which every later check reads."""
    check_id = _payload_uuid(message, "check_id")
    payload = message.payload
    hit = payload.get("hit")
    cities = payload.get("cities", [])
    if not isinstance(hit, bool):
        raise DomainError(
            _("The answer's hit must be true or false."), "invalid_payload"
        )
    if not isinstance(cities, list) or not all(
        isinstance(c, str) and len(c) <= 50 for c in cities
    ):
        raise DomainError(
            _("The answer's cities must be a list of city names."), "invalid_payload"
        )
    request = (
        NationalMessage.objects.select_for_update()
        .filter(message_id=check_id, direction=Direction.OUT, kind=DUPLICATE_CHECK)
        .first()
    )
    if request is None:
        raise DomainError(
            _("No duplicate check %(id)s was sent by this center.") % {"id": check_id},
            "unknown_check",
        )
    check = DuplicateCheck.objects.select_for_update().get(request=request)
    now = timezone.now()
    check.status = DuplicateCheck.Status.HIT if hit else DuplicateCheck.Status.CLEAR
    check.cities = "、".join(cities)
    check.answered_at = now
    check.save(update_fields=["status", "cities", "answered_at"])
    _message_answered(request, at=now)
    if hit:
        for city in cities or [""]:
            NationalRecord.objects.get_or_create(
                id_number_hash=check.id_number_hash,
                kind=check.purpose,
                city=city,
                is_active=True,
                defaults={"reported_on": business_date()},
            )
    if message.correlation_id is None:
        message.correlation_id = request.message_id
        message.save(update_fields=["correlation_id"])
    if hit:
        return _("Duplicate check %(subject)s: held elsewhere (%(cities)s).") % {
            "subject": check.subject,
            "cities": check.cities or "-",
        }
    return _("Duplicate check %(subject)s: clear.") % {"subject": check.subject}


def _ack_apply(message: NationalMessage) -> str:
    """A platform acknowledges one of our messages (a transfer, say)."""
    target_id = _payload_uuid(message, "message_id")
    target = (
        NationalMessage.objects.select_for_update()
        .filter(message_id=target_id, direction=Direction.OUT)
        .first()
    )
    if target is None:
        raise DomainError(
            _("No message %(id)s was sent by this center.") % {"id": target_id},
            "unknown_message",
        )
    changed = _message_answered(target, at=timezone.now())
    if message.correlation_id is None:
        message.correlation_id = target.message_id
        message.save(update_fields=["correlation_id"])
    if changed:
        return _("Message %(kind)s %(id)s acknowledged.") % {
            "kind": target.kind,
            "id": target.message_id,
        }
    return _("Message %(kind)s %(id)s was answered before; nothing changed.") % {
        "kind": target.kind,
        "id": target.message_id,
    }


_BUILTIN_HANDLERS.update({DUPLICATE_ANSWER: _duplicate_answer_apply, ACK: _ack_apply})


# --- duplicate checks ----------------------------------------------------------


def _loopback_answer(check: DuplicateCheck) -> None:
    """A stand-in for a live link: the platform's answer read from the mirror
    of its records, applied exactly as an imported answer is."""
    cities = sorted(
        set(
            NationalRecord.objects.filter(
                id_number_hash=check.id_number_hash,
                kind=check.purpose,
                is_active=True,
            ).values_list("city", flat=True)
        )
    )
    check_id = str(check.request.message_id)
    line = {
        "message_id": str(uuid.uuid4()),
        "kind": DUPLICATE_ANSWER,
        "correlation_id": check_id,
        "created_at": timezone.now().isoformat(),
        "payload": {"check_id": check_id, "hit": bool(cities), "cities": cities},
    }
    _line_apply(line, platform=Platform.SUPERVISION, efile=None)


@transaction.atomic
def duplicate_check_request(
    *, id_number_hash: str, id_number: str, purpose: str, subject: str
) -> DuplicateCheck:
    """Ask the supervision platform whether this person holds an account (or
    a loan) elsewhere; once per (person, purpose, subject)."""
    if purpose not in DuplicateCheck.Purpose.values:
        raise ValueError(f"unknown duplicate-check purpose {purpose!r}")
    key = {"id_number_hash": id_number_hash, "purpose": purpose, "subject": subject}
    found = DuplicateCheck.objects.filter(**key).first()
    if found is not None:
        return found
    message_id = uuid.uuid4()
    try:
        with transaction.atomic():
            request = _outbound_create(
                platform=Platform.SUPERVISION,
                kind=DUPLICATE_CHECK,
                payload={
                    "check_id": str(message_id),
                    ID_NUMBER_KEY: id_number,
                    "purpose": purpose,
                },
                correlation_id=None,
                message_id=message_id,
            )
            check = DuplicateCheck.objects.create(**key, request=request)
    except IntegrityError:
        # Asked at the same moment by another transaction: its check stands.
        return DuplicateCheck.objects.get(**key)
    if national_link() == LINK_LOOPBACK:
        _loopback_answer(check)
        check.refresh_from_db()
    return check
