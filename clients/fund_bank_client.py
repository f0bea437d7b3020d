"""A small client for partner banks: signs every request as the contract says.

Standalone on purpose (needs only ``httpx``), so a bank can copy this file::

    from clients.fund_bank_client import FundBankClient

    client = FundBankClient("https://fund.example", key_id="bk_...", secret="...")
    r = client.post_deposit(
        account_no="3706000000018",
        amount="800.00",
        first_month="2026-01",
        months=1,
        bank_txn_id="TX20260110-0001",
        paid_at="2026-01-10T09:30:00+08:00",
        idempotency_key="TX20260110-0001",
    )
    r.status_code, r.json()

Signature: hex HMAC-SHA256(secret, METHOD "\\n" PATH "\\n" TIMESTAMP "\\n"
hex SHA-256(body)), PATH with its query string, GET bodies empty. The same
scheme signs the webhooks the fund sends; ``verify_webhook`` checks them.

``FundBankClient(..., sign_idempotency_key=True)`` opts into signature
version 2: the header ``X-Signature-Version: 2`` is sent and the string to
sign gets a fifth line, the Idempotency-Key (empty when there is none), so a
captured signature cannot be replayed under another key. A bank the fund has
set to require it must use it on every POST.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

CLOCK_WINDOW_SECONDS = 300
SIGNATURE_VERSION_HEADER = "X-Signature-Version"


def sign(
    secret: str,
    method: str,
    path: str,
    timestamp: str,
    body: bytes,
    idempotency_key: str | None = None,
) -> str:
    """Version 1; version 2 when ``idempotency_key`` is given ("" for none)."""
    body_hash = hashlib.sha256(body).hexdigest()
    lines = [method.upper(), path, timestamp, body_hash]
    if idempotency_key is not None:
        lines.append(idempotency_key)
    message = "\n".join(lines)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_headers(
    key_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes = b"",
    timestamp: int | None = None,
    *,
    idempotency_key: str | None = None,
    sign_idempotency_key: bool = False,
) -> dict[str, str]:
    """The signing headers; with ``sign_idempotency_key`` also the
    Idempotency-Key (when given) and ``X-Signature-Version: 2``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"X-Bank-Key": key_id, "X-Timestamp": ts}
    if sign_idempotency_key:
        headers[SIGNATURE_VERSION_HEADER] = "2"
        headers["X-Signature"] = sign(
            secret, method, path, ts, body, idempotency_key or ""
        )
    else:
        headers["X-Signature"] = sign(secret, method, path, ts, body)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def encode_body(data: Any) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def verify_webhook(
    *,
    secret: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    now: float | None = None,
) -> bool:
    """True when a webhook from the fund is authentic and fresh."""
    lowered = {k.lower(): v for k, v in headers.items()}
    ts = lowered.get("x-timestamp", "")
    sent = lowered.get("x-signature", "")
    # isdigit() alone would pass "²" and other scripts' digits.
    if not (ts.isascii() and ts.isdigit()) or not sent:
        return False
    if abs((time.time() if now is None else now) - int(ts)) > CLOCK_WINDOW_SECONDS:
        return False
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return hmac.compare_digest(sign(secret, "POST", path, ts, body), sent.lower())


class FundBankClient:
    """Signs and sends requests to ``/api/v1/``. Responses are ``httpx.Response``.

    ``transport`` lets tests run against a WSGI app in-process
    (``httpx.WSGITransport``); everything else goes over HTTP.
    """

    def __init__(
        self,
        base_url: str,
        *,
        key_id: str,
        secret: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        sign_idempotency_key: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.key_id = key_id
        self.secret = secret
        self.sign_idempotency_key = sign_idempotency_key
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FundBankClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- low level ---------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw_body: bytes | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        timestamp: int | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one signed request. ``path`` starts with ``/api/v1/``."""
        if params:
            path = path + ("&" if "?" in path else "?") + urlencode(params)
        # Signed as it goes on the wire: a non-ASCII path is percent-encoded
        # (UTF-8) by httpx, and that is the target the server checks.
        path = httpx.URL(path).raw_path.decode("ascii")
        if raw_body is not None:
            body = raw_body
        elif json_body is not None:
            body = encode_body(json_body)
        else:
            body = b""
        prefix = urlsplit(self.base_url).path.rstrip("/")
        headers = signed_headers(
            self.key_id,
            self.secret,
            method,
            prefix + path,
            body,
            timestamp,
            idempotency_key=idempotency_key,
            sign_idempotency_key=self.sign_idempotency_key,
        )
        if body:
            headers["Content-Type"] = "application/json"
        headers.update(extra_headers or {})
        return self._http.request(method, path, content=body, headers=headers)

    def post(
        self, path: str, data: Any, *, idempotency_key: str | None = None
    ) -> httpx.Response:
        return self.request(
            "POST",
            path,
            json_body=data,
            idempotency_key=idempotency_key or uuid.uuid4().hex,
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        return self.request("GET", path, params=params)

    # -- the contract's endpoints ------------------------------------------------

    def open_account(
        self, *, idempotency_key: str | None = None, **fields: Any
    ) -> httpx.Response:
        return self.post("/api/v1/accounts/", fields, idempotency_key=idempotency_key)

    def get_account(self, account_no: str) -> httpx.Response:
        return self.get(f"/api/v1/accounts/{account_no}/")

    def post_deposit(
        self, *, idempotency_key: str | None = None, **fields: Any
    ) -> httpx.Response:
        return self.post("/api/v1/deposits/", fields, idempotency_key=idempotency_key)

    def credit_profile(self, account_no: str) -> httpx.Response:
        return self.get(f"/api/v1/accounts/{account_no}/credit-profile/")

    def statement(
        self, day: str, *, cursor: str | None = None, page_size: int | None = None
    ) -> httpx.Response:
        params: dict[str, Any] = {}
        if cursor:
            params["cursor"] = cursor
        if page_size:
            params["page_size"] = page_size
        return self.get(f"/api/v1/statements/{day}/", params or None)

    def statement_all(self, day: str, *, page_size: int = 100) -> list[dict[str, Any]]:
        """Every item of the day, following the cursor."""
        items: list[dict[str, Any]] = []
        cursor = None
        for _page in range(100_000):  # bounded: a day never has that many pages
            response = self.statement(day, cursor=cursor, page_size=page_size)
            response.raise_for_status()
            data = response.json()
            items.extend(data["items"])
            cursor = data["next_cursor"]
            if not cursor:
                break
        return items

    def industries(self) -> httpx.Response:
        return self.get("/api/v1/industries/")

    def exit_account(
        self, account_no: str, *, idempotency_key: str | None = None
    ) -> httpx.Response:
        return self.post(
            f"/api/v1/accounts/{account_no}/exit/", {}, idempotency_key=idempotency_key
        )

    def get_withdrawal(self, withdrawal_id: str) -> httpx.Response:
        return self.get(f"/api/v1/withdrawals/{withdrawal_id}/")

    def estimate_loan(
        self, *, idempotency_key: str | None = None, **fields: Any
    ) -> httpx.Response:
        return self.post(
            "/api/v1/loan-estimates/", fields, idempotency_key=idempotency_key
        )

    def apply_loan(
        self, *, idempotency_key: str | None = None, **fields: Any
    ) -> httpx.Response:
        return self.post(
            "/api/v1/loan-applications/", fields, idempotency_key=idempotency_key
        )

    def get_loan(self, loan_no: str) -> httpx.Response:
        return self.get(f"/api/v1/loans/{loan_no}/")

    def loan_schedule(self, loan_no: str) -> httpx.Response:
        return self.get(f"/api/v1/loans/{loan_no}/schedule/")

    def disburse_loan(
        self, loan_no: str, *, idempotency_key: str | None = None, **fields: Any
    ) -> httpx.Response:
        return self.post(
            f"/api/v1/loans/{loan_no}/disbursement/",
            fields,
            idempotency_key=idempotency_key,
        )

    def post_repayment(
        self, loan_no: str, *, idempotency_key: str | None = None, **fields: Any
    ) -> httpx.Response:
        return self.post(
            f"/api/v1/loans/{loan_no}/repayments/",
            fields,
            idempotency_key=idempotency_key,
        )
