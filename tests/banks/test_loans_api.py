"""Loans through the bank API: signed requests through the real client, the
center's review through the services; every figure worked out by hand."""

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import FundAccount, LedgerTransaction, SubsidyEvent
from banks.services import consent_grant
from clients.fund_bank_client import FundBankClient
from core.clock import set_business_date
from core.models import OutboxEvent
from core.money import quantize_money
from loans.daily import loans_daily
from loans.models import Loan
from loans.services import loan_approve, loan_reject
from tests.banks.conftest import TODAY, error_code, loan_fields

pytestmark = pytest.mark.django_db

# 19,990.00 x 30 = 599,700.00, rounded down to a whole 10,000.
LIMIT = "590000.00"
# 590,000.00 at 2.60 % over 360 months: 590,000 x r (1+r)^360 / ((1+r)^360 - 1)
# with r = 0.026 / 12 is 2,362.0043..., so 2,362.00; the first month's interest
# is 590,000.00 x 0.026 / 12 = 1,278.333... -> 1,278.33, its principal the rest.
# The 0.0043 a month not paid comes back with its interest in the last
# instalment, 2,364.37 (the rounding of each month's interest, half up,
# followed month by month); interest in all 359 x 2,362.00 + 2,364.37 -
# 590,000.00 = 260,322.37.
PAYMENT = Decimal("2362.00")
LAST_PAYMENT = "2364.37"
TOTAL_INTEREST = "260322.37"
FIRST_INTEREST = Decimal("1278.33")
FIRST_PRINCIPAL = Decimal("1083.67")
UNKNOWN_LOAN = "L20260115999999"


def _capacity(share: Decimal, months: int) -> Decimal:
    """Rules section 8: P = m ((1+r)^n - 1) / (r (1+r)^n), down to the fen."""
    import decimal

    with decimal.localcontext() as ctx:
        ctx.prec = 40
        r = Decimal("0.026") / 12
        growth = (1 + r) ** months
        exact = share * (growth - 1) / (r * growth)
    return exact.quantize(Decimal("0.01"), rounding=decimal.ROUND_DOWN)


def _apply(api: FundBankClient, account: FundAccount, **overrides: Any) -> str:
    body = loan_fields(account.account_no, amount=LIMIT, **overrides)
    response = api.apply_loan(**body)
    assert response.status_code == 201, response.text
    return response.json()["loan_no"]


def _approve(loan_no: str, staff: Any) -> Loan:
    loan = Loan.objects.get(loan_no=loan_no)
    loan_approve(loan=loan, actor=staff("reviewer"))
    return loan_approve(loan=loan, actor=staff("reviewer"))


def _active(api: FundBankClient, borrower: FundAccount, staff: Any) -> str:
    loan_no = _apply(api, borrower)
    _approve(loan_no, staff)
    disbursed = api.disburse_loan(
        loan_no, bank_txn_id="D-0001", disbursed_on="2026-01-15"
    )
    assert disbursed.status_code == 201, disbursed.text
    return loan_no


def test_the_estimate_shows_every_figure_and_writes_nothing(
    api: FundBankClient, borrower: FundAccount
) -> None:
    ledger_before = LedgerTransaction.objects.count()
    response = api.estimate_loan(**loan_fields(borrower.account_no))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "eligible": True,
        "reasons": [],
        "limit": LIMIT,
        "components": {
            "balance": "19990.00",
            "co_applicant_balance": "0.00",
            "rent_addback": "0.00",
            "balance_term": "19990.00",
            "multiple": "30",
            "loan_ratio": "0.80",
            # 900,000.00 less the 20 % down payment of a first home.
            "price_limit": "720000.00",
            "cap": "1000000.00",
            # Half of the declared 20,000.00 a month as the first payment.
            "capacity_limit": f"{_capacity(Decimal('10000'), 360):.2f}",
        },
        "max_term_months": 360,
        "rate": "0.0260",
        "amount": LIMIT,
        "term_months": 360,
        "method": "equal_instalment",
        "first_payment": f"{PAYMENT:.2f}",
        "last_payment": LAST_PAYMENT,
        "total_interest": TOTAL_INTEREST,
    }
    assert Decimal(TOTAL_INTEREST) == (
        PAYMENT * 359 + Decimal(LAST_PAYMENT) - Decimal(LIMIT)
    )

    # Any amount is calculated: 1,000,000.00 over 30 years is 4,003.40 a month.
    million = api.estimate_loan(**loan_fields(borrower.account_no, amount="1000000.00"))
    assert million.status_code == 200, million.text
    assert (million.json()["amount"], million.json()["first_payment"]) == (
        "1000000.00",
        "4003.40",
    )
    # Five years or less: the short rate.
    short = api.estimate_loan(**loan_fields(borrower.account_no, term_months=60))
    assert short.json()["rate"] == "0.0210"

    # Nothing written: no loan, no ledger posting, the subsidy untouched.
    assert not Loan.objects.exists()
    assert LedgerTransaction.objects.count() == ledger_before
    assert not SubsidyEvent.objects.filter(fund_account=borrower).exists()
    borrower.refresh_from_db()
    assert borrower.subsidy_terminated_on is None


def test_refusal_reasons_in_the_estimate(
    api: FundBankClient, borrower: FundAccount, business_day: Any
) -> None:
    # Nothing paid for January by 15 February: continuity is short.
    business_day(dt.date(2026, 2, 15))
    body = api.estimate_loan(**loan_fields(borrower.account_no)).json()
    assert (body["eligible"], body["reasons"]) == (False, ["continuity_short"])


def test_application_then_a_second_one_and_over_the_limit(
    api: FundBankClient, borrower: FundAccount, bank: Any
) -> None:
    over = api.apply_loan(**loan_fields(borrower.account_no, amount="600000.00"))
    assert over.status_code == 400, over.text
    assert error_code(over) == "amount_over_limit"
    assert not Loan.objects.exists()

    estimate = api.estimate_loan(**loan_fields(borrower.account_no, amount=LIMIT))
    response = api.apply_loan(
        idempotency_key="apply-0001", **loan_fields(borrower.account_no, amount=LIMIT)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"L20260115[0-9]{6}", body["loan_no"])
    assert body.pop("status") == "pending_review"
    loan_no = body.pop("loan_no")
    # The figures the application fixed are the estimate's.
    expected = estimate.json()
    del expected["eligible"], expected["reasons"]
    assert body == expected

    loan = Loan.objects.get(loan_no=loan_no)
    assert (loan.principal, loan.bank_id, loan.actor_kind, loan.actor_ref) == (
        Decimal(LIMIT),
        bank.pk,
        "bank",
        bank.code,
    )
    # Applying ends the subsidy.
    event = SubsidyEvent.objects.get(fund_account=borrower)
    assert (event.reason, event.occurred_on) == ("loan_application", TODAY)

    second = api.apply_loan(**loan_fields(borrower.account_no, amount=LIMIT))
    assert second.status_code == 409, second.text
    error = second.json()["error"]
    assert (error["code"], error["reasons"]) == (
        "not_eligible",
        ["application_pending"],
    )
    assert Loan.objects.count() == 1
    # The estimate now says so too.
    again = api.estimate_loan(**loan_fields(borrower.account_no)).json()
    assert (again["eligible"], again["reasons"]) == (False, ["application_pending"])


def test_review_disbursement_replay_and_a_second_disbursement(
    api: FundBankClient, borrower: FundAccount, bank: Any, staff: Any
) -> None:
    loan_no = _apply(api, borrower)
    pending = api.get_loan(loan_no)
    assert pending.status_code == 200, pending.text
    assert pending.json() == {
        "loan_no": loan_no,
        "account_no": borrower.account_no,
        "kind": "hpf",
        "status": "pending_review",
        "principal": LIMIT,
        "rate": "0.0260",
        "term_months": 360,
        "method": "equal_instalment",
        "disbursed_on": None,
        "outstanding_principal": "0.00",
        "next_due_date": None,
        "next_due_amount": None,
        "overdue_instalments": 0,
        "overdue_amount": "0.00",
        "penalty_due": "0.00",
        "bucket": "current",
    }
    assert api.loan_schedule(loan_no).json() == {"items": []}
    early = api.disburse_loan(loan_no, bank_txn_id="D-0001", disbursed_on="2026-01-15")
    assert (early.status_code, error_code(early)) == (409, "not_approved")
    unpaid = api.post_repayment(
        loan_no,
        amount="100.00",
        bank_txn_id="R-0001",
        paid_at="2026-01-15T10:00:00+08:00",
    )
    assert (unpaid.status_code, error_code(unpaid)) == (409, "loan_not_active")

    assert _approve(loan_no, staff).status == "approved"
    event = OutboxEvent.objects.get(topic="loan.approved")
    assert (event.audience, event.payload) == (
        bank.code,
        {
            "loan_no": loan_no,
            "account_no": borrower.account_no,
            "status": "approved",
            "principal": LIMIT,
        },
    )
    assert api.get_loan(loan_no).json()["status"] == "approved"

    future = api.disburse_loan(loan_no, bank_txn_id="D-0001", disbursed_on="2026-01-16")
    assert (future.status_code, error_code(future)) == (400, "disbursed_on_in_future")
    assert list(future.json()["error"]["fields"]) == ["disbursed_on"]

    fields = {"bank_txn_id": "D-0001", "disbursed_on": "2026-01-15"}
    disbursed = api.disburse_loan(loan_no, idempotency_key="disb-0001", **fields)
    assert disbursed.status_code == 201, disbursed.text
    body = disbursed.json()
    assert body == {
        **pending.json(),
        "status": "active",
        "disbursed_on": "2026-01-15",
        "outstanding_principal": LIMIT,
        "next_due_date": "2026-02-15",
        "next_due_amount": f"{PAYMENT:.2f}",
    }
    assert api.get_loan(loan_no).json() == body

    replay = api.disburse_loan(loan_no, idempotency_key="disb-0001", **fields)
    assert replay.status_code == 201
    assert replay.json() == body
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert LedgerTransaction.objects.filter(kind="loan_disbursement").count() == 1

    second = api.disburse_loan(loan_no, idempotency_key="disb-0002", **fields)
    assert (second.status_code, error_code(second)) == (409, "already_disbursed")


def test_the_schedule(api: FundBankClient, borrower: FundAccount, staff: Any) -> None:
    loan_no = _active(api, borrower, staff)
    response = api.loan_schedule(loan_no)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["n"] for item in items] == list(range(1, 361))
    assert items[0] == {
        "n": 1,
        "due_date": "2026-02-15",
        "principal": f"{FIRST_PRINCIPAL:.2f}",
        "interest": f"{FIRST_INTEREST:.2f}",
        "total": f"{PAYMENT:.2f}",
        "paid_principal": "0.00",
        "paid_interest": "0.00",
        "paid_penalty": "0.00",
        "status": "due",
    }
    assert items[-1]["due_date"] == "2056-01-15"
    assert {item["status"] for item in items} == {"due"}
    assert sum(Decimal(item["principal"]) for item in items) == Decimal(LIMIT)


def test_repayments_allocation_early_overpayment_and_settlement(
    api: FundBankClient, borrower: FundAccount, bank: Any, staff: Any, business_day: Any
) -> None:
    loan_no = _active(api, borrower, staff)
    business_day(dt.date(2026, 2, 15))
    paid_at = "2026-02-15T10:00:00+08:00"

    future = api.post_repayment(
        loan_no,
        amount="100.00",
        bank_txn_id="R-0000",
        paid_at="2026-02-16T00:00:00+08:00",
    )
    assert (future.status_code, error_code(future)) == (400, "paid_at_in_future")
    before = api.post_repayment(
        loan_no,
        amount="100.00",
        bank_txn_id="R-0000",
        paid_at="2026-01-14T10:00:00+08:00",
    )
    assert (before.status_code, error_code(before)) == (
        400,
        "paid_at_before_disbursement",
    )

    # The first instalment on its due day and 10,000.00 more: interest, the
    # instalment's principal, then the rest repays principal early.
    first = api.post_repayment(
        loan_no, amount="12362.00", bank_txn_id="R-0001", paid_at=paid_at
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert isinstance(body.pop("repayment_id"), int)
    outstanding = Decimal(LIMIT) - FIRST_PRINCIPAL - 10000  # 578,916.33
    assert body == {
        "principal": f"{FIRST_PRINCIPAL + 10000:.2f}",
        "interest": f"{FIRST_INTEREST:.2f}",
        "penalty": "0.00",
        "outstanding_principal": f"{outstanding:.2f}",
    }
    duplicate = api.post_repayment(
        loan_no, amount="100.00", bank_txn_id="R-0001", paid_at=paid_at
    )
    assert (duplicate.status_code, error_code(duplicate)) == (409, "duplicate_bank_txn")

    # Same term, lower payments: the rest is recomputed from the new
    # outstanding principal; its first interest is 578,916.33 x 0.026 / 12 =
    # 1,254.318... -> 1,254.32.
    items = api.loan_schedule(loan_no).json()["items"]
    assert (items[0]["status"], items[0]["paid_principal"]) == (
        "paid",
        f"{FIRST_PRINCIPAL:.2f}",
    )
    second_interest = quantize_money(outstanding * Decimal("0.026") / 12)
    assert second_interest == Decimal("1254.32")
    assert (items[1]["n"], items[1]["interest"], items[1]["status"]) == (
        2,
        "1254.32",
        "due",
    )
    assert len(items) == 360
    loan = api.get_loan(loan_no).json()
    assert (loan["outstanding_principal"], loan["next_due_date"]) == (
        f"{outstanding:.2f}",
        "2026-03-15",
    )
    assert Decimal(loan["next_due_amount"]) < PAYMENT

    # Everything still owed: the next instalment in full and the rest.
    owed = outstanding + second_interest
    over = api.post_repayment(
        loan_no,
        amount=f"{owed + Decimal('0.01'):.2f}",
        bank_txn_id="R-0002",
        paid_at=paid_at,
    )
    assert (over.status_code, error_code(over)) == (400, "overpayment")
    settled = api.post_repayment(
        loan_no, amount=f"{owed:.2f}", bank_txn_id="R-0003", paid_at=paid_at
    )
    assert settled.status_code == 201, settled.text
    body = settled.json()
    assert (
        body["principal"],
        body["interest"],
        body["penalty"],
        body["outstanding_principal"],
    ) == (f"{outstanding:.2f}", "1254.32", "0.00", "0.00")
    assert api.get_loan(loan_no).json()["status"] == "settled"
    event = OutboxEvent.objects.get(topic="loan.settled")
    assert (event.audience, event.payload["loan_no"], event.payload["status"]) == (
        bank.code,
        loan_no,
        "settled",
    )
    after = api.post_repayment(
        loan_no, amount="1.00", bank_txn_id="R-0004", paid_at=paid_at
    )
    assert (after.status_code, error_code(after)) == (409, "loan_not_active")


def test_overdue_figures_and_penalty_paid_first(
    api: FundBankClient, borrower: FundAccount, staff: Any
) -> None:
    loan_no = _active(api, borrower, staff)
    set_business_date(dt.date(2026, 3, 20))
    loans_daily(day=dt.date(2026, 3, 20))
    # Penalty a day on an unpaid instalment: 2,362.00 x 2.60 % x 1.5 / 360 =
    # 0.255883...; 33 days for the first (due 15 February) = 8.444... -> 8.44,
    # 5 days for the second (due 15 March) = 1.279... -> 1.28.
    loan = api.get_loan(loan_no).json()
    assert {k: loan[k] for k in loan if "due" in k or "overdue" in k} == {
        "next_due_date": "2026-04-15",
        "next_due_amount": f"{PAYMENT:.2f}",
        "overdue_instalments": 2,
        "overdue_amount": f"{PAYMENT * 2:.2f}",
        "penalty_due": "9.72",
    }
    assert loan["bucket"] == "M2"  # 33 days past the oldest due day
    statuses = [i["status"] for i in api.loan_schedule(loan_no).json()["items"][:3]]
    assert statuses == ["overdue", "overdue", "due"]

    # Both overdue instalments with their penalties: oldest first, penalty,
    # interest, principal. The second's interest is (590,000.00 - 1,083.67) x
    # 0.026 / 12 = 1,275.985... -> 1,275.99.
    response = api.post_repayment(
        loan_no,
        amount="4733.72",
        bank_txn_id="R-0001",
        paid_at="2026-03-20T09:00:00+08:00",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["penalty"], body["interest"], body["principal"]) == (
        "9.72",
        f"{FIRST_INTEREST + Decimal('1275.99'):.2f}",
        f"{PAYMENT * 2 - FIRST_INTEREST - Decimal('1275.99'):.2f}",
    )
    loan = api.get_loan(loan_no).json()
    assert (loan["overdue_instalments"], loan["overdue_amount"]) == (0, "0.00")
    assert loan["penalty_due"] == "0.00"


def test_a_rejection_is_sent_as_a_webhook(
    api: FundBankClient, borrower: FundAccount, bank: Any, staff: Any
) -> None:
    loan_no = _apply(api, borrower)
    loan_reject(
        loan=Loan.objects.get(loan_no=loan_no),
        reason="income_not_proven",
        actor=staff("reviewer"),
    )
    assert api.get_loan(loan_no).json()["status"] == "rejected"
    event = OutboxEvent.objects.get(topic="loan.rejected")
    assert event.audience == bank.code
    assert event.payload == {
        "loan_no": loan_no,
        "account_no": borrower.account_no,
        "status": "rejected",
        "principal": LIMIT,
    }
    refused = api.disburse_loan(loan_no, bank_txn_id="D-1", disbursed_on="2026-01-15")
    assert error_code(refused) == "not_approved"


def test_another_bank_gets_404_on_every_loan_path(
    api: FundBankClient, other_api: FundBankClient, borrower: FundAccount, staff: Any
) -> None:
    for call in (other_api.estimate_loan, other_api.apply_loan):
        refused = call(**loan_fields(borrower.account_no, amount=LIMIT))
        assert (refused.status_code, error_code(refused)) == (404, "account_not_found")
    assert not Loan.objects.exists()

    loan_no = _active(api, borrower, staff)
    calls = [
        lambda no: other_api.get_loan(no),
        lambda no: other_api.loan_schedule(no),
        lambda no: other_api.disburse_loan(
            no, bank_txn_id="D-9", disbursed_on="2026-01-15"
        ),
        lambda no: other_api.post_repayment(
            no, amount="100.00", bank_txn_id="R-9", paid_at="2026-01-15T10:00:00+08:00"
        ),
    ]
    for call in calls:
        theirs, unknown = call(loan_no), call(UNKNOWN_LOAN)
        assert theirs.status_code == unknown.status_code == 404
        # The same body: the other bank cannot tell that the loan exists.
        assert theirs.json() == unknown.json()
        assert error_code(theirs) == "not_found"
        assert theirs.json()["error"]["message"] == "本行没有该贷款。"
    assert not Loan.objects.get(loan_no=loan_no).repayments.exists()


def test_the_co_applicant_needs_this_bank_or_a_consent(
    api: FundBankClient,
    borrower: FundAccount,
    bank: Any,
    fe_account: Any,
    other_bank: Any,
    business_day: Any,
) -> None:
    spouse = fe_account(dt.date(2025, 12, 1), bank=other_bank)
    business_day(TODAY)
    fields = loan_fields(borrower.account_no, co_applicant_account_no=spouse.account_no)
    hidden = api.estimate_loan(**fields)
    unknown = api.estimate_loan(
        **loan_fields(borrower.account_no, co_applicant_account_no="9999999999")
    )
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()
    assert error_code(hidden) == "account_not_found"

    consent_grant(depositor=spouse.depositor, bank=bank)
    allowed = api.estimate_loan(**fields)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["components"]["co_applicant_balance"] == "0.00"

    same = api.estimate_loan(
        **loan_fields(borrower.account_no, co_applicant_account_no=borrower.account_no)
    )
    assert same.status_code == 400, same.text
    assert list(same.json()["error"]["fields"]) == ["co_applicant_account_no"]


@pytest.mark.parametrize(
    "override, field",
    [
        ({"price": 900000}, "price"),
        ({"price": "9999999999999.99"}, "price"),
        ({"children": 10}, "children"),
        ({"children": "2"}, "children"),
        ({"high_quality": "true"}, "high_quality"),
        ({"term_months": 361}, "term_months"),
        ({"term_months": 0}, "term_months"),
        ({"kind": "commercial"}, "kind"),
        ({"method": None, "amount": "0.00"}, "method"),
    ],
)
def test_loan_body_format_errors(
    api: FundBankClient, borrower: FundAccount, override: dict, field: str
) -> None:
    response = api.estimate_loan(**loan_fields(borrower.account_no, **override))
    assert response.status_code == 400, response.text
    assert error_code(response) == "validation_error"
    assert field in response.json()["error"]["fields"]


def test_a_combination_loan_names_the_commercial_field(
    api: FundBankClient, borrower: FundAccount
) -> None:
    fields = loan_fields(borrower.account_no, kind="combination", amount=LIMIT)
    missing = api.apply_loan(**fields)
    assert (missing.status_code, error_code(missing)) == (
        400,
        "commercial_part_missing",
    )
    assert list(missing.json()["error"]["fields"]) == ["commercial_amount"]
    filed = api.apply_loan(**fields, commercial_amount="200000.00")
    assert filed.status_code == 201, filed.text
    loan = Loan.objects.get(loan_no=filed.json()["loan_no"])
    assert loan.details == {"commercial_amount": "200000.00"}


def test_unknown_loan_numbers_and_methods(api: FundBankClient) -> None:
    for loan_no in ["L1", "x" * 300, "L%00", "L%E4%B8%80"]:
        for path in ("", "schedule/"):
            response = api.get(f"/api/v1/loans/{loan_no}/{path}")
            assert response.status_code == 404, loan_no
            assert error_code(response) == "not_found"
    refused = api.post_repayment(
        "L1", amount="10.00", bank_txn_id="R1", paid_at="2026-01-15T10:00:00+08:00"
    )
    assert (refused.status_code, error_code(refused)) == (404, "not_found")
    assert api.get("/api/v1/loans/L1/repayments/").status_code == 405
    assert api.get("/api/v1/loan-estimates/").status_code == 405
    no_key = api.request("POST", "/api/v1/loan-estimates/", json_body=loan_fields("1"))
    assert error_code(no_key) == "idempotency_key_missing"


def test_the_request_log_keeps_loan_fields_but_not_the_income(
    api: FundBankClient, borrower: FundAccount
) -> None:
    from banks.models import ApiRequestLog

    over = api.apply_loan(**loan_fields(borrower.account_no, amount="600000.00"))
    assert error_code(over) == "amount_over_limit"
    logged = json.loads(ApiRequestLog.objects.latest("id").body_excerpt)
    assert (logged["price"], logged["amount"], logged["term_months"]) == (
        "900000.00",
        "600000.00",
        360,
    )
    # The household's income is personal: only its length is kept.
    assert logged["monthly_income"] == "<8 chars>"


def test_the_statement_shows_the_loan_released_and_repaid(
    api: FundBankClient,
    other_api: FundBankClient,
    borrower: FundAccount,
    staff: Any,
    business_day: Any,
) -> None:
    """Both loan postings are the bank's: money it released for the fund and
    money it collected, each named by the loan, never by the account."""
    loan_no = _active(api, borrower, staff)
    business_day(dt.date(2026, 2, 15))
    paid = api.post_repayment(
        loan_no,
        amount="2362.00",
        bank_txn_id="R-STMT",
        paid_at="2026-02-15T10:00:00+08:00",
    )
    assert paid.status_code == 201, paid.text
    today = timezone.localdate().isoformat()
    body = api.statement(today).json()
    loans = [i for i in body["items"] if i["kind"].startswith("loan_")]
    assert [
        (i["kind"], i["bank_txn_id"], i["loan_no"], i["amount"]) for i in loans
    ] == [
        ("loan_disbursement", "D-0001", loan_no, LIMIT),
        ("loan_repayment", "R-STMT", loan_no, "2362.00"),
    ]
    assert all("account_no" not in i for i in loans)
    deposits = [i for i in body["items"] if i["kind"] == "deposit"]
    assert body["count"] == len(deposits) + 2
    assert Decimal(body["total"]) == sum(
        (Decimal(i["amount"]) for i in body["items"]), Decimal(0)
    )
    # Another bank's statement does not show them.
    other = other_api.statement(today).json()
    assert not [i for i in other["items"] if i["kind"].startswith("loan_")]
