"""Round trips of the signed deposit POST and the one-statement relaxed commits."""

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from banks import services
from banks.models import ApiRequestLog, IdempotencyKey
from clients.fund_bank_client import FundBankClient
from core.db import relaxed_commit_from
from tests.banks.conftest import deposit_fields


@pytest.mark.django_db
def test_deposit_post_statements(api: FundBankClient, open_via_api: Any) -> None:
    no = open_via_api(api)
    with CaptureQueriesContext(connection) as queries:
        response = api.post_deposit(
            idempotency_key="rt-1", **deposit_fields(no, bank_txn_id="RT-1")
        )
    assert response.status_code == 201, response.text
    # The ordinary case (banks.api.fast): the key is claimed in the locking
    # read; the response and the log row are stored in the write; the bank
    # comes from the process cache. Two statements in one transaction.
    # (In a test the transaction is a savepoint of the test's own.)
    statements = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"] != "BEGIN" and "SAVEPOINT" not in q["sql"]
    ]
    assert len(statements) == 2, statements
    assert "claim AS" in statements[0] and "FOR UPDATE OF fa" in statements[0]
    assert "logged AS" in statements[1]
    record = IdempotencyKey.objects.get(key="rt-1")
    assert record.state == "done" and record.response_status == 201
    assert record.response_body.startswith('{"deposit_id": ')
    log = ApiRequestLog.objects.get(idempotency_key="rt-1")
    assert (log.status, log.method, log.path) == (201, "POST", "/api/v1/deposits/")


@pytest.mark.django_db
def test_other_banks_account_is_404(
    api: FundBankClient, open_via_api: Any, other_bank: Any
) -> None:
    from tests.banks.conftest import client_for, error_code

    no = open_via_api(api)
    response = client_for(other_bank).post_deposit(
        idempotency_key="rt-2", **deposit_fields(no)
    )
    assert response.status_code == 404
    assert error_code(response) == "account_not_found"
    assert response.json()["error"]["message"] == "本行没有该账户。"


def test_relaxed_statement_is_a_no_op_inside_a_transaction(db: Any) -> None:
    with transaction.atomic():
        assert relaxed_commit_from() == "(SELECT 1) AS relaxed_commit"


@pytest.mark.django_db(transaction=True)
def test_relaxed_statement_does_not_leak_into_the_session(bank: Any) -> None:
    claim = services.idempotency_claim(
        bank=bank, key="leak", method="POST", path="/x", body_sha256="0" * 64
    )
    assert claim.claimed
    services.api_request_log_create(
        bank=bank,
        method="POST",
        path="/x",
        status=201,
        latency_ms=1,
        idempotency_key="leak",
        completes=services.IdempotencyCompletion(
            record_id=claim.record_id, status=201, body={"ok": True}
        ),
    )
    with connection.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == "on"
    record = IdempotencyKey.objects.get(pk=claim.record_id)
    assert (record.state, record.response_body) == ("done", '{"ok": true}')
    assert ApiRequestLog.objects.filter(idempotency_key="leak").count() == 1
