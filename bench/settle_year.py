"""Benchmark: settle_year for N accounts with 2 Celery workers vs a plain-SQL baseline.

    cd /work/main && DATABASE_URL=postgres://postgres@127.0.0.1:5432/fund_c \
        CELERY_BROKER_URL=redis://127.0.0.1:6379/8 \
        .venv/bin/python bench/settle_year.py --accounts 1000000

Seeds N accounts with 12 monthly deposits (2025-07..2026-06) once into
<db>_seed (reused when it already holds N accounts; --reseed forces), copies
it to <db>_run for each measurement (CREATE DATABASE ... TEMPLATE), then:

1. baseline, timed: hand-written SQL computing every account's interest into
   a scratch table, inserting one entry per account (plus one balancing debit,
   so the ledger's balance trigger accepts the statement) and updating the
   balances, then ROLLBACK so the data stays as seeded;
2. VACUUM ANALYZE and CHECKPOINT (untimed) so the settlement does not pay for
   the baseline's dead rows;
3. settle_year --year 2026, timed end to end (process start to summary), with
   2 real Celery worker processes (concurrency 1 each, eager off) that were
   started before the clock.

It prints accounts per second, the ratio to the baseline, and checks that
the settlement's interest total equals the baseline's.
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
            # Deposits go in last: a complete seed has 12 per account.
            have = int(psql(seed_db, "SELECT count(*) FROM deposits_deposit", base))
        except (subprocess.CalledProcessError, ValueError):
            have = -1
        if have == 12 * n:
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
    psql(seed_db, "CHECKPOINT", base)
    print(f"seeded in {time.monotonic() - t0:.0f} s", flush=True)


def fresh_copy(seed_db: str, run_db: str, base: str) -> None:
    server = base.rsplit("/", 1)[0] + "/postgres"
    sh(["psql", server, "-qc", f'DROP DATABASE IF EXISTS "{run_db}"'])
    sh(["psql", server, "-qc", f'CREATE DATABASE "{run_db}" TEMPLATE "{seed_db}"'])
    psql(run_db, "VACUUM ANALYZE", base)
    psql(run_db, "CHECKPOINT", base)


BASELINE_SQL = f"""
BEGIN;
CREATE TEMP TABLE scratch ON COMMIT DROP AS
SELECT la.fund_account_id AS fa_id, la.id AS la_id,
       ROUND(0.015 * SUM(
           (CASE WHEN e.side = 'C' THEN e.amount ELSE -e.amount END)
           * CASE WHEN e.value_date <= DATE '{P}' THEN 360
                  ELSE DATE '{T}' - e.value_date END) / 360, 2) AS interest
FROM accounts_ledgerentry e
JOIN accounts_ledgeraccount la ON la.id = e.ledger_account_id
WHERE la.fund_account_id IS NOT NULL AND e.value_date <= DATE '{T}'
GROUP BY la.fund_account_id, la.id;
WITH txn AS (
    INSERT INTO accounts_ledgertransaction (kind, value_date, posted_at, memo)
    VALUES ('reserve', DATE '{T}', now(), 'baseline') RETURNING id
)
INSERT INTO accounts_ledgerentry
    (transaction_id, ledger_account_id, side, amount, value_date)
SELECT txn.id, s.la_id, 'C', s.interest, DATE '{T}'
FROM scratch s, txn WHERE s.interest > 0
UNION ALL
SELECT txn.id, (SELECT id FROM accounts_ledgeraccount WHERE code = '5201'), 'D',
       (SELECT SUM(interest) FROM scratch WHERE interest > 0), DATE '{T}'
FROM txn;
UPDATE accounts_fundaccount fa SET balance = fa.balance + s.interest
FROM scratch s WHERE fa.id = s.fa_id AND s.interest > 0;
SELECT count(*), SUM(interest) FROM scratch WHERE interest > 0;
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--db", default="fund_c_bench")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=10_000)
    ap.add_argument("--reseed", action="store_true")
    args = ap.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fund_c")
    if not os.environ.get("CELERY_BROKER_URL"):
        raise SystemExit("set CELERY_BROKER_URL (the workers need Redis)")
    seed_db, run_db = args.db + "_seed", args.db + "_run"
    n = args.accounts
    ensure_seed(seed_db, n, base, args.reseed)
    fresh_copy(seed_db, run_db, base)
    env = db_env(run_db, base)
    sh([PY, "manage.py", "business_date", T], env=env)

    base_s, base_line = run_baseline(run_db, base)
    base_count, base_total = base_line.split("|")
    print(
        f"baseline: {base_s:.1f} s for {int(base_count):,} accounts "
        f"(interest {base_total})",
        flush=True,
    )
    psql(run_db, "VACUUM ANALYZE", base)
    psql(run_db, "CHECKPOINT", base)

    logdir = ROOT / "var"
    logdir.mkdir(exist_ok=True)
    procs = start_workers(args.workers, env, logdir)
    try:
        t0 = time.monotonic()
        out = sh(
            [
                PY,
                "manage.py",
                "settle_year",
                "--year",
                "2026",
                "--workers",
                str(args.workers),
                "--chunk-size",
                str(args.chunk_size),
            ],
            env=env,
        )
        settle_s = time.monotonic() - t0
    finally:
        stop_workers(procs)
    print(out.strip().splitlines()[-1])
    row = psql(
        run_db,
        "SELECT accounts, interest_total, interest_count, subsidy_total, status, "
        "EXTRACT(EPOCH FROM finished_at - started_at) FROM subsidies_settlementrun",
        base,
    ).strip()
    accounts, interest, n_i, subsidy, status, inner = row.split("|")
    accounts_i = int(accounts)
    rate = accounts_i / settle_s
    print(
        f"settle_year: {settle_s:.1f} s end to end ({float(inner):.1f} s inside "
        f"the run), {accounts_i:,} accounts, {rate:,.0f} accounts/s, status "
        f"{status}"
    )
    print(
        f"ratio settle_year / baseline: {settle_s / base_s:.2f}x "
        f"(targets: >= 15,000 accounts/s and <= 4x)"
    )
    same = interest == base_total and int(n_i) == int(base_count)
    print(
        f"interest total {interest} over {n_i} postings; baseline "
        f"{base_total} over {base_count}: {'equal' if same else 'DIFFERENT'}"
    )
    print(f"subsidy total {subsidy}; load average {os.getloadavg()[0]:.2f}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
