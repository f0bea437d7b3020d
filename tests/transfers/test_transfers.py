"""Cross-city transfers through the real services and the national
exchange files (export, then the platform's answer imported): interest to
date, the account closed, the money and months arriving, the subsidy rule
for transferred-in people. Figures worked by hand in the comments."""

import datetime as dt
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from accounts import ledger
from accounts.models import FundAccount, LedgerTransaction, SubsidyEvent
from accounts.selectors import ledger_problems
from core.audit import audit_problems
from core.exceptions import ConflictError
from deposits.models import ExternalMonths
from deposits.selectors import loan_continuity
from deposits.services import agreement_sign
from national.models import NationalMessage
from national.services import inbox_import, outbox_export
from subsidies.services import settle_year
from tests.national.conftest import KEY, file_body, signed
from tests.subsidies.helpers import posting, withdraw
from transfers.models import TransferIn, TransferOut
from transfers.services import transfer_in_request, transfer_out

pytestmark = pytest.mark.django_db


def platform_file(tmp_path: Path, lines: list[dict[str, Any]]) -> Path:
    """A file as the transfer platform signs it (the documented format)."""
    data = signed(file_body(lines, platform="transfer"), key=KEY)
    path = tmp_path / f"platform-{uuid.uuid4().hex}.jsonl"
    path.write_bytes(data)
    return path


@pytest.fixture(autouse=True)
def shared_key(settings: Any) -> None:
    """The key the platforms share with the center in these tests."""
    settings.NATIONAL_EXCHANGE_KEY = KEY


def line(kind: str, payload: dict[str, Any], answers: Any = None) -> dict[str, Any]:
    return {
        "message_id": str(uuid.uuid4()),
        "kind": kind,
        "correlation_id": str(answers) if answers else None,
        "created_at": "2026-10-11T09:00:00+08:00",
        "payload": payload,
    }


@pytest.fixture
def paid_ahead(fe_account, pay):
    """Opened 2026-07-01; 12,000.00 paid on 2026-07-10 for 2026-07 .. 2027-06."""
    account = fe_account(dt.date(2026, 7, 1), amount="1000")
    pay(account, dt.date(2026, 7, 10), months=12)
    account.refresh_from_db()
    return account


def test_transfer_out_posts_interest_closes_and_settles_on_the_ack(
    paid_ahead, business_day, staff, tmp_path
) -> None:
    business_day(dt.date(2026, 10, 10))
    out = transfer_out(account=paid_ahead, to_city="威海", actor=staff("clerk"))
    # 12,000.00 x 1.5 % x 92 days (2026-07-10 .. 2026-10-10) / 360 = 46.00
    assert (out.interest, out.amount) == (Decimal("46.00"), Decimal("12046.00"))
    paid_ahead.refresh_from_db()
    assert (paid_ahead.status, paid_ahead.balance) == ("closed", Decimal("0.00"))
    assert paid_ahead.closed_on == dt.date(2026, 10, 10)
    clearing = ledger.center_account(ledger.TRANSFER_CLEARING)
    clearing.refresh_from_db()
    event = SubsidyEvent.objects.get(fund_account=paid_ahead, kind="terminated")
    assert event.reason == "transfer_out"
    # The platform message, exported with the ID in clear, the amount and
    # the months deposited here.
    (path,) = outbox_export(out_dir=tmp_path / "out")
    lines = [json.loads(raw) for raw in path.read_bytes().splitlines()]
    (sent,) = [x for x in lines[1:-1] if x.get("kind") == "transfer_out"]
    assert sent["payload"]["amount"] == "12046.00"
    assert sent["payload"]["to_city"] == "威海"
    assert sent["payload"]["months_paid"] == 12
    assert len(sent["payload"]["id_number"]) == 18
    row = NationalMessage.objects.get(kind="transfer_out")
    stored = json.dumps(row.payload)
    assert sent["payload"]["id_number"] not in stored and '"id_number":' not in stored
    # The acknowledgement settles the clearing into the center's settlement.
    ack = platform_file(
        tmp_path, [line("transfer_out_ack", {"transfer_id": out.transfer_ref})]
    )
    outcome = inbox_import(path=ack)
    assert (outcome.status, outcome.applied) == ("applied", 1)
    out.refresh_from_db()
    assert out.status == "settled"
    settled = LedgerTransaction.objects.get(purpose="transfer_out_settled")
    assert settled.external_ref == out.transfer_ref
    assert ledger_problems() == [] and audit_problems() == []
    # The same file again changes nothing.
    again = inbox_import(path=ack)
    assert again.status == "already_applied"
    assert LedgerTransaction.objects.filter(purpose="transfer_out_settled").count() == 1


def test_transfer_out_waits_for_an_open_withdrawal_and_a_loan(
    paid_ahead, business_day, staff
) -> None:
    from tests.subsidies.helpers import repaid_loan
    from withdrawals.services import withdrawal_submit

    business_day(dt.date(2026, 10, 10))
    withdrawal_submit(
        account=paid_ahead,
        type="loan_repayment",
        amount=Decimal("100"),
        actor=staff("clerk"),
        **repaid_loan("100"),
    )
    with pytest.raises(ConflictError) as exc:
        transfer_out(account=paid_ahead, to_city="威海", actor=staff("clerk"))
    assert exc.value.code == "application_pending"
    paid_ahead.refresh_from_db()
    assert paid_ahead.status == "open" and paid_ahead.balance == Decimal("12000.00")
    assert not TransferOut.objects.exists()
    assert not NationalMessage.objects.filter(kind="transfer_out").exists()


def test_a_closed_account_is_not_transferred(paid_ahead, business_day, staff) -> None:
    business_day(dt.date(2026, 10, 10))
    withdraw(paid_ahead, "exit")
    with pytest.raises(ConflictError) as exc:
        transfer_out(account=paid_ahead, to_city="威海", actor=staff("clerk"))
    assert exc.value.code == "account_closed"


def _estimate(account: FundAccount) -> Any:
    from loans.calculator import LoanAsk, loan_estimate

    return loan_estimate(
        LoanAsk(
            account=account,
            kind="hpf",
            home="first",
            price=Decimal("500000"),
            monthly_income=Decimal("10000"),
            term_months=120,
            method="equal_instalment",
        )
    )


def _request(staff, **kw) -> TransferIn:
    from tests.idgen import make_id

    fields = {
        "id_number": make_id(dt.date(1988, 5, 20), seq=11),
        "name": "转入人",
        "phone": "13900000000",
        "employment_form": "new_forms",
        "industry_code": "new_courier",
        "from_city": "威海",
        "actor": staff("clerk"),
    }
    fields.update(kw)
    return transfer_in_request(**fields)


def _arrival(request: TransferIn, **payload: Any) -> dict[str, Any]:
    body = {
        "transfer_id": "WH2026000123",
        "amount": "5000.00",
        "first_month": "2024-07",
        "last_month": "2026-06",
        "months_paid": 24,
    }
    body.update(payload)
    return line("transfer_in", body, answers=request.request_message_id)


def test_transfer_in_opens_the_account_with_money_and_months(
    business_day, staff, pay, tmp_path
) -> None:
    business_day(dt.date(2026, 7, 1))
    request = _request(staff)
    assert request.status == "requested"
    business_day(dt.date(2026, 7, 5))
    outcome = inbox_import(path=platform_file(tmp_path, [_arrival(request)]))
    assert (outcome.status, outcome.applied) == ("applied", 1)
    request.refresh_from_db()
    account = request.fund_account
    assert request.status == "arrived"
    assert (account.balance, account.first_time) == (Decimal("5000.00"), False)
    months = ExternalMonths.objects.get(fund_account=account)
    assert (months.first_month, months.last_month, months.months_paid) == (
        dt.date(2024, 7, 1),
        dt.date(2026, 6, 1),
        24,
    )
    # Deposits here continue the run paid there (loan eligibility).
    agreement_sign(
        account=account,
        monthly_amount=Decimal("1000"),
        cadence="monthly",
        first_month=dt.date(2026, 7, 1),
        channel="counter",
        text_version="2025.1",
        accepted=True,
    )
    pay(account, dt.date(2026, 7, 10), via_bank=False)
    assert loan_continuity(account, as_of=dt.date(2026, 8, 1)) == (
        dt.date(2026, 7, 1),
        25,
    )
    # So a loan estimate finds the six months' continuity it needs.
    business_day(dt.date(2026, 8, 3))
    assert "continuity_short" not in _estimate(account).reasons
    # Interest on everything; the subsidy on nothing (not a first-time
    # participant): 5,000 x 1.5 % x 360 / 360 (2026-07-05 .. 2027-06-30)
    # + 1,000 x 1.5 % x 355 / 360 = 75.00 + 14.7917 = 89.79.
    business_day(dt.date(2027, 6, 30))
    settle_year(year=2027)
    account.refresh_from_db()
    assert posting(account, "interest", dt.date(2027, 6, 30)) == Decimal("89.79")
    assert posting(account, "subsidy", dt.date(2027, 6, 30)) is None
    assert ledger_problems() == [] and audit_problems() == []


def test_a_transfer_in_for_someone_with_an_open_account_here_is_refused(
    business_day, staff, fe_account, tmp_path
) -> None:
    from accounts.models import Depositor

    business_day(dt.date(2026, 7, 1))
    request = _request(staff)
    # Meanwhile the person opened an account here at the counter.
    from accounts.services import account_open
    from core.crypto import decrypt_text

    account_open(
        id_number=decrypt_text(request.id_number_encrypted),
        name="转入人",
        phone="13900000000",
        employment_form="new_forms",
        industry_code="new_courier",
    )
    before = FundAccount.objects.count()
    outcome = inbox_import(path=platform_file(tmp_path, [_arrival(request)]))
    assert (outcome.applied, outcome.refused) == (0, 1)
    request.refresh_from_db()
    assert request.status == "requested" and request.fund_account is None
    assert FundAccount.objects.count() == before
    assert not ExternalMonths.objects.exists()
    message = NationalMessage.objects.get(kind="transfer_in")
    assert message.status == "refused" and "已" in message.result
    assert Depositor.objects.count() == 1
    # And a request for someone with an open account is refused at once.
    with pytest.raises(ConflictError) as exc:
        _request(staff)
    assert exc.value.code in ("duplicate_account", "transfer_pending")


def test_a_malformed_arrival_is_refused_line_by_line(
    business_day, staff, tmp_path
) -> None:
    business_day(dt.date(2026, 7, 1))
    request = _request(staff)
    outcome = inbox_import(
        path=platform_file(tmp_path, [_arrival(request, months_paid="many")])
    )
    assert outcome.refused == 1
    request.refresh_from_db()
    assert request.status == "requested"
    assert not FundAccount.objects.exists()
    call_command("verify_ledger")
