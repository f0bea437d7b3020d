"""Fixtures for withdrawals: staff in their roles, real document bytes, and
accounts funded through the deposit service."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.subsidies.helpers import monthly
from withdrawals.evidence import EvidenceUpload

# The smallest documents each format's checks accept.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
    b"\x00\x00\x00\x90wS\xde\x00\x00\x00\x00IEND\xaeB`\x82"
)


def doc(kind: str, data: bytes = PDF, name: str = "scan.pdf") -> EvidenceUpload:
    return EvidenceUpload(kind=kind, name=name, data=data)


@pytest.fixture
def funded(fe_account: Any, pay: Any) -> Callable[..., Any]:
    """An account paid monthly on the 10th from ``start`` to ``until``."""

    def _make(
        start: dt.date = dt.date(2025, 3, 1),
        until: dt.date = dt.date(2025, 12, 31),
        amount: str = "1000",
        **kwargs: Any,
    ) -> Any:
        account = fe_account(start, amount=amount, **kwargs)
        for day in monthly(start.replace(day=10), until):
            pay(account, day)
        account.refresh_from_db()
        return account

    return _make


def money(text: str) -> Decimal:
    return Decimal(text)
