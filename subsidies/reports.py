"""The settlement report: totals per industry and per account status (Excel)."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from accounts.models import FundAccount, LedgerEntry, LedgerTransaction
from core.money import ZERO
from subsidies.models import SettlementRun


@dataclass(frozen=True)
class ReportRow:
    label: str
    accounts: int
    interest: Decimal
    subsidy: Decimal


def settlement_report_rows(settlement_date: dt.date, group_by: str) -> list[ReportRow]:
    """Postings of one settlement date grouped by ``industry`` or ``status``."""
    key = {
        "industry": "transaction__fund_account__depositor__industry__name",
        "status": "transaction__fund_account__status",
    }[group_by]
    kind = "transaction__kind"
    rows = (
        LedgerEntry.objects.filter(
            side=LedgerEntry.Side.CREDIT,
            transaction__value_date=settlement_date,
            transaction__kind__in=[
                LedgerTransaction.Kind.INTEREST,
                LedgerTransaction.Kind.SUBSIDY,
            ],
        )
        .values(key)
        .annotate(
            accounts=Count("transaction__fund_account", distinct=True),
            interest=Sum("amount", filter=Q(**{kind: "interest"})),
            subsidy=Sum("amount", filter=Q(**{kind: "subsidy"})),
        )
        .order_by(key)
    )
    labels = dict(FundAccount.Status.choices) if group_by == "status" else {}
    return [
        ReportRow(
            str(labels.get(row[key], row[key])),
            row["accounts"],
            row["interest"] or ZERO,
            row["subsidy"] or ZERO,
        )
        for row in rows
    ]


def settlement_report_xlsx(run: SettlementRun) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    summary.title = _("Summary")
    bold = Font(bold=True)
    for label, value in (
        (_("Settlement date"), run.settlement_date),
        (_("Status"), run.get_status_display()),
        (_("Chunks done"), f"{run.chunks_done}/{run.chunks_total}"),
        (_("Accounts settled"), run.accounts),
        (_("Interest postings"), run.interest_count),
        (_("Interest total"), run.interest_total),
        (_("Subsidy postings"), run.subsidy_count),
        (_("Subsidy total"), run.subsidy_total),
    ):
        summary.append([str(label), value])
        summary.cell(row=summary.max_row, column=1).font = bold
    for title, group_by, heading in (
        (_("By industry"), "industry", _("Industry")),
        (_("By account status"), "status", _("Account status")),
    ):
        sheet = book.create_sheet(str(title))
        sheet.append([str(heading), _("Accounts"), _("Interest"), _("Subsidy")])
        for cell in sheet[1]:
            cell.font = bold
        totals = [0, ZERO, ZERO]
        for row in settlement_report_rows(run.settlement_date, group_by):
            sheet.append([row.label, row.accounts, row.interest, row.subsidy])
            totals = [
                totals[0] + row.accounts,
                totals[1] + row.interest,
                totals[2] + row.subsidy,
            ]
        sheet.append([_("Total"), *totals])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for column in ("C", "D"):
            for cell in sheet[column][1:]:
                cell.number_format = "#,##0.00"
    out = BytesIO()
    book.save(out)
    return out.getvalue()
