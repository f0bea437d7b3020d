"""Who did it: every service write records an ``Actor``.

Four kinds: a member of staff (a Django user), a depositor (through the
portal), a partner bank (through the signed API) and the system (a job or a
command, named). Services accept ``actor=`` as an ``Actor``, a user, a bank
partner or ``None`` (an unnamed system write) and turn it into an ``Actor``
with ``as_actor``; rows store it in the three ``ActorStamp`` columns.
"""

from dataclasses import dataclass
from typing import Any

STAFF, DEPOSITOR, BANK, SYSTEM = "staff", "depositor", "bank", "system"
KINDS = (STAFF, DEPOSITOR, BANK, SYSTEM)


@dataclass(frozen=True)
class Actor:
    kind: str
    user: Any = None  # the Django user for staff and portal depositors
    ref: str = ""  # bank code, depositor account number, or job name

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown actor kind {self.kind!r}")

    @classmethod
    def staff(cls, user: Any) -> "Actor":
        return cls(STAFF, user, getattr(user, "username", "")[:64])

    @classmethod
    def depositor(cls, user: Any, account_no: str) -> "Actor":
        return cls(DEPOSITOR, user, account_no[:64])

    @classmethod
    def bank(cls, code: str) -> "Actor":
        return cls(BANK, None, code[:64])

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(SYSTEM, None, name[:64])

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.ref}" if self.ref else self.kind

    def stamp(self, prefix: str = "actor") -> dict[str, Any]:
        """Field values for an ``ActorStamp`` model (``prefix`` of its fields)."""
        return {
            f"{prefix}_kind": self.kind,
            prefix: self.user if self.user_id else None,
            f"{prefix}_ref": self.ref,
        }


def as_actor(actor: Any, *, default_system: str = "system") -> Actor:
    """An ``Actor`` for whatever a face passed as ``actor=``."""
    if isinstance(actor, Actor):
        return actor
    if actor is None:
        return Actor.system(default_system)
    if getattr(actor, "pk", None) and hasattr(actor, "get_username"):
        return Actor.staff(actor)
    code = getattr(actor, "code", None)
    if code and hasattr(actor, "key_id"):  # a BankPartner, without importing it
        return Actor.bank(code)
    return Actor.system(str(actor) if isinstance(actor, str) else default_system)


def actor_user(actor: Any) -> Any:
    """The actor as a saved user for a foreign key, or None."""
    if isinstance(actor, Actor):
        return actor.user if actor.user_id else None
    return (
        actor if getattr(actor, "pk", None) and hasattr(actor, "get_username") else None
    )
