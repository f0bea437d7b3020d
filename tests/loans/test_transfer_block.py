"""A transfer out waits while the holder's loan is outstanding (read through
accounts.ports, like the exit rule)."""

import datetime as dt

import pytest

from core.exceptions import ConflictError
from transfers.models import TransferOut
from transfers.services import transfer_out

pytestmark = pytest.mark.django_db


def test_an_outstanding_loan_stops_the_transfer_out(loan, business_day, staff) -> None:
    account = loan.fund_account
    business_day(dt.date(2026, 4, 10))
    with pytest.raises(ConflictError) as exc:
        transfer_out(account=account, to_city="威海", actor=staff("clerk"))
    assert exc.value.code == "loan_outstanding"
    account.refresh_from_db()
    assert account.status == "open"
    assert not TransferOut.objects.exists()
