"""The append-only, hash-chained audit log of money movements and state changes.

Records form chains, one per *stream*: a fund account (``account:<id>``), a
loan, a job run, or the center itself. Each record's ``hash`` is the SHA-256
of the previous record's hash in its stream and of the record's own
canonical text, so an edited, removed or inserted record breaks the chain
from there on (``manage.py verify_audit``). The database refuses UPDATE and
DELETE of records (a trigger, see the migration that creates the table).

Chains per stream rather than one global chain: a writer appends while it
holds its stream's advisory lock (``pg_advisory_xact_lock`` of the stream
name) and, for an account's stream, the account's row lock, taken first (the
deposit fast path chains its record under the row lock alone, reading the
previous hash in its write statement), so two deposits to different accounts
never wait for each other; a bulk job appends one record per chunk,
carrying a digest of the rows that chunk wrote, so the audit costs the batch
jobs one row per chunk.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from core.actors import Actor, as_actor
from core.models import AuditRecord

GENESIS = "0" * 64


def _obj_ref(obj: Any) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, tuple):
        return str(obj[0]), str(obj[1])
    return obj._meta.label_lower, str(obj.pk)


def canonical_text(
    *,
    stream: str,
    action: str,
    object_type: str,
    object_id: str,
    actor_kind: str,
    actor_user_id: int | None,
    actor_ref: str,
    at: dt.datetime,
    data: Any,
) -> str:
    """What a record's hash covers, written the same way every time."""
    return json.dumps(
        {
            "stream": stream,
            "action": action,
            "object": [object_type, object_id],
            "actor": [actor_kind, actor_user_id, actor_ref],
            "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "data": data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def chain_hash(prev_hash: str, text: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + text).encode()).hexdigest()


def stream_lock(stream: str) -> None:
    """Serialise appends to one stream until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [stream])


def _last_hash(stream: str) -> str:
    last = (
        AuditRecord.objects.filter(stream=stream)
        .order_by("-id")
        .values_list("hash", flat=True)
        .first()
    )
    return last or GENESIS


@dataclass(frozen=True)
class PendingRecord:
    """A record prepared for a caller that inserts it in its own statement
    (the deposit fast path): field values with the hash already computed."""

    values: dict[str, Any]


def audit_prepare(
    *,
    stream: str,
    action: str,
    obj: Any,
    actor: Actor | Any,
    data: Any,
    prev_hash: str,
    at: dt.datetime | None = None,
) -> PendingRecord:
    who = as_actor(actor)
    object_type, object_id = _obj_ref(obj)
    when = at or timezone.now()
    text = canonical_text(
        stream=stream,
        action=action,
        object_type=object_type,
        object_id=object_id,
        actor_kind=who.kind,
        actor_user_id=who.user_id,
        actor_ref=who.ref,
        at=when,
        data=data,
    )
    return PendingRecord(
        {
            "stream": stream,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "actor_kind": who.kind,
            "actor_user_id": who.user_id,
            "actor_ref": who.ref,
            "at": when,
            "body": text,
            "prev_hash": prev_hash,
            "hash": chain_hash(prev_hash, text),
        }
    )


AUDIT_COLUMNS = [
    "stream",
    "action",
    "object_type",
    "object_id",
    "actor_kind",
    "actor_user_id",
    "actor_ref",
    "at",
    "body",
    "prev_hash",
    "hash",
]


def audit_insert_sql(prefix: str = "audit_") -> str:
    """``INSERT`` of one record whose previous hash is read, and whose hash
    is computed (``chain_hash`` spelled in SQL), by the insert itself.

    The statement's snapshot is taken when it starts, so it must run after
    the stream's writers are serialised (the stream's advisory lock, or for
    an account's stream the account's row lock) in an earlier statement: a
    read made before the wait would miss a record committed during it.
    Parameters: ``<prefix><column>`` for the columns but the two hashes, and
    ``<prefix>genesis``.
    """
    table = AuditRecord._meta.db_table
    values = ", ".join(f"%({prefix}{c})s" for c in AUDIT_COLUMNS[:-2])
    return (
        f"INSERT INTO {table} ({', '.join(AUDIT_COLUMNS)}) SELECT {values}, "
        f"prev.h, encode(sha256(convert_to(prev.h || chr(10) || %({prefix}body)s,"
        " 'UTF8')), 'hex') FROM (SELECT COALESCE((SELECT au.hash FROM "
        f"{table} au WHERE au.stream = %({prefix}stream)s ORDER BY au.id DESC "
        f"LIMIT 1), %({prefix}genesis)s) AS h) prev"
    )


def audit_record(
    *, stream: str, action: str, obj: Any = None, actor: Actor | Any, data: Any
) -> None:
    """Append one record to ``stream``; call it inside the write's transaction."""
    stream_lock(stream)
    if connection.vendor == "postgresql":
        # The previous hash is read by the insert: one round trip fewer.
        pending = audit_prepare(
            stream=stream,
            action=action,
            obj=obj,
            actor=actor,
            data=data,
            prev_hash=GENESIS,
        )
        params = {f"audit_{k}": v for k, v in pending.values.items()}
        params["audit_genesis"] = GENESIS
        with connection.cursor() as cur:
            cur.execute(_AUDIT_INSERT, params)
        return
    pending = audit_prepare(
        stream=stream,
        action=action,
        obj=obj,
        actor=actor,
        data=data,
        prev_hash=_last_hash(stream),
    )
    AuditRecord.objects.create(**pending.values)


def rows_digest(rows: Iterator[tuple[Any, ...]]) -> tuple[int, str]:
    """Count and SHA-256 of rows, each written as its fields joined by tabs."""
    digest = hashlib.sha256()
    count = 0
    for row in rows:
        digest.update(("\t".join(str(v) for v in row) + "\n").encode())
        count += 1
    return count, digest.hexdigest()


# --- verification ------------------------------------------------------------

# action -> check(record data) -> a problem, or "" when the rows still match
# the digest the record carries. Apps register theirs when ready (the
# settlement registers its chunk check), so this floor imports none of them.
DigestCheck = Any
_digest_checks: dict[str, DigestCheck] = {}


def register_digest_check(action: str, check: DigestCheck) -> None:
    _digest_checks[action] = check


def _body_matches(record: AuditRecord, body: dict[str, Any]) -> bool:
    return (
        body.get("stream") == record.stream
        and body.get("action") == record.action
        and body.get("object") == [record.object_type, record.object_id]
        and body.get("actor")
        == [record.actor_kind, record.actor_user_id, record.actor_ref]
    )


def audit_problems(*, limit: int = 20, chunk_size: int = 5000) -> list[str]:
    """Every chain, record by record, and every digest that can be checked;
    empty when the log is intact."""
    problems: list[str] = []
    stream, prev = None, GENESIS
    rows = AuditRecord.objects.order_by("stream", "id")
    for record in rows.iterator(chunk_size=chunk_size):
        if record.stream != stream:
            stream, prev = record.stream, GENESIS
        try:
            body = json.loads(record.body)
        except ValueError:
            body = None
        if record.prev_hash != prev:
            problems.append(
                f"audit #{record.pk} ({record.stream}): chain broken before it "
                "(a record removed or inserted)"
            )
        elif chain_hash(prev, record.body) != record.hash:
            problems.append(f"audit #{record.pk} ({record.stream}): altered")
        elif body is None or not _body_matches(record, body):
            problems.append(
                f"audit #{record.pk} ({record.stream}): columns differ from the record"
            )
        else:
            check = _digest_checks.get(record.action)
            problem = check(body.get("data") or {}) if check is not None else ""
            if problem:
                problems.append(f"audit #{record.pk} ({record.stream}): {problem}")
        prev = record.hash
        if len(problems) >= limit:
            break
    return problems


_AUDIT_INSERT = audit_insert_sql()
