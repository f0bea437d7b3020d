"""Benchmark: ``manage.py loans_daily`` over N active loans, beside a raw-SQL
pass over the same rows, and schedule generation per second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fund_c \\
        .venv/bin/python bench/loans_daily.py --seed-db fund_c_bench_1000000_seed

Data: a copy of the settlement bench's seed (1,000,000 accounts), migrated,
then N loans (default 200,000) added in SQL for the first N monthly payers:
36 monthly instalments from 2024-07-15 of 1,000.00 principal each at 2.10 %,
every instalment due by 2026-07-15 paid, except that one loan in 20 has its
last two unpaid and one in 200 its last three (so the job marks
overdue instalments, accrues penalties, moves buckets and sets bad-credit
flags). The business date is 2026-07-16. Then, on the same copy:

1. baseline, timed: one transaction of hand-written SQL touching the same
   rows the job reads and writes (every unpaid instalment past due
   rewritten in place, every active loan's bucket recomputed from its
   instalments), rolled back;
2. ``python manage.py loans_daily`` timed as a whole process;
3. the same day again (idempotent: nothing changes), timed as a process;
4. ``loans.schedule.schedule`` of a 360-month loan, --schedules times in
   one process: schedules per second.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = str(ROOT / ".venv" / "bin" / "python")
DAY = "2026-07-16"


def _url(db: str) -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + db


def _psql(db: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", _url(db), "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


SEED_SQL = """
INSERT INTO loans_loan
    (loan_no, fund_account_id, bank_id, kind, home, price, high_quality, children,
     talent, monthly_income, term_months, method, principal, "limit", components,
     rate, details, status, applied_on, contract_no, disbursed_on,
     disbursement_txn_id, outstanding_principal, bucket, created_at, actor_kind,
     actor_ref)
SELECT 'B' || fa.id, fa.id, fa.bank_id, 'hpf', 'first', 1000000, false, 0, false,
       20000, 36, 'equal_principal', 36000, 40000, '{}', 0.021, '{}', 'active',
       DATE '2024-06-01', 'HT' || fa.id, DATE '2024-06-15', 'BD' || fa.id,
       36000 - 1000 * (CASE WHEN mod(fa.id, 200) = 5 THEN 22
                            WHEN mod(fa.id, 20) = 5 THEN 23 ELSE 25 END),
       'current', now(), 'system', 'bench'
  FROM (SELECT id, bank_id FROM accounts_fundaccount
         WHERE mod(id, 20) IN (5, 6, 7, 9, 10, 13, 14, 15, 17, 18, 19)
         ORDER BY id LIMIT %(n)s) fa;
INSERT INTO loans_instalment
    (loan_id, n, due_date, principal, interest, paid_principal, paid_interest,
     paid_penalty, penalty_accrued, status, ever_overdue)
SELECT l.id, k, (DATE '2024-06-15' + make_interval(months => k))::date, 1000,
       round((36000 - 1000 * (k - 1)) * 0.021 / 12, 2),
       CASE WHEN paid THEN 1000 ELSE 0 END,
       CASE WHEN paid THEN round((36000 - 1000 * (k - 1)) * 0.021 / 12, 2) ELSE 0 END,
       0, 0, CASE WHEN paid THEN 'paid' ELSE 'due' END, false
  FROM loans_loan l
 CROSS JOIN generate_series(1, 36) k
 CROSS JOIN LATERAL (
     SELECT k <= CASE WHEN mod(l.fund_account_id, 200) = 5 THEN 22
                      WHEN mod(l.fund_account_id, 20) = 5 THEN 23 ELSE 25 END
            AS paid
 ) p;
"""

BASELINE_SQL = f"""
BEGIN;
UPDATE loans_instalment i
   SET penalty_accrued = i.penalty_accrued
         + (i.principal - i.paid_principal + i.interest - i.paid_interest)
           * l.rate * 1.5 / 360, penalty_through = DATE '{DAY}'
  FROM loans_loan l
 WHERE l.id = i.loan_id AND l.status = 'active'
   AND i.status <> 'paid' AND i.due_date < DATE '{DAY}';
UPDATE loans_loan l SET bucket = x.b
  FROM (SELECT l2.id, CASE WHEN o.d IS NULL THEN 'current' ELSE 'M1' END AS b
          FROM loans_loan l2
          LEFT JOIN (SELECT loan_id, DATE '{DAY}' - MIN(due_date) AS d
                       FROM loans_instalment
                      WHERE status <> 'paid' AND due_date < DATE '{DAY}'
                      GROUP BY loan_id) o ON o.loan_id = l2.id
         WHERE l2.status = 'active') x
 WHERE l.id = x.id;
ROLLBACK;
"""


def schedules_per_second(count: int) -> float:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    from decimal import Decimal

    from loans.schedule import EQUAL_INSTALMENT, schedule

    started = time.perf_counter()
    for i in range(count):
        schedule(
            principal=Decimal(500000 + i),
            annual_rate=Decimal("0.026"),
            months=360,
            method=EQUAL_INSTALMENT,
        )
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed-db", default="fund_c_bench_1000000_seed")
    parser.add_argument("--run-db", default="fund_l_bench_run")
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--schedules", type=int, default=2000)
    args = parser.parse_args()
    _psql("postgres", f'DROP DATABASE IF EXISTS "{args.run_db}"')
    _psql("postgres", f'CREATE DATABASE "{args.run_db}" TEMPLATE "{args.seed_db}"')
    env = dict(
        os.environ,
        DATABASE_URL=_url(args.run_db),
        DJANGO_SETTINGS_MODULE="config.settings.local",
        FUND_ENV="development",
    )
    env.pop("CELERY_BROKER_URL", None)
    subprocess.run([PY, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    t0 = time.monotonic()
    _psql(args.run_db, SEED_SQL.replace("%(n)s", str(args.loans)))
    _psql(args.run_db, "VACUUM ANALYZE")
    _psql(args.run_db, "CHECKPOINT")
    loans = int(_psql(args.run_db, "SELECT count(*) FROM loans_loan"))
    rows = int(_psql(args.run_db, "SELECT count(*) FROM loans_instalment"))
    print(
        f"data: {loans:,} active loans, {rows:,} instalments "
        f"(seeded in {time.monotonic() - t0:.0f} s); load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    subprocess.run(
        [PY, "manage.py", "business_date", DAY],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    t0 = time.monotonic()
    _psql(args.run_db, BASELINE_SQL)
    base = time.monotonic() - t0
    _psql(args.run_db, "CHECKPOINT")
    for label in ("loans_daily", "same day again"):
        t0 = time.monotonic()
        out = subprocess.run(
            [PY, "manage.py", "loans_daily"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        took = time.monotonic() - t0
        print(
            f"{label}: {took:.2f} s as a process = {loans / took:,.0f} loans/s; "
            f"x{took / base:.2f} the baseline ({base:.2f} s); "
            f"{out.stdout.strip()}",
            flush=True,
        )
    flags = _psql(args.run_db, "SELECT count(*) FROM accounts_creditflag")
    buckets = _psql(
        args.run_db,
        "SELECT string_agg(bucket || ' ' || c, ', ') FROM "
        "(SELECT bucket, count(*) c FROM loans_loan GROUP BY 1 ORDER BY 1) b",
    )
    print(f"buckets: {buckets}; credit flags: {flags}")
    rate = schedules_per_second(args.schedules)
    print(f"schedule of 360 instalments: {rate:,.0f} schedules/s")


if __name__ == "__main__":
    main()
