"""The arrears job's statement: one per chunk of account ids (PostgreSQL).

Rows that need no change are only read; the others are locked, and FOR
UPDATE re-evaluates the expressions on the newest row version, so a deposit
committed meanwhile is seen, never overwritten. All month arithmetic is
``deposits.rules``' SQL on month indexes. A new arrears that ends the
subsidy earlier than recorded writes its ``SubsidyEvent`` in the same
statement (``accounts.subsidy_state``), and the statement returns a digest
of those terminations for the chunk's audit record.
"""

from accounts.subsidy_state import termination_events_sql
from deposits.rules import arrears_count_sql, arrears_start_sql, month_index_sql

# The first unpaid month of the locked row ``fa`` under its latest agreement ``ag``.
_NEXT_IDX = (
    "CASE WHEN fa.paid_through IS NOT NULL THEN "
    + month_index_sql("fa.paid_through")
    + " + 1 ELSE "
    + month_index_sql("ag.first_month")
    + " END"
)
# Arrears as of the end of the month checked (decides sealing) and as of the
# latest month checked so far (the stored count).
_ARREARS_M = arrears_count_sql(_NEXT_IDX, "ag.cadence", "%(lim_m_m)s", "%(lim_m_q)s")
_ARREARS_E = arrears_count_sql(_NEXT_IDX, "ag.cadence", "%(lim_e_m)s", "%(lim_e_q)s")
_TERM_ON = arrears_start_sql(_NEXT_IDX, "ag.cadence")
_CANCEL = (
    "(fa.balance = 0 AND %(month_idx)s - "
    + month_index_sql("COALESCE(fa.last_deposit_on, fa.opened_on)")
    + " >= %(idle)s)"
)
_ENDS_EARLIER = (
    "(fa.subsidy_terminated_on IS NULL OR fa.subsidy_terminated_on > {term})"
)

CHUNK_SQL = f"""
WITH ag AS (
    SELECT DISTINCT ON (a.fund_account_id)
           a.fund_account_id, a.cadence, a.first_month
      FROM deposits_depositagreement a
     WHERE a.fund_account_id >= %(lo)s AND a.fund_account_id < %(hi)s
     ORDER BY a.fund_account_id, a.version DESC
), todo AS (
    SELECT fa.id, fa.status, fa.arrears_months AS old_arrears,
           {_ARREARS_E} AS new_arrears,
           {_ARREARS_M} AS arrears_m,
           {_TERM_ON} AS term_on,
           {_ARREARS_E} > 0 AND {_ENDS_EARLIER.format(term=_TERM_ON)} AS ends,
           {_CANCEL} AS cancel
      FROM accounts_fundaccount fa
      LEFT JOIN ag ON ag.fund_account_id = fa.id
     WHERE fa.id >= %(lo)s AND fa.id < %(hi)s AND fa.status IN ('open', 'sealed')
       AND (
            {_ARREARS_E} <> fa.arrears_months
         OR ({_ARREARS_E} > 0 AND {_ENDS_EARLIER.format(term=_TERM_ON)})
         OR {_CANCEL}
         OR (fa.status = 'open' AND {_ARREARS_M} >= %(seal)s)
       )
       FOR UPDATE OF fa
), upd AS (
    UPDATE accounts_fundaccount fa
       SET arrears_months = t.new_arrears,
           subsidy_terminated_on = CASE WHEN t.ends THEN t.term_on
                                        ELSE fa.subsidy_terminated_on END
      FROM todo t
     WHERE fa.id = t.id AND fa.id >= %(lo)s AND fa.id < %(hi)s
       AND (t.new_arrears <> t.old_arrears OR t.ends)
    RETURNING fa.id
), ev AS (
    {
    termination_events_sql(
        source="FROM todo WHERE ends",
        account="id",
        day="term_on",
        reason="%(reason)s",
        actor_ref="%(actor_ref)s",
    )
}
)
SELECT (SELECT count(*) FROM upd),
       count(*) FILTER (WHERE old_arrears = 0 AND new_arrears > 0),
       count(*) FILTER (WHERE new_arrears <> old_arrears),
       (SELECT count(*) FROM ev),
       COALESCE(array_agg(id ORDER BY id) FILTER (WHERE cancel), '{{}}'),
       COALESCE(array_agg(id ORDER BY id) FILTER (
           WHERE NOT cancel AND status = 'open' AND arrears_m >= %(seal)s), '{{}}'),
       encode(sha256(convert_to(COALESCE(string_agg(
           id || ':' || term_on, chr(10) ORDER BY id) FILTER (WHERE ends), ''),
           'UTF8')), 'hex')
  FROM todo
"""

COUNT_SQL = (
    "SELECT count(*) FROM accounts_fundaccount "
    "WHERE id >= %s AND id < %s AND status IN ('open', 'sealed')"
)
