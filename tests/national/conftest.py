"""The national platforms' side of the exchange, written here from the
documented file format (not from national.services): what a platform
signs, and a small borrower whose loan application waits on the checks."""

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.subsidies.helpers import monthly

FORMAT = "yantai-hpf-national/1"
# The key the platforms share with the center in these tests.
KEY = "test-exchange-key-shared-with-the-platforms-0123"


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def signed(body: bytes, key: str = KEY) -> bytes:
    """``body`` (header and message lines) with the trailer line appended."""
    trailer = {
        "sha256": hashlib.sha256(body).hexdigest(),
        "hmac": hmac.new(key.encode(), body, hashlib.sha256).hexdigest(),
    }
    return body + dumps(trailer) + b"\n"


def file_body(
    lines: list[dict[str, Any]],
    *,
    platform: str = "supervision",
    file_id: str | None = None,
    count: int | None = None,
) -> bytes:
    header = {
        "format": FORMAT,
        "file_id": file_id or f"platform-{uuid.uuid4().hex}",
        "platform": platform,
        "created_at": "2026-03-06T09:00:00+08:00",
        "count": len(lines) if count is None else count,
    }
    return b"".join(dumps(x) + b"\n" for x in [header, *lines])


def message(
    kind: str, payload: dict[str, Any], *, message_id: str | None = None
) -> dict[str, Any]:
    return {
        "message_id": message_id or str(uuid.uuid4()),
        "kind": kind,
        "correlation_id": None,
        "created_at": "2026-03-06T09:00:00+08:00",
        "payload": payload,
    }


def answer(check: Any, *, hit: bool, cities: list[str] | None = None, **kw: Any):
    """The supervision platform's answer to ``check`` (a DuplicateCheck)."""
    return message(
        "duplicate_answer",
        {
            "check_id": str(check.request.message_id),
            "hit": hit,
            "cities": cities or [],
        },
        **kw,
    )


@pytest.fixture(autouse=True)
def shared_key(settings: Any) -> str:
    settings.NATIONAL_EXCHANGE_KEY = KEY
    return KEY


@pytest.fixture
def files_mode(settings: Any) -> None:
    """No live link: answers come only through imported files."""
    settings.NATIONAL_LINK = "files"


@pytest.fixture
def platform_file(tmp_path: Path) -> Callable[..., Path]:
    """``platform_file([lines...])``: a file as a platform signs it."""
    made = iter(range(1, 1000))

    def _make(
        lines: list[dict[str, Any]], *, data: bytes | None = None, **kw: Any
    ) -> Path:
        path = tmp_path / "in" / f"platform-{next(made)}.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data if data is not None else signed(file_body(lines, **kw)))
        return path

    return _make


@pytest.fixture
def paid_account(fe_account, pay, business_day) -> Callable[..., Any]:
    """An account paid 12 months (2025-03 .. 2026-02), business date
    2026-03-05: 12,000.00 at 1,000.00 a month, enough for a small loan."""

    def _make() -> Any:
        account = fe_account(dt.date(2025, 3, 1), amount="1000")
        for day in monthly(dt.date(2025, 3, 10), dt.date(2026, 2, 28)):
            pay(account, day)
        business_day(dt.date(2026, 3, 5))
        account.refresh_from_db()
        return account

    return _make


def loan_ask(account: Any, **kw: Any) -> Any:
    from loans.calculator import LoanAsk

    return LoanAsk(
        account=account,
        kind="hpf",
        home="first",
        price=Decimal("500000"),
        monthly_income=Decimal("10000"),
        term_months=12,
        method="equal_principal",
        amount=Decimal("12000"),
        **kw,
    )
