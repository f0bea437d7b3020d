"""Fixtures for the bank API: the real client in clients/, real signing.

Requests go through Django's test client (``DjangoTestTransport``) so they
share the test's database transaction; the concurrency test uses a live
server instead.
"""

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from django.test import Client

from clients.fund_bank_client import FundBankClient
from tests.idgen import make_id

TODAY = dt.date(2026, 1, 15)
PAID_AT = "2026-01-15T10:00:00+08:00"

_HOP_HEADERS = {"host", "content-length", "content-type", "accept-encoding"}


class DjangoTestTransport(httpx.BaseTransport):
    """httpx -> django.test.Client, keeping the exact path, body and headers."""

    def __init__(self) -> None:
        self.client = Client()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode("ascii")
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS
        }
        response = self.client.generic(
            request.method,
            path,
            data=request.read(),
            content_type=request.headers.get("content-type", ""),
            headers=headers,
            # What gunicorn (RAW_URI) and uwsgi (REQUEST_URI) pass: the exact target.
            REQUEST_URI=path,
        )
        return httpx.Response(
            response.status_code,
            headers=list(response.items()),
            content=response.content,
            request=request,
        )


def client_for(partner: Any, secret: str | None = None) -> FundBankClient:
    return FundBankClient(
        "http://testserver",
        key_id=partner.key_id,
        secret=secret if secret is not None else partner.plain_secret,
        transport=DjangoTestTransport(),
    )


@pytest.fixture(autouse=True)
def _no_failed_authentications() -> Iterator[None]:
    """Failed-authentication counters outlive a test (Redis, per minute):
    every test starts with none, or one test's 401s would lock out the next."""
    from banks.bankgen import auth_failures_clear

    auth_failures_clear()
    yield
    auth_failures_clear()


@pytest.fixture
def today(business_day: Callable[[dt.date], dt.date]) -> dt.date:
    return business_day(TODAY)


@pytest.fixture
def api(bank: Any, today: dt.date) -> FundBankClient:
    return client_for(bank)


@pytest.fixture
def other_bank(db: Any) -> Any:
    from accounts.services import bank_partner_create

    partner, secret = bank_partner_create(code="ABC", name="农业银行")
    partner.plain_secret = secret
    return partner


@pytest.fixture
def other_api(other_bank: Any, today: dt.date) -> FundBankClient:
    return client_for(other_bank)


_person = itertools.count(1)


def account_fields(n: int | None = None, **overrides: Any) -> dict[str, Any]:
    n = next(_person) if n is None else n
    fields = {
        "id_number": make_id(dt.date(1990, 5, 15), seq=(n * 2 + 1) % 1000, male=True),
        "name": f"测试{n}",
        "phone": "13800000000",
        "employment_form": "new_forms",
        "industry": "new_courier",
        "monthly_amount": "800.00",
        "cadence": "monthly",
        "start_month": "2026-01",
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def open_via_api() -> Callable[..., str]:
    """Open an account through the API with ``client``; returns the account_no."""

    def _open(client: FundBankClient, **overrides: Any) -> str:
        response = client.open_account(**account_fields(**overrides))
        assert response.status_code == 201, response.text
        return response.json()["account_no"]

    return _open


def deposit_fields(account_no: str, /, **overrides: Any) -> dict[str, Any]:
    fields = {
        "account_no": account_no,
        "amount": "800.00",
        "first_month": "2026-01",
        "months": 1,
        "bank_txn_id": f"TX{next(_person):08d}",
        "paid_at": PAID_AT,
    }
    fields.update(overrides)
    return fields


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def borrower(fe_account: Any, pay: Any, business_day: Any, api: Any) -> Any:
    """1,999.00 paid for each month 2025-03 .. 2025-12 (on the 10th): balance
    19,990.00, paid through the month before the business date (TODAY); a
    man born in 1990, so the longest term (360 months) ends before his
    retirement month + 60."""
    account = fe_account(dt.date(2025, 3, 1), amount="1999")
    for month in range(3, 13):
        pay(account, dt.date(2025, month, 10))
    business_day(TODAY)
    account.refresh_from_db()
    return account


def loan_fields(account_no: str, /, **overrides: Any) -> dict[str, Any]:
    fields = {
        "account_no": account_no,
        "kind": "hpf",
        "home": "first",
        "price": "900000.00",
        "monthly_income": "20000.00",
        "term_months": 360,
        "method": "equal_instalment",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}
