"""Ledger invariants in PostgreSQL (SQLite, the embedded demo, relies on Python).

Balance: an AFTER INSERT ... FOR EACH STATEMENT trigger over the transition
table refuses any statement whose entries do not balance per transaction.
Every statement balancing implies every transaction balances. A deferred
per-row constraint trigger would work too, but runs one query per entry, which
a million-account settlement cannot afford.
Append-only: UPDATE and DELETE of entries and transactions are refused.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT transaction_id,
           SUM(CASE WHEN side = 'C' THEN amount ELSE -amount END) AS diff
      INTO bad
      FROM ledger_new_entries
     GROUP BY transaction_id
    HAVING SUM(CASE WHEN side = 'C' THEN amount ELSE -amount END) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (credits - debits = %)',
            bad.transaction_id, bad.diff
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ledger_entry_balanced
AFTER INSERT ON accounts_ledgerentry
REFERENCING NEW TABLE AS ledger_new_entries
FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_balanced();

CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only (% on %): post a reversal instead',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER ledger_entry_append_only
BEFORE UPDATE OR DELETE ON accounts_ledgerentry
FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE TRIGGER ledger_transaction_append_only
BEFORE UPDATE OR DELETE ON accounts_ledgertransaction
FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS ledger_transaction_append_only ON accounts_ledgertransaction;
DROP TRIGGER IF EXISTS ledger_entry_append_only ON accounts_ledgerentry;
DROP TRIGGER IF EXISTS ledger_entry_balanced ON accounts_ledgerentry;
DROP FUNCTION IF EXISTS ledger_append_only();
DROP FUNCTION IF EXISTS ledger_check_balanced();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # No params: the plpgsql bodies use % for RAISE placeholders.
        with schema_editor.connection.cursor() as cur:
            cur.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
