"""banks.api.fast against the DRF view it short-cuts: same answer, same rows.

Every case but the ordinary one must fall back with nothing written, and
the request must be counted once for throttling either way.
"""

import json
from typing import Any

import pytest
from django.core.cache import cache
from hypothesis import given, settings
from hypothesis import strategies as st

import banks.api.views.deposits as deposit_views
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
    monkeypatch.setattr(deposit_views, "deposit_fast", lambda request: None)
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
    # Every answer, a validation error too, is the key's stored first
    # response (validation runs inside the claimed work).
    record = IdempotencyKey.objects.get(key="fp-err")
    assert (record.state, record.response_status) == ("done", status)
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


@pytest.mark.django_db(transaction=True)
def test_racing_deposits_with_one_bank_txn_id_post_once(
    live_server: Any, business_day: Any
) -> None:
    """Two accounts, two keys, one bank transaction id, at the same instant:
    the unique index decides inside the fast path's transaction; the loser
    rolls back, falls back to the view and answers duplicate_bank_txn."""
    import threading

    from django.db import connection

    from accounts.services import bank_partner_create
    from tests.banks.conftest import TODAY, account_fields

    business_day(TODAY)
    partner, secret = bank_partner_create(code="RACE2", name="竞争银行二")
    clients = [
        FundBankClient(live_server.url, key_id=partner.key_id, secret=secret)
        for _ in range(2)
    ]
    numbers = []
    for n in (81, 82):
        opened = clients[0].open_account(**account_fields(n))
        assert opened.status_code == 201, opened.text
        numbers.append(opened.json()["account_no"])
    for c in clients:
        assert c.industries().status_code == 200
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = clients[i].post_deposit(
                idempotency_key=f"race2-{i}",
                **deposit_fields(numbers[i], bank_txn_id="RACE2-TXN"),
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert error_code(loser) == "duplicate_bank_txn"
    assert Deposit.objects.filter(bank_txn_id="RACE2-TXN").count() == 1
    assert ledger_problems() == []
    for c in clients:
        c.close()


_BASE = {
    "account_no": "3706000000017",
    "amount": "800.00",
    "first_month": "2026-01",
    "months": 1,
    "bank_txn_id": "TX-1",
    "paid_at": "2026-01-15T10:00:00+08:00",
}
_ODD_VALUES = [
    "",
    "37060000000170000",
    3706,
    None,
    "800",
    "0.00",
    "-1.00",
    800,
    "1e3",
    "2026-13",
    "2026-1",
    "202601",
    0,
    13,
    "1",
    True,
    1.0,
    12,
    "a" * 65,
    "含中文",
    "2026-01-15T10:00:00",
    "x",
    [],
    {},
    "2026-02",
    "1600.00",
]
_MISSING = object()


@given(
    st.dictionaries(
        st.sampled_from(sorted(_BASE)),
        st.one_of(st.sampled_from(_ODD_VALUES), st.text(max_size=8), st.just(_MISSING)),
        max_size=3,
    ),
    st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_the_fast_validator_agrees_with_the_serializer(
    changes: dict, extra_field: bool
) -> None:
    """Valid payloads with up to three fields changed, removed or mistyped."""
    from banks.api.fast import _validated
    from banks.api.serializers import DepositInputSerializer

    payload = dict(_BASE)
    for name, value in changes.items():
        if value is _MISSING:
            payload.pop(name)
        else:
            payload[name] = value
    if extra_field:
        payload["note"] = "ignored by both"
    serializer = DepositInputSerializer(data=payload)
    fast = _validated(payload)
    if serializer.is_valid():
        assert fast == dict(serializer.validated_data)
    else:
        assert fast is None


@pytest.mark.parametrize("path", ["/api/v1/deposits/", "/api/v1/accounts/"])
def test_a_body_too_deep_for_the_parser_is_a_400(
    api: FundBankClient, path: str
) -> None:
    # json raises RecursionError here, which DRF's parser did not catch (500).
    deep = b"[" * 100_000 + b"]" * 100_000
    response = api.request("POST", path, raw_body=deep, idempotency_key="deep")
    assert response.status_code == 400
    assert error_code(response) == "bad_request"
    assert Deposit.objects.count() == 0
