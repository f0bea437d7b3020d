"""Benchmark: ``manage.py settle_year`` as operations run it, beside a raw-SQL baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fund_c \
        .venv/bin/python bench/settle_year.py --accounts 200000 --runs 3

Data (``bench/_settle_seed.py``): N accounts with 24 months of history
2024-07..2026-06, mixed (monthly and quarterly payers, lapsed and sealed
accounts whose subsidy ended, people who are not first-time participants,
cancelled zero-balance accounts). The seed is made once into <db>_seed and
includes the real 2025 settlement (``settle_year --year 2025``, untimed), so
the 2026 settlement starts from a posted carried-over balance and pays the
subsidy on a year of tranches. Each run measures on a fresh copy, <db>_run
(CREATE DATABASE ... TEMPLATE), then:

1. baseline, timed: hand-written SQL (psql, one transaction) computing every
   account's 2026 interest (one GROUP BY over the depositors' ledger
   entries) and subsidy (tranches from the deposits, the 5-year window,
   first-time and termination rules) into a scratch table, inserting one
   credit per account and kind plus one balancing debit per kind, updating
   the balances, then ROLLBACK so the data stays as seeded;
2. VACUUM ANALYZE and CHECKPOINT (untimed);
3. ``python manage.py settle_year --year 2026`` timed as a whole process,
   from its start to its exit. By default with no broker configured (the
   embedded default: the command settles in its own process, one database
   connection per worker thread); ``--celery`` instead starts 2 real Celery
   worker processes on Redis (CELERY_BROKER_URL) before the clock.

It prints the ratio settle_year / baseline for each run and checks that the
interest and subsidy totals and posting counts equal the baseline's.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
CELERY = str(ROOT / ".venv" / "bin" / "celery")
T, P = "2026-06-30", "2025-06-30"


def sh(cmd: list[str], env: dict[str, str] | None = None, **kw) -> str:
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, **kw)
    if out.returncode:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-3000:])
        raise subprocess.CalledProcessError(out.returncode, cmd[:3])
    return out.stdout


def psql(db: str, sql: str, base: str) -> str:
    return sh(["psql", base.rsplit("/", 1)[0] + "/" + db, "-Atqc", sql])


def db_env(db: str, base: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=base.rsplit("/", 1)[0] + "/" + db,
        DJANGO_SETTINGS_MODULE="config.settings.local",
        CELERY_TASK_ALWAYS_EAGER="false",
        FUND_ENV="development",
    )
    return env


def inline_env(env: dict[str, str]) -> dict[str, str]:
    """No broker configured: the embedded default, as operations run it."""
    env = dict(env)
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def ensure_seed(seed_db: str, n: int, base: str, reseed: bool) -> None:
    server = base.rsplit("/", 1)[0] + "/postgres"
    exists = sh(
        [
            "psql",
            server,
            "-Atqc",
            f"SELECT 1 FROM pg_database WHERE datname='{seed_db}'",
        ]
    ).strip()
    if exists and not reseed:
        try:
            # The 2025 settlement is the seed's last step.
            have = int(
                psql(
                    seed_db,
                    "SELECT accounts FROM subsidies_settlementrun "
                    "WHERE settlement_date = '2025-06-30' AND status = 'done'",
                    base,
                )
                or -1
            )
        except (subprocess.CalledProcessError, ValueError):
            have = -1
        if have == n:
            print(f"reusing {seed_db} ({n:,} accounts)")
            return
    sh(["psql", server, "-qc", f'DROP DATABASE IF EXISTS "{seed_db}"'])
    sh(["psql", server, "-qc", f'CREATE DATABASE "{seed_db}"'])
    env = db_env(seed_db, base)
    sh([PY, "manage.py", "migrate", "-v0"], env=env)
    print(f"seeding {n:,} accounts into {seed_db} ...", flush=True)
    t0 = time.monotonic()
    subprocess.run(
        [
            PY,
            "-c",
            f"import django; django.setup(); "
            f"from bench._settle_seed import seed; seed({n})",
        ],
        env=env,
        check=True,
        cwd=ROOT,
    )
    psql(seed_db, "VACUUM ANALYZE", base)
    no_broker = inline_env(env)
    sh([PY, "manage.py", "business_date", P], env=no_broker)
    out = sh([PY, "manage.py", "settle_year", "--year", "2025"], env=no_broker)
    print("  2025 settlement: " + out.strip().splitlines()[-1], flush=True)
    psql(seed_db, "VACUUM ANALYZE", base)
    psql(seed_db, "CHECKPOINT", base)
    print(f"seeded in {time.monotonic() - t0:.0f} s", flush=True)


def fresh_copy(seed_db: str, run_db: str, base: str) -> None:
    server = base.rsplit("/", 1)[0] + "/postgres"
    sh(["psql", server, "-qc", f'DROP DATABASE IF EXISTS "{run_db}"'])
    sh(["psql", server, "-qc", f'CREATE DATABASE "{run_db}" TEMPLATE "{seed_db}"'])
    psql(run_db, "VACUUM ANALYZE", base)
    psql(run_db, "CHECKPOINT", base)


# Rates and day basis as seeded by the policy migration (1.5 %, 1.2 %, 360;
# 12 months' wait, 5-year window). No account of the bench data has an
# accrual stop (conversion), so the baseline does not read that table.
_SIGNED = "CASE WHEN e.side = 'C' THEN e.amount ELSE -e.amount END"
BASELINE_SQL = f"""
BEGIN;
CREATE TEMP TABLE scratch ON COMMIT DROP AS
WITH interest AS (
    SELECT la.fund_account_id AS fa_id, la.id AS la_id,
           ROUND(0.015 * SUM(({_SIGNED})
               * CASE WHEN e.value_date <= DATE '{P}' THEN 360
                      ELSE DATE '{T}' - e.value_date END) / 360, 2) AS interest
    FROM accounts_ledgerentry e
    JOIN accounts_ledgeraccount la ON la.id = e.ledger_account_id
    WHERE la.fund_account_id IS NOT NULL AND e.value_date <= DATE '{T}'
    GROUP BY la.fund_account_id, la.id
),
tranche AS (
    SELECT d.fund_account_id AS fa_id, d.amount,
           (d.value_date + interval '12 months')::date AS elig
    FROM deposits_deposit d
    JOIN accounts_fundaccount fa ON fa.id = d.fund_account_id
    WHERE fa.first_time AND fa.status <> 'closed'
      AND (fa.subsidy_terminated_on IS NULL
           OR fa.subsidy_terminated_on > DATE '{T}')
),
window_ AS (
    SELECT fa_id, (MIN(elig) + interval '5 years')::date AS w_end
    FROM tranche GROUP BY fa_id
),
subsidy AS (
    SELECT t.fa_id, ROUND(0.012 * SUM(t.amount * GREATEST(0,
               CASE WHEN t.elig > DATE '{T}' THEN 0
                    WHEN t.elig <= DATE '{P}'
                    THEN LEAST(LEAST(DATE '{T}', w.w_end) - DATE '{P}', 360)
                    ELSE LEAST(DATE '{T}', w.w_end) - t.elig END)) / 360, 2)
               AS subsidy
    FROM tranche t JOIN window_ w USING (fa_id)
    GROUP BY t.fa_id
)
SELECT i.fa_id, i.la_id, GREATEST(i.interest, 0) AS interest,
       COALESCE(s.subsidy, 0) AS subsidy
FROM interest i LEFT JOIN subsidy s USING (fa_id);
WITH txn AS (
    INSERT INTO accounts_ledgertransaction
        (kind, value_date, posted_at, memo, actor_kind, actor_ref, purpose,
         external_ref)
    VALUES ('reserve', DATE '{T}', now(), 'baseline interest', 'system', '', '', ''),
           ('reserve', DATE '{T}', now(), 'baseline subsidy', 'system', '', '', '')
    RETURNING id, memo
),
ti AS (SELECT id FROM txn WHERE memo = 'baseline interest'),
ts AS (SELECT id FROM txn WHERE memo = 'baseline subsidy')
INSERT INTO accounts_ledgerentry
    (transaction_id, ledger_account_id, side, amount, value_date)
SELECT ti.id, s.la_id, 'C', s.interest, DATE '{T}'
FROM scratch s, ti WHERE s.interest > 0
UNION ALL
SELECT ti.id, (SELECT id FROM accounts_ledgeraccount WHERE code = '5201'), 'D',
       (SELECT SUM(interest) FROM scratch WHERE interest > 0), DATE '{T}'
FROM ti
UNION ALL
SELECT ts.id, s.la_id, 'C', s.subsidy, DATE '{T}'
FROM scratch s, ts WHERE s.subsidy > 0
UNION ALL
SELECT ts.id, (SELECT id FROM accounts_ledgeraccount WHERE code = '5202'), 'D',
       (SELECT SUM(subsidy) FROM scratch WHERE subsidy > 0), DATE '{T}'
FROM ts;
UPDATE accounts_fundaccount fa SET balance = fa.balance + s.interest + s.subsidy
FROM scratch s WHERE fa.id = s.fa_id AND s.interest + s.subsidy > 0;
SELECT count(*) FILTER (WHERE interest > 0), COALESCE(SUM(interest), 0),
       count(*) FILTER (WHERE subsidy > 0), COALESCE(SUM(subsidy), 0)
FROM scratch;
ROLLBACK;
"""


def run_baseline(run_db: str, base: str) -> tuple[float, str]:
    t0 = time.monotonic()
    out = psql(run_db, BASELINE_SQL, base)
    elapsed = time.monotonic() - t0
    line = [x for x in out.splitlines() if "|" in x][-1]
    return elapsed, line


def start_workers(n: int, env: dict[str, str], logdir: Path) -> list[subprocess.Popen]:
    sh([CELERY, "-A", "config.celery_app", "purge", "-f"], env=env)
    procs = []
    for k in range(n):
        log = open(logdir / f"bench_worker{k}.log", "w")
        procs.append(
            subprocess.Popen(
                [
                    CELERY,
                    "-A",
                    "config.celery_app",
                    "worker",
                    "--concurrency",
                    "1",
                    "--pool",
                    "prefork",
                    "-n",
                    f"bench{k}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "-l",
                    "info",
                ],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        logs = [(logdir / f"bench_worker{k}.log").read_text() for k in range(n)]
        if all("ready." in x for x in logs):
            return procs
        time.sleep(0.5)
    raise SystemExit("celery workers did not start; see " + str(logdir))


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def status_mix(run_db: str, base: str) -> str:
    rows = psql(
        run_db,
        "SELECT status, first_time, subsidy_terminated_on IS NOT NULL, count(*) "
        "FROM accounts_fundaccount GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        base,
    )
    parts = []
    for line in rows.split():
        status, first, ended, count = line.split("|")
        label = status + ("" if first == "t" else ",not-first")
        label += ",subsidy-ended" if ended == "t" else ""
        parts.append(f"{label} {int(count):,}")
    return "; ".join(parts)


def one_run(args: argparse.Namespace, seed_db: str, run_db: str, base: str) -> dict:
    fresh_copy(seed_db, run_db, base)
    env = db_env(run_db, base)
    sh([PY, "manage.py", "business_date", T], env=inline_env(env))
    load_before = os.getloadavg()[0]
    base_s, base_line = run_baseline(run_db, base)
    b_ni, b_si, b_ns, b_ss = base_line.split("|")
    print(
        f"baseline: {base_s:.1f} s; interest {b_si} over {int(b_ni):,}, "
        f"subsidy {b_ss} over {int(b_ns):,}",
        flush=True,
    )
    psql(run_db, "VACUUM ANALYZE", base)
    psql(run_db, "CHECKPOINT", base)
    command = [
        PY,
        "manage.py",
        "settle_year",
        "--year",
        "2026",
        "--workers",
        str(args.workers),
        "--chunk-size",
        str(args.chunk_size),
    ]
    procs: list[subprocess.Popen] = []
    if args.celery:
        if not os.environ.get("CELERY_BROKER_URL"):
            raise SystemExit("--celery needs CELERY_BROKER_URL (Redis)")
        logdir = ROOT / "var"
        logdir.mkdir(exist_ok=True)
        procs = start_workers(args.workers, env, logdir)
        run_env = env
    else:
        run_env = inline_env(env)
    try:
        t0 = time.monotonic()
        out = sh(command, env=run_env)
        settle_s = time.monotonic() - t0
    finally:
        stop_workers(procs)
    print("  " + out.strip().splitlines()[-1])
    row = psql(
        run_db,
        "SELECT accounts, interest_total, interest_count, subsidy_total, "
        "subsidy_count, status, EXTRACT(EPOCH FROM finished_at - started_at) "
        "FROM subsidies_settlementrun WHERE settlement_date = DATE '2026-06-30'",
        base,
    ).strip()
    accounts, s_si, s_ni, s_ss, s_ns, status, inner = row.split("|")
    same = (s_si, int(s_ni), s_ss, int(s_ns)) == (b_si, int(b_ni), b_ss, int(b_ns))
    ratio = settle_s / base_s
    print(
        f"settle_year: {settle_s:.1f} s as a process ({float(inner):.1f} s inside "
        f"the run), {int(accounts):,} accounts, {int(accounts) / settle_s:,.0f}/s, "
        f"status {status}; ratio to baseline {ratio:.2f}x; totals "
        f"{'equal' if same else 'DIFFERENT'} (interest {s_si} over {int(s_ni):,}, "
        f"subsidy {s_ss} over {int(s_ns):,}); load average before "
        f"{load_before:.2f}",
        flush=True,
    )
    return {"baseline": base_s, "settle": settle_s, "ratio": ratio, "same": same}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=200_000)
    ap.add_argument("--db", default="fund_c_bench")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--reseed", action="store_true")
    ap.add_argument(
        "--celery", action="store_true", help="2 real Celery workers on Redis"
    )
    args = ap.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fund_c")
    n = args.accounts
    seed_db = f"{args.db}_{n}_seed"
    run_db = f"{args.db}_run"
    ensure_seed(seed_db, n, base, args.reseed)
    fresh_copy(seed_db, run_db, base)
    print("accounts: " + status_mix(run_db, base), flush=True)
    results = []
    for k in range(args.runs):
        print(f"-- run {k + 1}/{args.runs}", flush=True)
        results.append(one_run(args, seed_db, run_db, base))
    ratios = [r["ratio"] for r in results]
    print(
        f"summary over {len(results)} run(s), {n:,} accounts, "
        f"{'celery' if args.celery else 'no broker'}: settle_year "
        f"{min(r['settle'] for r in results):.1f}-"
        f"{max(r['settle'] for r in results):.1f} s, baseline "
        f"{min(r['baseline'] for r in results):.1f}-"
        f"{max(r['baseline'] for r in results):.1f} s, ratio "
        f"{min(ratios):.2f}-{max(ratios):.2f}x (target <= 2.5x)"
    )
    if not all(r["same"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
