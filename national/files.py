"""The exchange files: their format, the key that signs them, writing the
outbox out and checking a platform's file whole before anything is applied.

The format (``FORMAT``), UTF-8, one JSON object per line, every line ending
in a line feed:

* header: ``{"format", "file_id", "platform", "created_at", "count"}``;
* one line per message: ``{"message_id", "kind", "correlation_id",
  "created_at", "payload"}``, the resident ID (``payload.id_number``) in
  clear because the platforms need it;
* trailer: ``{"sha256", "hmac"}`` over every byte before the trailer line,
  the HMAC-SHA256 keyed with ``NATIONAL_EXCHANGE_KEY``, which the platforms
  share (they sign inbound files with it).
"""

import datetime as dt
import hashlib
import hmac
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, as_actor
from core.audit import audit_record
from national.models import (
    Direction,
    ExchangeFile,
    NationalMessage,
    Platform,
)

FORMAT = "yantai-hpf-national/1"
LINK_FILES = "files"
LINK_LOOPBACK = "loopback"
AUDIT_STREAM = "national"

MessageStatus = NationalMessage.Status


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
