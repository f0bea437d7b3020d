import datetime as dt
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from subsidies.models import SettlementRun
from subsidies.reports import settlement_report_rows
from subsidies.services import settle_year, settlement_run_start
from tests.subsidies.helpers import make_deposit

S2026 = dt.date(2026, 6, 30)


@pytest.fixture
def settled(open_account, business_day, bank):
    business_day(dt.date(2025, 3, 1))
    a = open_account(1)
    b = open_account(2, industry_code="fruit_apple")
    business_day(dt.date(2025, 3, 10))
    make_deposit(a, "1000.00", dt.date(2025, 3, 10), bank)
    make_deposit(b, "2000.00", dt.date(2025, 3, 10), bank)
    business_day(S2026)
    return settle_year(year=2026), a, b


@pytest.mark.django_db
def test_report_totals_per_industry_and_status(settled) -> None:
    run, a, b = settled
    by_industry = {r.label: r for r in settlement_report_rows(S2026, "industry")}
    assert by_industry["快递"].interest == Decimal("15.00")
    assert by_industry["苹果种植"].interest == Decimal("30.00")
    assert by_industry["苹果种植"].subsidy == Decimal("7.47")  # 2,000 x 112 days
    (status_row,) = settlement_report_rows(S2026, "status")
    assert (status_row.accounts, status_row.interest) == (2, Decimal("45.00"))
    assert run.interest_total == Decimal("45.00") and run.subsidy_total == Decimal(
        "11.20"
    )


@pytest.mark.django_db
def test_admin_run_page_report_and_account_statement(settled, admin_client) -> None:
    run, a, b = settled
    page = admin_client.get(
        reverse("admin:subsidies_settlementrun_change", args=[run.pk])
    )
    assert page.status_code == 200
    assert b'http-equiv="refresh"' not in page.content  # done: no auto-refresh
    assert "1/1" in page.content.decode()  # chunks done / total
    response = admin_client.get(
        reverse("admin:subsidies_settlementrun_report", args=[run.pk])
    )
    assert response.status_code == 200
    book = load_workbook(BytesIO(response.content))
    sheet = book.worksheets[1]
    accounts, interest, subsidy = [c.value for c in sheet[sheet.max_row]][1:]
    assert (accounts, f"{interest:.2f}", f"{subsidy:.2f}") == (2, "45.00", "11.20")
    statement = admin_client.get(
        reverse("admin:subsidies_subsidyaccount_change", args=[a.pk])
    )
    text = statement.content.decode()
    assert statement.status_code == 200
    assert "1000.00" in text and "15.00" in text  # carried-over balance, interest


@pytest.mark.django_db
def test_running_run_page_refreshes_itself(open_account, business_day, admin_client):
    business_day(dt.date(2025, 3, 1))
    open_account(1)
    business_day(S2026)
    run = settlement_run_start(year=2026)
    assert run.status == SettlementRun.Status.RUNNING
    page = admin_client.get(
        reverse("admin:subsidies_settlementrun_change", args=[run.pk])
    )
    assert b'http-equiv="refresh"' in page.content
    assert b"<progress" in page.content
