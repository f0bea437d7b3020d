"""The daily loan job (``loans_daily``): overdue instalments, penalty interest
per day, buckets, bad-credit flags, set-based like the arrears job.

For the day D (the business date or an earlier one):
- an instalment unpaid after its due day is overdue; its penalty grows by
  the overdue amount (principal and interest still unpaid) x the loan's rate
  x the penalty factor / 360 for each day from the day after the last one
  accrued (or its due day) through D. The day accrued through is kept on
  the row, so a rerun for D adds nothing;
- a loan's bucket follows its oldest overdue instalment's days: 1-30 M1,
  31-60 M2, 61-90 M3, over 90 NPL, none current;
- a borrower with 3 consecutive or 6 cumulative instalments ever overdue
  (parameters) gets a bad-credit flag, cleared only by staff with a reason.

One statement per step over all active loans; one audit record per run.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils.translation import gettext as _

from core.actors import Actor
from core.audit import audit_record
from core.clock import business_date
from core.exceptions import DomainError
from core.policy import policy_value
from loans.models import Loan

_OVERDUE_SQL = """
UPDATE loans_instalment i
   SET status = 'overdue',
       ever_overdue = true,
       penalty_accrued = i.penalty_accrued
           + (i.principal - i.paid_principal + i.interest - i.paid_interest)
             * l.rate * %(factor)s / 360
             * (%(day)s::date - COALESCE(i.penalty_through, i.due_date)),
       penalty_through = %(day)s
  FROM loans_loan l
 WHERE l.id = i.loan_id AND l.status = 'active'
   AND i.status <> 'paid' AND i.due_date < %(day)s
   AND COALESCE(i.penalty_through, i.due_date) < %(day)s
"""

_BUCKET_CASES = "\n".join(
    f"                 WHEN o.days <= {upto} THEN '{bucket}'"
    for upto, bucket in Loan.BUCKET_UPTO
)
_BUCKET_SQL = f"""
UPDATE loans_loan l
   SET bucket = x.bucket
  FROM (
      SELECT l2.id, CASE
                 WHEN o.days IS NULL THEN 'current'
{_BUCKET_CASES}
                 ELSE 'NPL' END AS bucket
        FROM loans_loan l2
        LEFT JOIN (
            SELECT loan_id, %(day)s::date - MIN(due_date) AS days
              FROM loans_instalment
             WHERE status <> 'paid' AND due_date < %(day)s
             GROUP BY loan_id
        ) o ON o.loan_id = l2.id
       WHERE l2.status = 'active'
  ) x
 WHERE l.id = x.id AND l.bucket <> x.bucket
"""

# Borrowers whose instalments ever overdue reach a limit and who have no open
# flag get one, in this statement (one flag a borrower, even with two loans);
# it returns what it flagged for the run's audit digest.
_CREDIT_SQL = """
WITH runs AS (
    SELECT loan_id, n - row_number() OVER (PARTITION BY loan_id ORDER BY n) AS g
      FROM loans_instalment WHERE ever_overdue
), groups AS (
    SELECT loan_id, count(*) AS c FROM runs GROUP BY loan_id, g
), per_loan AS (
    SELECT loan_id, max(c) AS consecutive, sum(c) AS cumulative
      FROM groups GROUP BY loan_id
), hit AS (
    SELECT DISTINCT ON (fa.depositor_id) fa.depositor_id, l.loan_no,
           p.consecutive, p.cumulative
      FROM per_loan p
      JOIN loans_loan l ON l.id = p.loan_id
      JOIN accounts_fundaccount fa ON fa.id = l.fund_account_id
     WHERE (p.consecutive >= %(consecutive)s OR p.cumulative >= %(cumulative)s)
       AND NOT EXISTS (SELECT 1 FROM accounts_creditflag f
                        WHERE f.depositor_id = fa.depositor_id
                          AND f.cleared_at IS NULL)
     ORDER BY fa.depositor_id, l.id
), ins AS (
    INSERT INTO accounts_creditflag (depositor_id, reason, set_at, set_by_id)
    SELECT depositor_id,
           replace(replace(replace(%(reason)s, '{loan}', loan_no),
                   '{consecutive}', consecutive::text),
                   '{cumulative}', cumulative::text),
           now(), NULL
      FROM hit ORDER BY depositor_id
    RETURNING id, depositor_id
)
SELECT count(*), encode(sha256(convert_to(COALESCE(string_agg(
           id || ':' || depositor_id, chr(10) ORDER BY id), ''), 'UTF8')), 'hex')
  FROM ins
"""


@dataclass
class DailySummary:
    day: dt.date
    overdue_updated: int = 0
    buckets_changed: int = 0
    flags_set: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "overdue_updated": self.overdue_updated,
            "buckets_changed": self.buckets_changed,
            "flags_set": self.flags_set,
        }


@transaction.atomic
def loans_daily(*, day: dt.date | None = None) -> DailySummary:
    today = business_date()
    day = day or today
    if day > today:
        raise DomainError(
            _("The loan job cannot run for %(day)s, after the business date.")
            % {"day": day.isoformat()},
            "day_in_future",
        )
    if connection.vendor != "postgresql":
        raise DomainError(_("The loan job needs PostgreSQL."), "postgresql_only")
    summary = DailySummary(day)
    params = {
        "day": day,
        "factor": policy_value("loan_penalty_factor", day),
        "consecutive": policy_value("bad_credit_consecutive_overdue", day),
        "cumulative": policy_value("bad_credit_cumulative_overdue", day),
    }
    actor = Actor.system("loans_daily")
    with connection.cursor() as cur:
        # One job at a time: a second run waits, then finds nothing to add.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('loans_daily'))")
        cur.execute(_OVERDUE_SQL, params)
        summary.overdue_updated = cur.rowcount
        cur.execute(_BUCKET_SQL, params)
        summary.buckets_changed = cur.rowcount
        cur.execute(
            _CREDIT_SQL,
            {
                **params,
                # One message for every flag; the statement fills it in.
                "reason": _(
                    "Loan {loan}: {consecutive} consecutive, {cumulative} "
                    "cumulative overdue instalments."
                ),
            },
        )
        summary.flags_set, flags_digest = cur.fetchone()
    audit_record(
        stream="loans_daily",
        action="loans.daily",
        actor=actor,
        data={**summary.as_dict(), "flags_digest": flags_digest},
    )
    return summary
