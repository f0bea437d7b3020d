"""Idempotency-Key: replay, 422 on another body, races, retention."""

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from banks.models import IdempotencyKey
from banks.tasks import purge_idempotency_keys
from clients.fund_bank_client import FundBankClient
from deposits.models import Deposit
from tests.banks.conftest import account_fields, deposit_fields, error_code


@pytest.mark.django_db
def test_replay_returns_first_response(api: FundBankClient, open_via_api: Any) -> None:
    no = open_via_api(api)
    fields = deposit_fields(no, bank_txn_id="IDEM-1")
    first = api.post_deposit(idempotency_key="key-1", **fields)
    second = api.post_deposit(idempotency_key="key-1", **fields)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Deposit.objects.filter(bank_txn_id="IDEM-1").count() == 1


@pytest.mark.django_db
def test_reused_key_with_other_body_is_422(
    api: FundBankClient, open_via_api: Any
) -> None:
    no = open_via_api(api)
    api.post_deposit(idempotency_key="key-2", **deposit_fields(no, bank_txn_id="B1"))
    response = api.post_deposit(
        idempotency_key="key-2", **deposit_fields(no, bank_txn_id="B2")
    )
    assert response.status_code == 422
    assert error_code(response) == "idempotency_key_reused"
    assert (
        response.json()["error"]["message"]
        == "该 Idempotency-Key 已用于另一个不同的请求体。"
    )
    assert Deposit.objects.count() == 1


@pytest.mark.django_db
def test_same_body_bytes_matter(api: FundBankClient, open_via_api: Any) -> None:
    """Bound to the raw body: the same JSON with other spacing is another body."""
    no = open_via_api(api)
    fields = deposit_fields(no, bank_txn_id="B3")
    api.post_deposit(idempotency_key="key-3", **fields)
    import json

    spaced = json.dumps(fields, indent=2).encode()
    response = api.request(
        "POST", "/api/v1/deposits/", raw_body=spaced, idempotency_key="key-3"
    )
    assert response.status_code == 422


@pytest.mark.django_db
def test_error_responses_are_replayed_too(
    api: FundBankClient, open_via_api: Any
) -> None:
    no = open_via_api(api)
    api.post_deposit(**deposit_fields(no, bank_txn_id="C1"))
    conflict = deposit_fields(no, bank_txn_id="C2")  # 2026-01 already paid
    first = api.post_deposit(idempotency_key="key-4", **conflict)
    second = api.post_deposit(idempotency_key="key-4", **conflict)
    assert first.status_code == second.status_code == 409
    assert first.content == second.content
    assert error_code(second) == "period_already_paid"


@pytest.mark.django_db
def test_a_validation_error_is_the_keys_first_response(
    api: FundBankClient, open_via_api: Any
) -> None:
    """Validation runs inside the claimed work: its 400 is stored and
    replayed like any answer, and the key is then bound to that body."""
    no = open_via_api(api)
    fields = deposit_fields(no, amount=800)
    bad = api.post_deposit(idempotency_key="key-5", **fields)
    assert bad.status_code == 400
    again = api.post_deposit(idempotency_key="key-5", **fields)
    assert (again.status_code, again.content) == (400, bad.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    fixed = api.post_deposit(idempotency_key="key-5", **deposit_fields(no))
    assert fixed.status_code == 422
    assert error_code(fixed) == "idempotency_key_reused"
    assert api.post_deposit(idempotency_key="key-6", **deposit_fields(no)).is_success
    assert Deposit.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", [None, "", "has space", "x" * 65, "a/b", "k.1"])
def test_missing_or_invalid_key_is_400(
    api: FundBankClient, open_via_api: Any, key: str | None
) -> None:
    no = open_via_api(api)
    extra = {} if key is None else {"Idempotency-Key": key}
    import json

    body = json.dumps(deposit_fields(no)).encode()
    response = api.request(
        "POST", "/api/v1/deposits/", raw_body=body, extra_headers=extra
    )
    assert response.status_code == 400
    expected = "idempotency_key_missing" if not key else "idempotency_key_invalid"
    assert error_code(response) == expected
    assert not Deposit.objects.exists()


@pytest.mark.django_db
def test_keys_are_per_bank(api: FundBankClient, other_api: FundBankClient) -> None:
    mine = api.open_account(idempotency_key="shared", **account_fields(60))
    theirs = other_api.open_account(idempotency_key="shared", **account_fields(61))
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["account_no"] != theirs.json()["account_no"]


@pytest.mark.django_db
def test_open_account_replay(api: FundBankClient) -> None:
    fields = account_fields(62)
    first = api.open_account(idempotency_key="open-62", **fields)
    second = api.open_account(idempotency_key="open-62", **fields)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()


@pytest.mark.django_db
def test_purge_keeps_30_days(api: FundBankClient, bank: Any, open_via_api: Any) -> None:
    open_via_api(api)
    old = IdempotencyKey.objects.get()
    IdempotencyKey.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(days=31)
    )
    open_via_api(api)
    assert purge_idempotency_keys.delay().get() == 1
    assert IdempotencyKey.objects.count() == 1
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_identical_requests_make_one_deposit(
    live_server: Any, business_day: Any
) -> None:
    from accounts.services import bank_partner_create
    from tests.banks.conftest import TODAY

    business_day(TODAY)
    partner, secret = bank_partner_create(code="RACE", name="竞争银行")
    clients = [
        FundBankClient(live_server.url, key_id=partner.key_id, secret=secret)
        for _ in range(50)
    ]
    opened = clients[0].open_account(**account_fields(70))
    assert opened.status_code == 201, opened.text
    fields = deposit_fields(opened.json()["account_no"], bank_txn_id="RACE-1")
    # One keep-alive connection each before the race, so the live server's
    # small listen backlog does not reset simultaneous connects.
    for c in clients:
        assert c.industries().status_code == 200
    barrier = threading.Barrier(50)
    results: list[Any] = [None] * 50

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = clients[i].post_deposit(idempotency_key="race-key", **fields)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = [r.status_code for r in results]
    assert statuses == [201] * 50, statuses
    assert len({r.content for r in results}) == 1
    replayed = sum(r.headers.get("Idempotent-Replayed") == "true" for r in results)
    assert replayed == 49
    assert Deposit.objects.filter(bank_txn_id="RACE-1").count() == 1
    from accounts.selectors import ledger_problems

    assert ledger_problems() == []
    for c in clients:
        c.close()
