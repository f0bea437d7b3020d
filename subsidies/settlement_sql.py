"""Set-based SQL of the annual settlement (PostgreSQL only).

One statement settles one chunk of fund accounts: it computes every account's
interest and subsidy (the set-based twin of ``subsidies.selectors``), inserts
the new interest/subsidy transactions with ``ON CONFLICT DO NOTHING`` against
the unique (fund_account, kind, value_date) index, inserts BOTH legs of every
transaction that was really inserted in ONE INSERT (the ledger's statement
trigger checks balance per statement), and moves the cached balances by
exactly those amounts. A rerun therefore posts nothing twice.

ROUND(numeric, 2) rounds half away from zero, which is half up for the
positive amounts posted here (rules section 4).

Interest: the carried-over balance is the locked cached balance less every
entry dated after the period start, so only the period's entries are read.
"""

from accounts.ledger.sql import (
    ACCOUNT_TABLE,
    entries_insert,
    txn_insert_select,
)

CHUNK_LOCK_SQL = """
SELECT count(*) FROM (
    SELECT 1 FROM accounts_fundaccount
    WHERE id BETWEEN %(lo)s AND %(hi)s
    ORDER BY id FOR UPDATE
) locked
"""

LEDGER_RANGE_SQL = """
SELECT MIN(id), MAX(id) FROM accounts_ledgeraccount
WHERE fund_account_id BETWEEN %(lo)s AND %(hi)s
"""

# Parameters: lo, hi (fund account ids), la_lo, la_hi (their ledger accounts),
# p (previous 30 June), t (settlement date), rate_i, rate_s, basis, wait
# (months), years, vd_max (latest value date a tranche may have to be eligible
# by t, with slack for month-end clamping), int_la, sub_la (expense accounts),
# memo_i, memo_s.
CALC_CTES = """
acc AS (
    SELECT fa.id AS fa_id, la.id AS la_id, fa.balance, fa.status, fa.first_time,
           fa.subsidy_terminated_on AS term_on, st.stopped_on
    FROM accounts_fundaccount fa
    JOIN accounts_ledgeraccount la ON la.fund_account_id = fa.id
    LEFT JOIN subsidies_subsidyaccrualstop st ON st.fund_account_id = fa.id
    WHERE fa.id BETWEEN %(lo)s AND %(hi)s
      AND fa.opened_on <= %(t)s
      AND (fa.closed_on IS NULL OR fa.closed_on > %(p)s)
),
cut AS (
    -- An interest posting inside the period (exit, transfer out, closing
    -- withdrawal) already paid interest up to its value date.
    SELECT tx.fund_account_id AS fa_id, MAX(tx.value_date) AS s
    FROM accounts_ledgertransaction tx
    WHERE tx.kind = 'interest'
      AND tx.fund_account_id BETWEEN %(lo)s AND %(hi)s
      AND tx.value_date > %(p)s AND tx.value_date < %(t)s
    GROUP BY tx.fund_account_id
),
acc2 AS (
    SELECT acc.*, COALESCE(cut.s, %(p)s::date) AS s
    FROM acc LEFT JOIN cut USING (fa_id)
),
mov AS (
    SELECT a.fa_id,
           SUM(CASE WHEN e.side = 'C' THEN e.amount ELSE -e.amount END) AS after_s,
           SUM(CASE WHEN e.value_date <= %(t)s
                    THEN (CASE WHEN e.side = 'C' THEN e.amount ELSE -e.amount END)
                         * (%(t)s::date - e.value_date)
                    ELSE 0 END) AS product
    FROM acc2 a
    JOIN accounts_ledgerentry e
      ON e.ledger_account_id = a.la_id AND e.value_date > a.s
    WHERE e.ledger_account_id BETWEEN %(la_lo)s AND %(la_hi)s
      AND e.value_date > %(p)s
    GROUP BY a.fa_id
),
tr AS (
    SELECT a.fa_id, d.amount,
           (d.value_date + make_interval(months => %(wait)s))::date AS elig
    FROM acc2 a
    JOIN deposits_deposit d ON d.fund_account_id = a.fa_id
    WHERE d.fund_account_id BETWEEN %(lo)s AND %(hi)s
      AND d.value_date <= %(vd_max)s
      AND a.first_time AND a.status <> 'closed'
),
win AS (
    SELECT fa_id, MIN(elig) AS w_start,
           (MIN(elig) + make_interval(years => %(years)s))::date AS w_end
    FROM tr GROUP BY fa_id
),
sub AS (
    SELECT tr.fa_id,
           SUM(tr.amount * GREATEST(0,
               CASE WHEN tr.elig > %(t)s THEN 0
                    WHEN tr.elig <= %(p)s
                    THEN LEAST(LEAST(%(t)s::date, w.w_end, a.stopped_on) - %(p)s::date,
                               %(basis)s)
                    ELSE LEAST(%(t)s::date, w.w_end, a.stopped_on) - tr.elig
               END)) AS product
    FROM tr
    JOIN win w USING (fa_id)
    JOIN acc2 a USING (fa_id)
    WHERE a.term_on IS NULL OR a.term_on > %(t)s
    GROUP BY tr.fa_id
),
calc AS (
    SELECT a.fa_id, a.la_id,
           CASE WHEN a.status = 'closed' THEN 0
                ELSE ROUND(%(rate_i)s * (
                    (a.balance - COALESCE(m.after_s, 0))
                        * LEAST(%(t)s::date - a.s, %(basis)s)
                    + COALESCE(m.product, 0)) / %(basis)s, 2)
           END AS interest,
           COALESCE(ROUND(%(rate_s)s * sb.product / %(basis)s, 2), 0) AS subsidy
    FROM acc2 a
    LEFT JOIN mov m USING (fa_id)
    LEFT JOIN sub sb USING (fa_id)
)
"""

PREVIEW_SQL = (
    "WITH "
    + CALC_CTES
    + """
SELECT fa_id, interest, subsidy FROM calc ORDER BY fa_id
"""
)

# What the audit record of a chunk covers: the chunk's settlement postings,
# each as "txn id:account id:kind:amount", in id order. The posting
# statement computes it over the rows it wrote; ``verify_audit`` recomputes
# it over the rows that are in the ledger now.
_DIGEST = """
    count(*),
    COALESCE(min(id), 0),
    COALESCE(max(id), 0),
    encode(sha256(convert_to(COALESCE(string_agg(
        id || ':' || fa_id || ':' || kind || ':' || amount::text,
        chr(10) ORDER BY id), ''), 'UTF8')), 'hex')
"""
CHUNK_DIGEST_SQL = f"""
SELECT {_DIGEST} FROM (
    SELECT t.id, t.fund_account_id AS fa_id, t.kind, e.amount
    FROM accounts_ledgertransaction t
    JOIN accounts_ledgerentry e ON e.transaction_id = t.id AND e.side = 'C'
    WHERE t.purpose = 'settlement' AND t.value_date = %(t)s
      AND t.fund_account_id BETWEEN %(lo)s AND %(hi)s
) rows
"""

_TXN_INSERT = txn_insert_select(
    {
        "kind": "kind",
        "fund_account_id": "fa_id",
        "value_date": "%(t)s",
        "memo": "CASE kind WHEN 'interest' THEN %(memo_i)s ELSE %(memo_s)s END",
        "purpose": "'settlement'",
        "actor_ref": "'settle_year'",
    },
    "FROM post ORDER BY fa_id, kind",
    suffix="""ON CONFLICT (fund_account_id, kind, value_date)
        WHERE kind IN ('interest', 'subsidy')
        DO NOTHING
    RETURNING id, fund_account_id, kind""",
)
_LEGS_INSERT = entries_insert(
    """SELECT id, CASE kind WHEN 'interest' THEN %(int_la)s ELSE %(sub_la)s END,
           'D', amount, %(t)s
    FROM posted
    UNION ALL
    SELECT id, la_id, 'C', amount, %(t)s FROM posted""",
    returning="1",
)

POST_SQL = (
    "WITH "
    + CALC_CTES
    + f""",
post AS (
    SELECT fa_id, la_id, 'interest' AS kind, interest AS amount
    FROM calc WHERE interest > 0
    UNION ALL
    SELECT fa_id, la_id, 'subsidy', subsidy FROM calc WHERE subsidy > 0
),
txn AS (
    {_TXN_INSERT}
),
posted AS (
    SELECT x.id, x.fund_account_id AS fa_id, x.kind, p.la_id, p.amount
    FROM txn x JOIN post p ON p.fa_id = x.fund_account_id AND p.kind = x.kind
),
legs AS (
    -- Both legs of every new transaction in this ONE insert.
    {_LEGS_INSERT}
),
moved AS (
    SELECT fa_id, SUM(amount) AS amount FROM posted GROUP BY fa_id
),
upd AS (
    UPDATE {ACCOUNT_TABLE} fa
    SET balance = fa.balance + mv.amount
    FROM moved mv
    WHERE fa.id = mv.fa_id AND fa.id BETWEEN %(lo)s AND %(hi)s
    RETURNING 1
)
SELECT
    (SELECT count(*) FROM calc),
    (SELECT count(*) FROM posted WHERE kind = 'interest'),
    (SELECT COALESCE(SUM(amount), 0) FROM posted WHERE kind = 'interest'),
    (SELECT count(*) FROM posted WHERE kind = 'subsidy'),
    (SELECT COALESCE(SUM(amount), 0) FROM posted WHERE kind = 'subsidy'),
    (SELECT count(*) FROM legs),
    (SELECT count(*) FROM upd),
    digest.*
FROM (SELECT {_DIGEST} FROM posted) digest
"""
)

PLAN_CHUNKS_SQL = """
INSERT INTO subsidies_settlementchunk
    (run_id, seq, first_account_id, last_account_id, status, accounts,
     interest_total, subsidy_total, worker)
SELECT %(run)s, grp,
       CASE WHEN grp = 0 THEN 0 ELSE lo END,
       COALESCE(LEAD(lo) OVER (ORDER BY grp) - 1, 9223372036854775807),
       'pending', 0, 0, 0, ''
FROM (
    SELECT grp, MIN(id) AS lo FROM (
        SELECT id, (row_number() OVER (ORDER BY id) - 1) / %(size)s AS grp
        FROM accounts_fundaccount
        WHERE opened_on <= %(t)s AND (closed_on IS NULL OR closed_on > %(p)s)
    ) numbered GROUP BY grp
) firsts
"""
