"""The inbox: a platform's file, verified whole (``national.files``), then
applied line by line, each line in its own transaction by the handler of
its kind, its result kept on its row. A file, or a message, seen before
changes nothing the second time. Higher apps register the handlers of
their kinds (``register_inbox_handler``); the national app's own kinds
(``duplicate_answer``, ``ack``) are registered by ``national.services``.
"""

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, as_actor
from core.audit import audit_record
from core.crypto import encrypt_text
from core.exceptions import DomainError
from national.files import (
    AUDIT_STREAM,
    MessageStatus,
    _Refused,
    _verify,
    exchange_key,
)
from national.models import (
    ID_NUMBER_ENCRYPTED_KEY,
    ID_NUMBER_KEY,
    Direction,
    ExchangeFile,
    NationalMessage,
)

logger = logging.getLogger(__name__)

InboxHandler = Callable[[NationalMessage], str]
_HANDLERS: dict[str, InboxHandler] = {}
# The national app's own kinds: registered by national.services, and never
# replaced by another app.
_BUILTIN_HANDLERS: dict[str, InboxHandler] = {}


def _stored_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as a row keeps it: a resident ID encrypted, and every
    value as JSON carries it (UUIDs, Decimals and dates become strings)."""
    if not isinstance(payload, dict):
        raise DomainError(
            _("A message's payload must be an object."), "invalid_payload"
        )
    stored = dict(payload)
    if ID_NUMBER_KEY in stored:
        number = stored.pop(ID_NUMBER_KEY)
        if not isinstance(number, str) or not number:
            raise DomainError(
                _("A message's resident ID number must be text."), "invalid_payload"
            )
        stored[ID_NUMBER_ENCRYPTED_KEY] = encrypt_text(number)
    return json.loads(json.dumps(stored, cls=DjangoJSONEncoder))


def _message_answered(message: NationalMessage, *, at: dt.datetime) -> bool:
    """Mark an outbound message answered; False when it already was."""
    if MessageStatus.ANSWERED not in NationalMessage.TRANSITIONS[message.status]:
        return False
    message.status = MessageStatus.ANSWERED
    message.answered_at = at
    message.save(update_fields=["status", "answered_at"])
    return True


# --- the inbox -----------------------------------------------------------------


def register_inbox_handler(kind: str, handler: InboxHandler) -> None:
    """Who applies inbound messages of ``kind`` (called from a higher app's
    ``AppConfig.ready``). The handler runs inside the line's transaction,
    returns a short result, and raises ``DomainError`` to refuse the line."""
    if kind in _BUILTIN_HANDLERS:
        raise ValueError(f"inbound kind {kind!r} is applied by the national app")
    _HANDLERS[kind] = handler


def _handler_for(kind: str) -> InboxHandler | None:
    return _BUILTIN_HANDLERS.get(kind) or _HANDLERS.get(kind)


@dataclass(frozen=True)
class _LineResult:
    status: str  # "applied", "refused" or "skipped" (applied before)
    text: str


def _line_apply(
    line: dict[str, Any], *, platform: str, efile: ExchangeFile | None
) -> _LineResult:
    """One verified inbound message in its own transaction: its row, its
    handler's writes and its result commit together; a refusal rolls the
    handler's writes back and keeps the row as refused, with the reason."""
    message_id = uuid.UUID(line["message_id"])
    correlation = line.get("correlation_id")
    with transaction.atomic():
        row = (
            NationalMessage.objects.select_for_update()
            .filter(message_id=message_id)
            .first()
        )
        if row is not None and row.direction == Direction.OUT:
            return _LineResult(
                "refused",
                _("The message id %(id)s is one of this center's own messages.")
                % {"id": message_id},
            )
        if row is not None and row.status == MessageStatus.APPLIED:
            return _LineResult("skipped", row.result)
        if row is None:
            row = NationalMessage(message_id=message_id, direction=Direction.IN)
        row.platform = platform
        row.kind = line["kind"]
        row.correlation_id = uuid.UUID(correlation) if correlation else None
        row.file = efile
        row.status = MessageStatus.REFUSED
        row.result = ""
        try:
            row.payload = _stored_payload(line["payload"])
        except DomainError as exc:
            row.payload = {}
            row.result = exc.message
            row.save()
            return _LineResult("refused", exc.message)
        row.save()
        handler = _handler_for(row.kind)
        try:
            with transaction.atomic():
                if handler is None:
                    raise DomainError(
                        _("No handler for messages of kind %(kind)s.")
                        % {"kind": row.kind},
                        "unknown_kind",
                    )
                text = str(handler(row))
        except DomainError as exc:
            status, text = MessageStatus.REFUSED, exc.message
        else:
            status = MessageStatus.APPLIED
            if row.correlation_id is not None:
                # An applied answer answers the message it names (a transfer
                # in's arrival answers our request), whatever its kind.
                asked = (
                    NationalMessage.objects.select_for_update()
                    .filter(message_id=row.correlation_id, direction=Direction.OUT)
                    .first()
                )
                if asked is not None:
                    _message_answered(asked, at=timezone.now())
        row.status, row.result = status, text
        row.save(update_fields=["status", "result"])
    return _LineResult(str(status), text)


@dataclass
class ImportOutcome:
    # "applied", "already_applied", "refused" (nothing applied), or
    # "interrupted" (an unexpected error; importing again resumes).
    status: str
    reason: str = ""
    lines: int = 0
    applied: int = 0
    refused: int = 0
    skipped: int = 0
    file: ExchangeFile | None = field(default=None, repr=False)


def _refuse_file(
    *, name: str, digest: str, refusal: _Refused, platform: str, actor: Actor
) -> ImportOutcome:
    """Record a refused file with its reason (once per content and reason)."""
    with transaction.atomic():
        efile = ExchangeFile.objects.filter(
            direction=Direction.IN,
            sha256=digest,
            status=ExchangeFile.Status.REFUSED,
            result=refusal.reason,
        ).first()
        if efile is None:
            efile = ExchangeFile.objects.create(
                direction=Direction.IN,
                platform=platform,
                name=name[:255],
                file_id=refusal.file_id,
                sha256=digest,
                status=ExchangeFile.Status.REFUSED,
                result=refusal.reason,
            )
            audit_record(
                stream=AUDIT_STREAM,
                action="national.file_refused",
                obj=efile,
                actor=actor,
                data={"name": efile.name, "sha256": digest, "reason": refusal.reason},
            )
    return ImportOutcome(status="refused", reason=refusal.reason, file=efile)


def _file_counts(efile: ExchangeFile, *, rowless_refused: int) -> tuple[int, int]:
    applied = efile.messages.filter(status=MessageStatus.APPLIED).count()
    refused = efile.messages.filter(status=MessageStatus.REFUSED).count()
    return applied, refused + rowless_refused


def inbox_import(*, path: Path, actor: Actor | Any = None) -> ImportOutcome:
    """Verify a platform's file whole, then apply it line by line.

    A file refused by the checks applies nothing and is recorded with its
    reason; a file applied before (same content or same file id) changes
    nothing; a message applied by an earlier file is skipped.
    """
    who = as_actor(actor, default_system="national_import")
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DomainError(
            _("The file %(name)s cannot be read: %(error)s")
            % {"name": path.name, "error": exc.strerror or exc.__class__.__name__},
            "file_unreadable",
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    done = ExchangeFile.objects.filter(
        direction=Direction.IN, sha256=digest, status=ExchangeFile.Status.APPLIED
    ).first()
    if done is not None:
        return _already(done)
    try:
        verified = _verify(data, exchange_key())
    except _Refused as refusal:
        return _refuse_file(
            name=path.name, digest=digest, refusal=refusal, platform="", actor=who
        )
    header = verified.header
    file_id, platform = header["file_id"], header["platform"]
    refusal = None
    if ExchangeFile.objects.filter(direction=Direction.OUT, file_id=file_id).exists():
        refusal = _Refused(
            _("This is a file exported by this center, not one from a platform."),
            file_id,
        )
    efile = (
        ExchangeFile.objects.filter(direction=Direction.IN, file_id=file_id)
        .exclude(status=ExchangeFile.Status.REFUSED)
        .first()
    )
    if refusal is None and efile is not None and efile.sha256 != digest:
        # Never silently dropped: a platform correcting a file must send it
        # under a new id, and operations must hear of it.
        refusal = _Refused(
            _(
                "The file id %(id)s was already imported with different content "
                "(file %(name)s)."
            )
            % {"id": file_id, "name": efile.name},
            file_id,
        )
    if refusal is not None:
        return _refuse_file(
            name=path.name,
            digest=digest,
            refusal=refusal,
            platform=platform,
            actor=who,
        )
    if efile is not None and efile.status == ExchangeFile.Status.APPLIED:
        return _already(efile)
    if efile is None:
        try:
            with transaction.atomic():
                efile = ExchangeFile.objects.create(
                    direction=Direction.IN,
                    platform=platform,
                    name=path.name[:255],
                    file_id=file_id,
                    sha256=digest,
                    line_count=len(verified.lines),
                    status=ExchangeFile.Status.IMPORTING,
                )
        except IntegrityError:
            return ImportOutcome(
                status="interrupted",
                reason=_(
                    "The file is being imported by another process at this "
                    "moment; import it again later."
                ),
                lines=len(verified.lines),
            )
    # An interrupted import of this file is resumed: its applied lines are
    # skipped like any message applied before.
    refusals: list[str] = []
    rowless_refused = 0
    for number, line in enumerate(verified.lines, start=2):
        try:
            result = _line_apply(line, platform=platform, efile=efile)
        except Exception as exc:
            logger.exception(
                "national import of %s interrupted at line %s", path.name, number
            )
            reason = _(
                "Interrupted at line %(n)s by an unexpected error (%(error)s); the "
                "lines before it are applied. Import the file again once the "
                "fault is fixed: applied lines are skipped."
            ) % {"n": number, "error": exc.__class__.__name__}
            applied, refused = _file_counts(efile, rowless_refused=rowless_refused)
            ExchangeFile.objects.filter(pk=efile.pk).update(result=reason)
            return ImportOutcome(
                status="interrupted",
                reason=reason,
                lines=len(verified.lines),
                applied=applied,
                refused=refused,
                file=efile,
            )
        if result.status == "refused":
            refusals.append(
                _("line %(n)s: %(reason)s") % {"n": number, "reason": result.text}
            )
            if not efile.messages.filter(message_id=line["message_id"]).exists():
                rowless_refused += 1
    applied, refused = _file_counts(efile, rowless_refused=rowless_refused)
    skipped = len(verified.lines) - applied - refused
    summary = _(
        "%(applied)s applied, %(refused)s refused, %(skipped)s already applied."
    ) % {
        "applied": applied,
        "refused": refused,
        "skipped": skipped,
    }
    with transaction.atomic():
        efile.status = ExchangeFile.Status.APPLIED
        efile.applied_count, efile.refused_count = applied, refused
        efile.skipped_count = skipped
        efile.result = "\n".join([summary, *refusals])
        efile.save(
            update_fields=[
                "status",
                "applied_count",
                "refused_count",
                "skipped_count",
                "result",
            ]
        )
        audit_record(
            stream=AUDIT_STREAM,
            action="national.file_imported",
            obj=efile,
            actor=who,
            data={
                "file_id": file_id,
                "platform": platform,
                "sha256": digest,
                "applied": applied,
                "refused": refused,
                "skipped": skipped,
            },
        )
    return ImportOutcome(
        status="applied",
        reason=efile.result,
        lines=len(verified.lines),
        applied=applied,
        refused=refused,
        skipped=skipped,
        file=efile,
    )


def _already(efile: ExchangeFile) -> ImportOutcome:
    return ImportOutcome(
        status="already_applied",
        reason=_("The file %(name)s was imported already; nothing changed.")
        % {"name": efile.name},
        lines=efile.line_count,
        file=efile,
    )
