"""An account holding money never closes: not through the staff page, not
through the service, not even by a raw UPDATE; verify_ledger reports one."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from accounts.models import FundAccount
from accounts.selectors import ledger_problems
from accounts.services import fund_account_transition
from core.exceptions import ConflictError, DomainError
from tests.adminforms import post_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(fe_account, pay):
    account = fe_account(dt.date(2025, 3, 1), amount="4000")
    pay(account, dt.date(2025, 3, 10))
    account.refresh_from_db()
    assert account.balance == Decimal("4000.00")
    return account


def test_the_service_refuses_to_close_an_account_with_money(funded) -> None:
    with pytest.raises(ConflictError) as err:
        fund_account_transition(account=funded, to="closed", reason="exit")
    assert err.value.code == "balance_not_zero" and "4000.00" in err.value.message
    with pytest.raises(DomainError) as err:
        fund_account_transition(account=funded, to="closed", reason="staff")
    assert err.value.code == "invalid_reason"
    funded.refresh_from_db()
    assert funded.status == "open" and funded.status_changes.count() == 1


def test_the_staff_page_offers_no_closing(client, admin_user, funded) -> None:
    client.force_login(admin_user)
    url = reverse("admin:accounts_fundaccount_transition", args=[funded.pk])
    assert 'value="closed"' not in client.get(url).content.decode()
    response = post_form(client, url, {"to": "closed", "note": "客户要求"})
    assert response.status_code == 200
    funded.refresh_from_db()
    assert funded.status == "open"


def test_the_database_refuses_a_closed_account_with_money(funded) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        FundAccount.objects.filter(pk=funded.pk).update(
            status="closed", closed_on=dt.date(2025, 3, 11)
        )


@pytest.mark.breaks_invariants
def test_verify_ledger_reports_a_closed_account_with_money(funded) -> None:
    assert ledger_problems() == []
    with connection.cursor() as cur:
        # As if the row had been written before the constraint existed.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute(
            "ALTER TABLE accounts_fundaccount "
            "DROP CONSTRAINT fund_account_closed_has_zero_balance"
        )
        cur.execute(
            "UPDATE accounts_fundaccount SET status = 'closed', closed_on = %s "
            "WHERE id = %s",
            [dt.date(2025, 3, 11), funded.pk],
        )
    problems = ledger_problems()
    assert any("closed account" in p and "4000.00" in p for p in problems)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_ledger", stdout=out, stderr=out)
    assert exit_.value.code == 1
