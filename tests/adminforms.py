"""Counter forms carry a one-time token: post them as a browser would."""

import re
from typing import Any

_TOKEN_RE = re.compile(r'name="form_token" value="([0-9a-f]+)"')


def form_token(page: Any) -> str:
    found = _TOKEN_RE.search(page.content.decode())
    assert found, "the form page carries no one-time token"
    return found.group(1)


def post_form(client: Any, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """GET the form (a fresh token), then POST ``data`` with that token."""
    token = form_token(client.get(url))
    return client.post(url, {**data, "form_token": token}, **kwargs)
