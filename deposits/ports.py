"""What the deposits floor needs from the floor above, as a small interface.

The arrears job cancels idle accounts, and cancelling is closing out: the
interest earned earlier in the period is posted and paid out before the
account closes (``subsidies.lifecycle.account_close_out``). Interest belongs
to the subsidies floor, which registers its implementation when the app is
ready; deposits never imports it.
"""

import datetime as dt
from typing import Any, Protocol


class IdleCloseOut(Protocol):
    def __call__(
        self, *, account_ids: list[int], on: dt.date, actor: Any, audit_stream: str
    ) -> list[int]: ...


_idle_close_out: IdleCloseOut | None = None


def register_idle_close_out(implementation: IdleCloseOut) -> None:
    global _idle_close_out
    _idle_close_out = implementation


def idle_close_out(
    *, account_ids: list[int], on: dt.date, actor: Any, audit_stream: str
) -> list[int]:
    """Close out the given idle zero-balance accounts; returns those closed."""
    if _idle_close_out is None:
        raise RuntimeError("no idle close-out registered (subsidies app not ready)")
    if not account_ids:
        return []
    return _idle_close_out(
        account_ids=account_ids, on=on, actor=actor, audit_stream=audit_stream
    )
