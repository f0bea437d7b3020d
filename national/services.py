"""Writes of the national exchange: the outbox, the inbox, duplicate checks.

Nothing travels to or from a national platform except as a
``NationalMessage`` row. Outbound rows are written in the transaction of the
change that needs them (``outbox_send``) and leave as signed JSON-lines
files (``outbox_export``). An inbound file is verified whole before any of
its lines is applied (``inbox_import``); then each line is applied in its
own transaction by the handler of its kind, and its result is kept on its
row. A file, or a message, seen before changes nothing the second time.

The file format (``FORMAT``), UTF-8, one JSON object per line, every line
ending in a line feed:

* header: ``{"format", "file_id", "platform", "created_at", "count"}``;
* one line per message: ``{"message_id", "kind", "correlation_id",
  "created_at", "payload"}``, the resident ID (``payload.id_number``) in
  clear because the platforms need it;
* trailer: ``{"sha256", "hmac"}`` over every byte before the trailer line,
  the HMAC-SHA256 keyed with ``NATIONAL_EXCHANGE_KEY``, which the
  platforms share (they sign inbound files with it).

``NATIONAL_LINK`` says how answers come back: ``files`` (they are imported
later) or ``loopback`` (development and tests: a stand-in for a live link
answers a duplicate check at once from the mirror of national records,
through the same code path as an imported answer).
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, as_actor
from core.audit import audit_record
from core.clock import business_date
from core.crypto import encrypt_text
from core.exceptions import DomainError
from national.models import (
    ID_NUMBER_ENCRYPTED_KEY,
    ID_NUMBER_KEY,
    Direction,
    DuplicateCheck,
    ExchangeFile,
    NationalMessage,
    NationalRecord,
    Platform,
)
from national.selectors import duplicate_check_state as duplicate_check_state

logger = logging.getLogger(__name__)

FORMAT = "yantai-hpf-national/1"
LINK_FILES = "files"
LINK_LOOPBACK = "loopback"
AUDIT_STREAM = "national"

DUPLICATE_CHECK = "duplicate_check"
DUPLICATE_ANSWER = "duplicate_answer"
ACK = "ack"

MessageStatus = NationalMessage.Status
InboxHandler = Callable[[NationalMessage], str]
_HANDLERS: dict[str, InboxHandler] = {}


# --- settings ------------------------------------------------------------------


def exchange_key() -> bytes:
    """The HMAC key shared with the platforms; outside production derived
    from ``SECRET_KEY`` so development needs none."""
    key = getattr(settings, "NATIONAL_EXCHANGE_KEY", "")
    if key:
        return key.encode()
    if settings.FUND_ENV == "production":
        raise ImproperlyConfigured("NATIONAL_EXCHANGE_KEY is required in production")
    return hashlib.sha256(
        ("national-exchange:" + settings.SECRET_KEY).encode()
    ).digest()


def national_link() -> str:
    link = getattr(settings, "NATIONAL_LINK", LINK_FILES)
    if link not in (LINK_FILES, LINK_LOOPBACK):
        raise ImproperlyConfigured("NATIONAL_LINK must be 'files' or 'loopback'")
    # The production settings refuse it at start; this guards a process
    # started some other way, because loopback answers "clear" by itself.
    if link == LINK_LOOPBACK and settings.FUND_ENV == "production":
        raise ImproperlyConfigured("NATIONAL_LINK=loopback is refused in production")
    return link


# --- the outbox ----------------------------------------------------------------


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


def _message_answered(message: NationalMessage, *, at: dt.datetime) -> bool:
    """Mark an outbound message answered; False when it already was."""
    if MessageStatus.ANSWERED not in NationalMessage.TRANSITIONS[message.status]:
        return False
    message.status = MessageStatus.ANSWERED
    message.answered_at = at
    message.save(update_fields=["status", "answered_at"])
    return True


def _dumps(value: Any) -> bytes:
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode()


def _sign(body: bytes, key: bytes) -> dict[str, str]:
    return {
        "sha256": hashlib.sha256(body).hexdigest(),
        "hmac": hmac.new(key, body, hashlib.sha256).hexdigest(),
    }


def _write_whole(path: Path, data: bytes) -> None:
    """Write under a temporary name and rename: a crash leaves no half file
    under the real name. Only the center's user may read it (clear IDs)."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def exchange_file_bytes(
    *,
    platform: str,
    file_id: str,
    created_at: dt.datetime,
    messages: list[dict[str, Any]],
    key: bytes,
) -> bytes:
    """One exchange file: the header, a line per message, the signed
    trailer. The center's exports are written with it; so is what the demo
    plays as the platforms' answers (the same format both ways)."""
    header = {
        "format": FORMAT,
        "file_id": file_id,
        "platform": platform,
        "created_at": created_at.isoformat(),
        "count": len(messages),
    }
    body = b"".join(_dumps(line) + b"\n" for line in [header, *messages])
    return body + _dumps(_sign(body, key)) + b"\n"


@transaction.atomic
def _export_platform(
    *, platform: str, out_dir: Path, now: dt.datetime, key: bytes, actor: Actor
) -> Path | None:
    rows = list(
        NationalMessage.objects.select_for_update(skip_locked=True)
        .filter(
            direction=Direction.OUT, status=MessageStatus.PENDING, platform=platform
        )
        .order_by("created_at", "pk")
    )
    if not rows:
        return None
    file_id = (
        f"yantai-{platform}-{timezone.localtime(now):%Y%m%dT%H%M%S}"
        f"-{uuid.uuid4().hex[:8]}"
    )
    data = exchange_file_bytes(
        platform=platform,
        file_id=file_id,
        created_at=now,
        key=key,
        messages=[
            {
                "message_id": str(m.message_id),
                "kind": m.kind,
                "correlation_id": str(m.correlation_id) if m.correlation_id else None,
                "created_at": m.created_at.isoformat(),
                "payload": m.clear_payload(),
            }
            for m in rows
        ],
    )
    efile = ExchangeFile.objects.create(
        direction=Direction.OUT,
        platform=platform,
        name=f"{file_id}.jsonl",
        file_id=file_id,
        sha256=hashlib.sha256(data).hexdigest(),
        line_count=len(rows),
        status=ExchangeFile.Status.EXPORTED,
        created_at=now,
    )
    NationalMessage.objects.filter(pk__in=[m.pk for m in rows]).update(
        status=MessageStatus.EXPORTED, exported_at=now, file=efile
    )
    audit_record(
        stream=AUDIT_STREAM,
        action="national.file_exported",
        obj=efile,
        actor=actor,
        data={
            "file_id": file_id,
            "platform": platform,
            "count": len(rows),
            "sha256": efile.sha256,
        },
    )
    # Written last, still inside the transaction: if writing fails nothing
    # is marked exported; if the commit fails after the rename, the messages
    # go out again in the next file, and the platform drops the repeats by
    # message_id. Never the other way round, which could lose a message.
    path = out_dir / efile.name
    _write_whole(path, data)
    return path


def outbox_export(
    *,
    out_dir: Path,
    now: dt.datetime | None = None,
    actor: Actor | Any = None,
) -> list[Path]:
    """Write every pending outbound message, one file per platform, and mark
    them exported; nothing pending writes nothing."""
    when = now or timezone.now()
    key = exchange_key()  # a missing key stops the export before any write
    who = as_actor(actor, default_system="national_export")
    out_dir = Path(out_dir)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    for platform in Platform.values:
        path = _export_platform(
            platform=platform, out_dir=out_dir, now=when, key=key, actor=who
        )
        if path is not None:
            written.append(path)
    return written


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


class _Refused(Exception):
    def __init__(self, reason: str, file_id: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.file_id = file_id


@dataclass(frozen=True)
class _Verified:
    header: dict[str, Any]
    lines: list[dict[str, Any]]


def _uuid_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _claimed_file_id(raw_lines: list[bytes]) -> str:
    """The header's file id, for the record of a refused file only."""
    header = _json_object(raw_lines[0]) if raw_lines else None
    file_id = header.get("file_id") if header else None
    return file_id if isinstance(file_id, str) and len(file_id) <= 100 else ""


def _verify(data: bytes, key: bytes) -> _Verified:
    """The whole file checked before anything is applied; ``_Refused`` with
    the first problem found."""
    if not data:
        raise _Refused(_("The file is empty."))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(_("The file is not UTF-8 text.")) from None
    raw_lines = data.split(b"\n")
    file_id = _claimed_file_id(raw_lines)
    if raw_lines[-1] != b"":
        raise _Refused(
            _("The file does not end with a line break: it is truncated."), file_id
        )
    raw_lines.pop()
    trailer = _json_object(raw_lines[-1])
    if (
        len(raw_lines) < 2
        or trailer is None
        or set(trailer) != {"sha256", "hmac"}
        or not all(isinstance(v, str) for v in trailer.values())
    ):
        raise _Refused(
            _("The last line is not the signature trailer: the file is truncated."),
            file_id,
        )
    signed = data[: len(data) - len(raw_lines[-1]) - 1]
    expected = _sign(signed, key)
    if not hmac.compare_digest(expected["sha256"], trailer["sha256"]):
        raise _Refused(
            _("The file's content does not match its SHA-256: it was altered."),
            file_id,
        )
    if not hmac.compare_digest(expected["hmac"], trailer["hmac"]):
        raise _Refused(
            _(
                "The file's signature is wrong: it was not signed with the "
                "exchange key."
            ),
            file_id,
        )
    header = _json_object(raw_lines[0])
    if header is None or header.get("format") != FORMAT:
        raise _Refused(
            _("The first line is not a header of format %(format)s.")
            % {"format": FORMAT},
            file_id,
        )
    problems = []
    if not file_id:
        problems.append("file_id")
    if header.get("platform") not in Platform.values:
        problems.append("platform")
    if not isinstance(header.get("created_at"), str):
        problems.append("created_at")
    count = header.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        problems.append("count")
    if problems:
        raise _Refused(
            _("The header's %(fields)s is missing or invalid.")
            % {"fields": ", ".join(problems)},
            file_id,
        )
    body = raw_lines[1:-1]
    if count != len(body):
        raise _Refused(
            _("The header announces %(count)s messages but the file has %(lines)s.")
            % {"count": count, "lines": len(body)},
            file_id,
        )
    lines = []
    seen: set[str] = set()
    for number, raw in enumerate(body, start=2):
        line = _json_object(raw)
        if line is None:
            raise _Refused(
                _("Line %(n)s is not a JSON object.") % {"n": number}, file_id
            )
        bad = [
            name
            for name, ok in (
                ("message_id", _uuid_text(line.get("message_id"))),
                (
                    "kind",
                    isinstance(line.get("kind"), str) and 0 < len(line["kind"]) <= 40,
                ),
                (
                    "correlation_id",
                    line.get("correlation_id") is None
                    or _uuid_text(line.get("correlation_id")),
                ),
                ("created_at", isinstance(line.get("created_at"), str)),
                ("payload", isinstance(line.get("payload"), dict)),
            )
            if not ok
        ]
        if bad:
            raise _Refused(
                _("Line %(n)s: %(fields)s is missing or invalid.")
                % {"n": number, "fields": ", ".join(bad)},
                file_id,
            )
        message_id = str(uuid.UUID(line["message_id"]))
        if message_id in seen:
            raise _Refused(
                _("Line %(n)s repeats message %(id)s.")
                % {"n": number, "id": message_id},
                file_id,
            )
        seen.add(message_id)
        lines.append(line)
    return _Verified(header=header, lines=lines)


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


_BUILTIN_HANDLERS: dict[str, InboxHandler] = {
    DUPLICATE_ANSWER: _duplicate_answer_apply,
    ACK: _ack_apply,
}


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
