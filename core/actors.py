"""Who did it: services take ``actor=`` which may be a user, None, or a
system label's stand-in without a primary key."""

from typing import Any


def actor_user(actor: Any) -> Any:
    """The actor as a saved user for a foreign key, or None (system, jobs)."""
    return actor if getattr(actor, "pk", None) else None
