"""Database helpers shared by the faces."""

import contextlib
import functools
import time
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction


@contextlib.contextmanager
def relaxed_commit() -> Iterator[None]:
    """Commit without waiting for the WAL flush (PostgreSQL).

    For bookkeeping rows whose loss in a server crash costs nothing that a
    retry cannot redo (request logs, idempotency leases). Money never uses it:
    a posting's own commit is synchronous and, WAL being sequential, also makes
    every earlier relaxed commit durable.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def relaxed_commit_from() -> str:
    """A FROM item that makes the current statement's own commit relaxed.

    One round trip instead of four (BEGIN, SET LOCAL, the statement, COMMIT):
    in autocommit mode a statement is its own transaction, and
    ``set_config(..., true)`` evaluated in it lasts until that commit. Use it
    in an INSERT ... SELECT ... FROM <this>. Inside an atomic block the
    setting would outlive the statement and relax the enclosing (perhaps
    money-moving) commit, so there, and on other databases, it is a no-op row.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return "set_config('synchronous_commit', 'off', true) AS relaxed_commit"
    return "(SELECT 1) AS relaxed_commit"


def execute_prepared(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Run one hot statement as a server-side prepared statement (PostgreSQL)
    and return its first row.

    Django's psycopg cursors bind client-side, so PostgreSQL parses and plans
    every statement again; for the few statements run on every API request
    that was a third of the database's work. Errors still arrive as Django's
    database exceptions, and execute wrappers and the debug query log (used
    by tests that count statements) still see the statement.
    """
    import psycopg

    connection.ensure_connection()
    raw = connection.connection

    def run(sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        with psycopg.Cursor(raw) as cur:
            cur.execute(sql, params, prepare=True)
            return cur.fetchone()

    executor = run
    for wrapper in reversed(connection.execute_wrappers):
        executor = functools.partial(wrapper, executor)
    started = time.monotonic()
    with connection.wrap_database_errors:
        row = executor(sql, params, False, {"connection": connection, "cursor": None})
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": sql, "time": f"{time.monotonic() - started:.3f}"}
        )
    return row
