"""Database helpers shared by the faces."""

import contextlib
from collections.abc import Iterator

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
