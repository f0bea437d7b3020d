"""banks.api.fast against the DRF view it short-cuts: same answer, same rows.

Every case but the ordinary one must fall back with nothing written, and
the request must be counted once for throttling either way.
"""

import json
from typing import Any

import pytest
from django.core.cache import cache

import banks.api.views as views
from accounts.models import FundAccount, LedgerEntry
from accounts.selectors import ledger_problems
from banks.models import ApiRequestLog, IdempotencyKey
from clients.fund_bank_client import FundBankClient
from deposits.models import Deposit
from tests.banks.conftest import deposit_fields, error_code

pytestmark = pytest.mark.django_db


def _rows(key: str, txn: str) -> dict[str, Any]:
    deposit = Deposit.objects.get(bank_txn_id=txn)
    record = IdempotencyKey.objects.get(key=key)
    log = ApiRequestLog.objects.get(idempotency_key=key)
    account = FundAccount.objects.get(pk=deposit.fund_account_id)
    entries = sorted(
        (e.side, e.amount, e.value_date, e.ledger_account.code.split("-")[0])
        for e in LedgerEntry.objects.filter(
            transaction_id=deposit.ledger_transaction_id
        ).select_related("ledger_account")
    )
    body = json.loads(record.response_body)
    body.pop("deposit_id")
    body.pop("account_no")
    return {
        "deposit": (
            deposit.amount,
            deposit.first_month,
            deposit.last_month,
            deposit.months,
            deposit.kind,
            deposit.value_date,
            deposit.paid_at,
            deposit.channel,
            deposit.bank_id,
            deposit.agreement.version,
        ),
        "txn": (
            deposit.ledger_transaction.kind,
            deposit.ledger_transaction.bank_id,
            deposit.ledger_transaction.value_date,
            deposit.ledger_transaction.memo,
        ),
        "entries": entries,
        "account": (
            account.balance,
            account.paid_through,
            account.last_deposit_on,
            account.arrears_months,
            account.status,
        ),
        "key": (record.state, record.response_status, record.method, record.path),
        "stored": body,
        "log": (
            log.bank_id,
            log.method,
            log.path,
            log.status,
            log.error_code,
            log.replayed,
            log.body_excerpt,
        ),
    }


def test_the_fast_path_answers_and_writes_what_the_view_does(
    api: FundBankClient, open_via_api: Any, monkeypatch: Any
) -> None:
    fast_no, view_no = open_via_api(api), open_via_api(api)
    fast = api.post_deposit(
        idempotency_key="fp-1", **deposit_fields(fast_no, bank_txn_id="FP-1")
    )
    monkeypatch.setattr(views, "deposit_fast", lambda request: None)
    view = api.post_deposit(
        idempotency_key="fp-2", **deposit_fields(view_no, bank_txn_id="FP-2")
    )
    assert fast.status_code == view.status_code == 201
    for name in ("Content-Type", "Vary", "Allow", "X-Content-Type-Options"):
        assert fast.headers.get(name) == view.headers.get(name), name
    fast_body, view_body = fast.json(), view.json()
    assert fast_body["account_no"] == fast_no and view_body["account_no"] == view_no
    assert fast_body.pop("deposit_id") != view_body.pop("deposit_id")
    fast_body.pop("account_no"), view_body.pop("account_no")
    assert (
        fast_body
        == view_body
        == {
            "amount": "800.00",
            "months_covered": ["2026-01"],
            "balance": "800.00",
            "status": "open",
        }
    )
    assert _rows("fp-1", "FP-1") == _rows("fp-2", "FP-2")
    # The stored response is the one sent.
    stored = IdempotencyKey.objects.get(key="fp-1").response_body
    assert json.loads(stored) == fast.json()
    assert ledger_problems() == []


def test_a_replay_falls_back_and_replays(api: FundBankClient, open_via_api: Any):
    no = open_via_api(api)
    fields = deposit_fields(no, bank_txn_id="FP-3")
    first = api.post_deposit(idempotency_key="fp-3", **fields)
    again = api.post_deposit(idempotency_key="fp-3", **fields)
    assert first.content == again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Deposit.objects.filter(bank_txn_id="FP-3").count() == 1
    assert IdempotencyKey.objects.filter(key="fp-3").count() == 1
    assert ApiRequestLog.objects.filter(idempotency_key="fp-3").count() == 2


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"months": 13}, 400, "validation_error"),
        ({"amount": "900.00"}, 400, "invalid_amount"),
        ({"first_month": "2026-03"}, 400, "month_gap"),
        ({"account_no": "3706999999999"}, 404, "account_not_found"),
    ],
)
def test_other_cases_fall_back_with_nothing_left_behind(
    api: FundBankClient, open_via_api: Any, bank: Any, change, status, code
) -> None:
    no = open_via_api(api)
    response = api.post_deposit(
        idempotency_key="fp-err", **deposit_fields(no, **change)
    )
    assert response.status_code == status
    assert error_code(response) == code
    assert Deposit.objects.count() == 0
    # Business errors are stored for replay by the view; validation errors
    # do not burn the key (as before the fast path existed).
    burnt = IdempotencyKey.objects.filter(key="fp-err").count()
    assert burnt == (0 if code == "validation_error" else 1)
    assert ApiRequestLog.objects.filter(idempotency_key="fp-err").count() == 1


def test_a_fallback_counts_the_request_once(
    api: FundBankClient, open_via_api: Any, bank: Any
) -> None:
    from banks.services import bank_partner_update

    bank_partner_update(
        partner=bank, name=bank.name, webhook_url="", throttle_per_minute=3
    )
    no = open_via_api(api)  # 1
    statuses = [
        api.post_deposit(  # 2, 3: a 404 each, through the fallback
            idempotency_key=f"fp-t{i}", **deposit_fields("3706999999999")
        ).status_code
        for i in range(2)
    ]
    assert statuses == [404, 404]
    throttled = api.post_deposit(idempotency_key="fp-t9", **deposit_fields(no))  # 4
    assert throttled.status_code == 429
    assert Deposit.objects.count() == 0
    cache.clear()


def test_a_sealed_account_takes_the_view_path(
    api: FundBankClient, open_via_api: Any
) -> None:
    from accounts.services import fund_account_transition

    no = open_via_api(api)
    account = FundAccount.objects.get(account_no=no)
    fund_account_transition(
        account=account, to=FundAccount.Status.SEALED, reason="arrears"
    )
    response = api.post_deposit(
        idempotency_key="fp-s", **deposit_fields(no, bank_txn_id="FP-S")
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "open"
    assert IdempotencyKey.objects.get(key="fp-s").state == "done"
    assert ledger_problems() == []
