"""What the API accepts as a JSON request body: one rule, one function.

``parse_json_body`` is called by the DRF parser below *and* by the deposit
fast path (``banks.api.fast``). Two readers with two rules disagreed: Python's
``json.loads`` on bytes guesses UTF-16 and skips a UTF-8 byte-order mark, and
the fast path never looked at the Content-Type, so it posted deposits that the
DRF view then refused on the bank's retry. Whatever the rule says, both paths
now say it together.

The rule: Content-Type ``application/json``, optionally with
``charset=utf-8`` (case-insensitive, nothing else); the body strict UTF-8
without a byte-order mark; valid JSON (no NaN or Infinity, no lone UTF-16
surrogate escapes, which no UTF-8 text can hold); containers nested at most
``MAX_JSON_DEPTH`` deep. Anything else is the contract's 400 ``bad_request``
(not 415: the contract has no 415).
"""

import codecs
import json
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers

from core.exceptions import DomainError

# The contract's bodies are flat objects. A fixed limit (far below Python's
# recursion limit) keeps the answer independent of how deep the caller's own
# stack is, so the fast path and the view cannot disagree on a deep body.
MAX_JSON_DEPTH = 32

_JSON_MEDIA_TYPE = "application/json"


class BodyRefused(DomainError):
    """The body breaks the acceptance rule: a 400 ``bad_request``."""

    status = 400

    def __init__(self, message: Any) -> None:
        super().__init__(message, "bad_request")


def json_content_type_ok(content_type: str | None) -> bool:
    if not content_type:
        return False
    media_type, *params = content_type.split(";")
    if media_type.strip().lower() != _JSON_MEDIA_TYPE:
        return False
    for param in params:
        name, sep, value = param.partition("=")
        if not name.strip() and not sep and not value.strip():
            continue  # "application/json;" : an empty parameter says nothing
        if name.strip().lower() != "charset":
            return False
        if value.strip().strip('"').lower() != "utf-8":
            return False
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _check_structure(value: Any, *, check_text: bool) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise BodyRefused(_("The request body is nested too deeply."))
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
            if check_text and isinstance(item, dict):
                stack.extend((key, depth + 1) for key in item)
        elif check_text and isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BodyRefused(_("The request body is not valid JSON.")) from None


def parse_json_body(content_type: str | None, raw: bytes) -> Any:
    """The parsed body, or ``BodyRefused`` (a 400 ``bad_request``)."""
    if not json_content_type_ok(content_type):
        raise BodyRefused(
            _("The Content-Type must be application/json (charset utf-8 only).")
        )
    if raw.startswith(codecs.BOM_UTF8):
        raise BodyRefused(
            _("The request body must be UTF-8 without a byte-order mark.")
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyRefused(
            _("The request body must be UTF-8 without a byte-order mark.")
        ) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise BodyRefused(_("The request body is nested too deeply.")) from None
    except ValueError:  # JSONDecodeError, an integer too long to convert
        raise BodyRefused(_("The request body is not valid JSON.")) from None
    # Only an escape can produce a lone surrogate; skip the walk over strings
    # for the ordinary body that has none.
    _check_structure(value, check_text="\\u" in text)
    return value


class JSONParser(parsers.JSONParser):
    """DRF's parser slot, answered by ``parse_json_body``."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        return parse_json_body(media_type or _JSON_MEDIA_TYPE, raw)
