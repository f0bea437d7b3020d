"""The audit log: every money movement and state change chained per stream;
a changed, removed or inserted record is found; the database refuses edits."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from accounts.models import FundAccount
from accounts.services import fund_account_transition
from core.audit import GENESIS, audit_problems, chain_hash
from core.models import AuditRecord

pytestmark = pytest.mark.django_db


def _history(fe_account, pay):
    account = fe_account(dt.date(2025, 3, 1))
    pay(account, dt.date(2025, 3, 10))
    pay(account, dt.date(2025, 4, 10))
    fund_account_transition(account=account, to="sealed", reason="staff")
    return account


def _stream(account: FundAccount) -> list[AuditRecord]:
    return list(
        AuditRecord.objects.filter(stream=f"account:{account.pk}").order_by("id")
    )


def test_an_account_s_writes_form_one_chain(fe_account, pay) -> None:
    account = _history(fe_account, pay)
    records = _stream(account)
    assert [r.action for r in records] == [
        "fundaccount.opened",
        "agreement.signed",
        "ledger.deposit",
        "ledger.deposit",
        "fundaccount.status",
    ]
    prev = GENESIS
    for record in records:
        assert record.prev_hash == prev
        assert record.hash == chain_hash(prev, record.body)
        prev = record.hash
    # The deposits came by the bank's fast path and its ORM twin alike.
    assert {r.actor_kind for r in records[2:4]} == {"bank"}
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "passed" in out.getvalue() or "通过" in out.getvalue()


def test_the_database_refuses_to_edit_or_delete_a_record(fe_account, pay) -> None:
    account = _history(fe_account, pay)
    record = _stream(account)[2]
    for sql in (
        "UPDATE core_auditrecord SET body = 'x' WHERE id = %s",
        "DELETE FROM core_auditrecord WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(sql, [record.pk])


def _without_trigger(sql: str, params: list) -> None:
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("ALTER TABLE core_auditrecord DISABLE TRIGGER USER")
        cur.execute(sql, params)
        cur.execute("ALTER TABLE core_auditrecord ENABLE TRIGGER USER")


@pytest.mark.breaks_invariants
@pytest.mark.parametrize("tamper", ["alter", "remove", "columns"])
def test_verify_audit_finds_tampering(tamper, fe_account, pay) -> None:
    account = _history(fe_account, pay)
    record = _stream(account)[2]
    if tamper == "alter":
        body = record.body.replace('"1000.00"', '"1.00"')
        assert body != record.body
        _without_trigger(
            "UPDATE core_auditrecord SET body = %s WHERE id = %s", [body, record.pk]
        )
        expected = "altered"
    elif tamper == "remove":
        _without_trigger("DELETE FROM core_auditrecord WHERE id = %s", [record.pk])
        expected = "chain broken"
    else:
        _without_trigger(
            "UPDATE core_auditrecord SET actor_ref = 'someone' WHERE id = %s",
            [record.pk],
        )
        expected = "columns differ"
    problems = audit_problems()
    assert len(problems) == 1 and expected in problems[0], problems
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_audit", stdout=out, stderr=out)
    assert exit_.value.code == 1


@pytest.mark.breaks_invariants
def test_a_changed_settlement_posting_breaks_its_chunk_digest(fe_account, pay) -> None:
    from core.clock import set_business_date
    from subsidies.services import settle_year

    account = fe_account(dt.date(2025, 3, 1))
    pay(account, dt.date(2025, 3, 10))
    set_business_date(dt.date(2025, 6, 30))
    settle_year(year=2025)
    assert audit_problems() == []
    chunk = AuditRecord.objects.get(action="settlement.chunk")
    assert '"count":1' in chunk.body
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("ALTER TABLE accounts_ledgerentry DISABLE TRIGGER USER")
        cur.execute(
            "UPDATE accounts_ledgerentry SET amount = amount + 1 WHERE transaction_id"
            " IN (SELECT id FROM accounts_ledgertransaction WHERE kind = 'interest')"
        )
        cur.execute("ALTER TABLE accounts_ledgerentry ENABLE TRIGGER USER")
    problems = audit_problems()
    assert any("settlement postings differ" in p or "结息" in p for p in problems)
