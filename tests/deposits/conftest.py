import datetime as dt
import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.clock import set_business_date
from tests.idgen import make_id

SHANGHAI = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    """An aware payment time on ``day`` in Shanghai."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


@pytest.fixture
def fe_account(db: Any, bank: Any) -> Callable[..., Any]:
    """Open an account with its agreement on ``opened`` (business date pinned)."""
    from deposits.services import account_open_with_agreement

    def _open(
        opened: dt.date = dt.date(2025, 3, 1),
        *,
        first_month: dt.date | None = None,
        amount: str = "1000",
        cadence: str = "monthly",
        **kwargs: Any,
    ) -> Any:
        set_business_date(opened)
        n = next(_seq)
        account, _agreement = account_open_with_agreement(
            id_number=make_id(
                dt.date(1990, 1, 1) + dt.timedelta(days=n), seq=n % 500 * 2 + 1
            ),
            name=f"灵活{n}",
            phone="13800000000",
            employment_form="new_forms",
            industry_code="new_courier",
            bank=kwargs.pop("bank", bank),
            channel=kwargs.pop("channel", "bank_app"),
            monthly_amount=Decimal(amount),
            cadence=cadence,
            start_month=first_month or opened.replace(day=1),
            **kwargs,
        )
        return account

    return _open


@pytest.fixture
def pay(bank: Any) -> Callable[..., Any]:
    """Post a deposit paid on ``day`` (business date moved there first)."""
    from deposits.services import deposit_post

    counter = itertools.count(1)

    def _pay(
        account: Any,
        day: dt.date,
        *,
        first_month: dt.date | None = None,
        months: int = 1,
        amount: Decimal | None = None,
        via_bank: bool = True,
        txn: str | None = None,
        move_date: bool = True,
    ) -> Any:
        from deposits.selectors import current_agreement, next_unpaid_month

        if move_date:
            set_business_date(day)
        account.refresh_from_db()
        first = first_month or next_unpaid_month(account)
        if amount is None:
            amount = current_agreement(account).monthly_amount * months
        return deposit_post(
            account=account,
            amount=amount,
            first_month=first,
            months=months,
            paid_at=at(day),
            bank=bank if via_bank else None,
            bank_txn_id=txn or (f"T{next(counter):06d}" if via_bank else ""),
            channel="bank_app" if via_bank else "counter",
        )

    return _pay
