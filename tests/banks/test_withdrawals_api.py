"""The exit through the bank API and following a withdrawal: signed requests
through the real client, review and payout through the services."""

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts import ports
from accounts.models import FundAccount
from accounts.services.status import fund_account_transition
from clients.fund_bank_client import FundBankClient
from core.actors import Actor
from core.models import OutboxEvent
from tests.banks.conftest import TODAY, error_code
from withdrawals.models import Withdrawal
from withdrawals.services import (
    withdrawal_approve,
    withdrawal_pay,
    withdrawal_reject,
)

pytestmark = pytest.mark.django_db

_users = itertools.count(1)
_MONEY = re.compile(r"(0|[1-9][0-9]*)\.[0-9]{2}")


def _staff() -> Actor:
    user = User.objects.create_user(
        username=f"staff-{next(_users)}", password="x", is_staff=True
    )
    return Actor.staff(user)


@pytest.fixture
def funded(fe_account: Any, pay: Any, business_day: Any, api: Any) -> FundAccount:
    """3 x 1,000.00 paid on 2025-07-10, 2025-08-10 and 2025-09-13 (all in the
    interest year that began on 2025-07-01); the business date back on
    2026-01-15."""
    account = fe_account(dt.date(2025, 7, 1), amount="1000")
    for day in (dt.date(2025, 7, 10), dt.date(2025, 8, 10), dt.date(2025, 9, 13)):
        pay(account, day)
    business_day(TODAY)
    account.refresh_from_db()
    assert account.balance == Decimal("3000.00")
    return account


@pytest.fixture
def owe_a_loan() -> Iterator[Callable[[], None]]:
    """``owe_a_loan()`` registers a stand-in for the loans app (not built
    yet) in which everyone owes a loan; the registration in force before the
    test is put back after it."""
    previous = (ports._loan_outstanding, ports._loan_repaid_between)

    def outstanding(*, depositor: Any) -> bool:
        return True

    def repaid_between(*, account: Any, start: dt.date, end: dt.date) -> Decimal:
        return Decimal("0.00")

    def register() -> None:
        ports.register_loan_facts(
            outstanding=outstanding, repaid_between=repaid_between
        )

    yield register
    ports.register_loan_facts(
        outstanding=previous[0],  # type: ignore[arg-type]
        repaid_between=previous[1],  # type: ignore[arg-type]
    )


# Days to 2026-01-15: 189 + 158 + 124 = 471; 1,000.00 x 471 x 1.5 % / 360
# = 19.625, rounded half up to 19.63 (half to even would give 19.62).
INTEREST = "19.63"
ESTIMATE = "3019.63"


def test_exit_is_filed_with_the_estimate_and_replayed(
    api: FundBankClient, funded: FundAccount, bank: Any
) -> None:
    response = api.exit_account(funded.account_no, idempotency_key="exit-0001")
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"W20260115[0-9]{6}", body["withdrawal_id"])
    assert body == {
        "withdrawal_id": body["withdrawal_id"],
        "status": "pending_review",
        "estimated_amount": ESTIMATE,
    }
    withdrawal = Withdrawal.objects.get(fund_account=funded)
    assert (
        withdrawal.withdrawal_no,
        withdrawal.type,
        withdrawal.channel,
        withdrawal.status,
        withdrawal.amount_requested,
        withdrawal.actor_kind,
        withdrawal.actor_ref,
    ) == (
        body["withdrawal_id"],
        "exit",
        "bank_app",
        "pending_review",
        None,
        "bank",
        bank.code,
    )

    # The same key and body: the first answer, the work not done twice.
    replay = api.exit_account(funded.account_no, idempotency_key="exit-0001")
    assert replay.status_code == 201
    assert replay.json() == body
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert Withdrawal.objects.filter(fund_account=funded).count() == 1

    # A new key: one exit is already waiting.
    second = api.exit_account(funded.account_no, idempotency_key="exit-0002")
    assert second.status_code == 409, second.text
    assert error_code(second) == "exit_pending"
    assert second.json()["error"]["reasons"] == ["exit_pending"]
    assert second.json()["error"]["message"] == "已有一笔退出申请在等待审核。"
    assert Withdrawal.objects.filter(fund_account=funded).count() == 1


def test_the_withdrawal_is_followed_to_its_payout(
    api: FundBankClient, funded: FundAccount, bank: Any
) -> None:
    filed = api.exit_account(funded.account_no, idempotency_key="exit-0001")
    assert filed.status_code == 201, filed.text
    withdrawal_id = filed.json()["withdrawal_id"]

    pending = api.get_withdrawal(withdrawal_id)
    assert pending.status_code == 200, pending.text
    body = pending.json()
    forfeited = body.pop("subsidy_forfeited")
    assert _MONEY.fullmatch(forfeited)
    assert body == {
        "withdrawal_id": withdrawal_id,
        "account_no": funded.account_no,
        "type": "exit",
        "status": "pending_review",
        "amount_requested": None,
        "amount_allowed": "3000.00",
        "amount_paid": None,
        "interest_paid": None,
        "reason": None,
        "paid_at": None,
    }

    withdrawal = Withdrawal.objects.get(withdrawal_no=withdrawal_id)
    withdrawal_approve(withdrawal=withdrawal, actor=_staff())
    assert api.get_withdrawal(withdrawal_id).json()["status"] == "approved"
    withdrawal_pay(withdrawal=withdrawal, actor=_staff())

    paid = api.get_withdrawal(withdrawal_id)
    assert paid.status_code == 200
    body = paid.json()
    assert (body["status"], body["amount_paid"], body["interest_paid"]) == (
        "paid",
        ESTIMATE,
        INTEREST,
    )
    assert body["reason"] is None
    assert body["subsidy_forfeited"] == forfeited
    # When it was paid, in Asia/Shanghai like every timestamp of the API.
    paid_at = dt.datetime.fromisoformat(body["paid_at"])
    assert paid_at.utcoffset() == dt.timedelta(hours=8)

    events = list(
        OutboxEvent.objects.filter(topic__startswith="withdrawal.").order_by("id")
    )
    assert [(e.topic, e.audience) for e in events] == [
        ("withdrawal.approved", bank.code),
        ("withdrawal.paid", bank.code),
    ]
    assert events[0].payload["status"] == "approved"
    assert events[0].payload["withdrawal_id"] == withdrawal_id
    # The webhook carries the body the API answers.
    assert events[1].payload == body
    closed = OutboxEvent.objects.get(topic="account.closed")
    assert (closed.audience, closed.payload["reason"]) == (bank.code, "exit")

    # The bank paid the card: the payout is on its statement, named by the
    # withdrawal's number (the deposits that funded it were posted on other
    # days of the business calendar but today by the clock, so they are too).
    today = timezone.localdate().isoformat()
    statement = api.statement(today).json()
    (item,) = [i for i in statement["items"] if i["kind"] == "withdrawal"]
    assert item == {
        "kind": "withdrawal",
        "bank_txn_id": withdrawal_id,
        "account_no": funded.account_no,
        "amount": ESTIMATE,
        "posted_at": item["posted_at"],
    }

    # Paid out and closed: nothing more to exit.
    again = api.exit_account(funded.account_no, idempotency_key="exit-0003")
    assert again.status_code == 409
    assert error_code(again) == "account_closed"


def test_a_rejection_shows_its_reason_and_a_new_exit_may_follow(
    api: FundBankClient, funded: FundAccount, bank: Any
) -> None:
    filed = api.exit_account(funded.account_no, idempotency_key="exit-0001")
    withdrawal_id = filed.json()["withdrawal_id"]
    withdrawal_reject(
        withdrawal=Withdrawal.objects.get(withdrawal_no=withdrawal_id),
        reason="evidence_insufficient",
        actor=_staff(),
    )
    body = api.get_withdrawal(withdrawal_id).json()
    # No note: the reason's label, in the language of the request.
    assert (body["status"], body["reason"]) == ("rejected", "证明材料不足")
    english = api.request(
        "GET",
        f"/api/v1/withdrawals/{withdrawal_id}/",
        extra_headers={"Accept-Language": "en"},
    )
    assert english.json()["reason"] == "Evidence insufficient"
    event = OutboxEvent.objects.get(topic="withdrawal.rejected")
    assert event.audience == bank.code
    assert event.payload["status"] == "rejected" and event.payload["reason"]

    again = api.exit_account(funded.account_no, idempotency_key="exit-0002")
    assert again.status_code == 201, again.text


def test_another_bank_gets_404_on_both_endpoints(
    api: FundBankClient, other_api: FundBankClient, funded: FundAccount
) -> None:
    refused = other_api.exit_account(funded.account_no, idempotency_key="exit-0001")
    assert refused.status_code == 404
    assert error_code(refused) == "account_not_found"
    assert not Withdrawal.objects.exists()

    withdrawal_id = api.exit_account(funded.account_no).json()["withdrawal_id"]
    theirs = other_api.get_withdrawal(withdrawal_id)
    unknown = other_api.get_withdrawal("W20260115999999")
    assert theirs.status_code == unknown.status_code == 404
    # The same body: the other bank cannot tell that the withdrawal exists.
    assert theirs.json() == unknown.json()
    assert error_code(theirs) == "not_found"
    assert theirs.json()["error"]["message"] == "本行没有该提取申请。"


def test_a_closed_account_cannot_exit(
    api: FundBankClient, fe_account: Any, business_day: Any
) -> None:
    account = fe_account(dt.date(2025, 7, 1))
    business_day(TODAY)
    # Nothing ever paid: closed by the idle-account cancellation.
    fund_account_transition(account=account, to="closed", reason="idle_cancel")
    response = api.exit_account(account.account_no)
    assert response.status_code == 409, response.text
    assert error_code(response) == "account_closed"
    assert response.json()["error"]["reasons"] == ["account_closed"]
    assert not Withdrawal.objects.exists()


def test_an_outstanding_loan_refuses_the_exit(
    api: FundBankClient, funded: FundAccount, owe_a_loan: Callable[[], None]
) -> None:
    owe_a_loan()
    response = api.exit_account(funded.account_no)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert (error["code"], error["reasons"]) == (
        "loan_outstanding",
        ["loan_outstanding"],
    )
    assert "fields" not in error
    assert not Withdrawal.objects.exists()


def test_every_refusal_is_listed_in_reasons(
    api: FundBankClient, funded: FundAccount, owe_a_loan: Callable[[], None]
) -> None:
    assert api.exit_account(funded.account_no).status_code == 201
    owe_a_loan()
    response = api.exit_account(funded.account_no)
    assert response.status_code == 409
    error = response.json()["error"]
    # The account's state leads; the loan is listed too.
    assert error["code"] == "exit_pending"
    assert error["reasons"] == ["exit_pending", "loan_outstanding"]


def test_the_exit_body_follows_the_body_rule(
    api: FundBankClient, funded: FundAccount
) -> None:
    path = f"/api/v1/accounts/{funded.account_no}/exit/"
    empty = api.request("POST", path, raw_body=b"", idempotency_key="exit-empty")
    assert empty.status_code == 400
    assert error_code(empty) == "bad_request"
    listed = api.request("POST", path, raw_body=b"[]", idempotency_key="exit-list")
    assert listed.status_code == 400
    assert error_code(listed) == "validation_error"
    no_key = api.request("POST", path, json_body={})
    assert error_code(no_key) == "idempotency_key_missing"
    assert not Withdrawal.objects.exists()
    # Fields the endpoint does not know are ignored.
    extra = api.post(path, {"note": "请尽快"}, idempotency_key="exit-extra")
    assert extra.status_code == 201, extra.text
    assert api.get(path).status_code == 405


def test_unknown_accounts_and_withdrawal_ids(api: FundBankClient) -> None:
    assert error_code(api.exit_account("999")) == "account_not_found"
    for withdrawal_id in ["W1", "x" * 300, "W%00", "W%E4%B8%80"]:
        response = api.get(f"/api/v1/withdrawals/{withdrawal_id}/")
        assert response.status_code == 404, withdrawal_id
        assert error_code(response) == "not_found"
    assert error_code(api.get("/api/v1/withdrawals/")) == "not_found"
