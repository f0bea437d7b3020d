"""Domain errors raised by services; faces map them to responses.

``code`` is the machine code of the contract (``period_already_paid``...),
``message`` is user-facing text (already translated), ``status`` the HTTP
status a face should answer with, ``fields`` per-field messages.
"""

from typing import Any


class DomainError(Exception):
    status = 400

    def __init__(
        self,
        message: Any,
        code: str = "invalid",
        *,
        status: int | None = None,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.code = code
        if status is not None:
            self.status = status
        self.fields = fields or {}

    def __str__(self) -> str:
        return self.message


class ConflictError(DomainError):
    """The request conflicts with the current state (HTTP 409)."""

    status = 409


class NotFoundError(DomainError):
    status = 404


class PermissionDeniedError(DomainError):
    status = 403


class InvalidTransition(ConflictError):
    def __init__(self, message: Any, code: str = "invalid_transition") -> None:
        super().__init__(message, code)


def field_error(field: str, message: Any, code: str = "invalid") -> DomainError:
    """A 400 naming the offending field."""
    return DomainError(message, code, fields={field: [str(message)]})
