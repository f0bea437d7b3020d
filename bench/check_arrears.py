"""Benchmark: check_arrears over N accounts on PostgreSQL, with baselines.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fund_a \
        REDIS_URL=redis://127.0.0.1:6379/3 CELERY_BROKER_URL=redis://127.0.0.1:6379/4 \
        .venv/bin/python bench/check_arrears.py --accounts 1000000

Data: ``seed_demo`` (N accounts, up to --months of history ending at the
pinned business date --today), seeded once into <db>_seed and reused while it
holds N accounts (--reseed forces a fresh one); every measurement runs on a
copy, <db>_run (CREATE DATABASE ... TEMPLATE), so runs are repeatable.

Measured in one process, one after the other, on the same copy:
1. baseline A: ``SELECT count(*)`` over the open and sealed accounts;
2. baseline B: ``UPDATE accounts_fundaccount SET arrears_months =
   arrears_months`` over the same accounts (every row rewritten), rolled
   back, then VACUUM ANALYZE (untimed);
3. re-check of the last month the seeder already checked (nothing should
   change: the seeder simulates the same semantics; any change is printed,
   and so is any seeded subsidy termination without its SubsidyEvent);
4. the real monthly job: the business date moves to the 1st of the next
   month and ``python manage.py check_arrears --month`` runs for the month
   just ended (arrears grow, accounts are sealed and cancelled, committed
   chunk by chunk), timed as a whole process from its start to its exit;
   the job's own time (its summary line) is printed beside it, the figure
   earlier runs of this bench reported;
5. the same month again (idempotent: nothing changes).

--fillfactor N rewrites accounts_fundaccount with that fillfactor first, to
measure how much HOT updates (no index entries for an arrears_months change)
would help; the project's schema does not set it (accounts owns the table).

Prints accounts per second for 3 and 4 and their ratio to both baselines.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = str(ROOT / ".venv" / "bin" / "python")


def _url(db: str) -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + db


def _psql(db: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", _url(db), "-Atqc", sql], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _manage(db: str, *args: str) -> None:
    env = dict(
        os.environ,
        DATABASE_URL=_url(db),
        DJANGO_SETTINGS_MODULE="config.settings.local",
        FUND_ENV="development",
    )
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _seed(seed_db: str, args: argparse.Namespace) -> None:
    exists = _psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{seed_db}'")
    if exists and not args.reseed:
        try:
            have = int(_psql(seed_db, "SELECT count(*) FROM accounts_fundaccount"))
        except subprocess.CalledProcessError:
            have = -1
        if have >= args.accounts:
            print(f"seed: reusing {seed_db} ({have} accounts)")
            return
    _psql("postgres", f'DROP DATABASE IF EXISTS "{seed_db}"')
    _psql("postgres", f'CREATE DATABASE "{seed_db}"')
    _manage(seed_db, "migrate", "-v0")
    _manage(seed_db, "business_date", args.today)
    started = time.monotonic()
    # seed_demo is the project's generator (ops); --months of history.
    _manage(
        seed_db,
        "seed_demo",
        f"--accounts={args.accounts}",
        f"--months={args.months}",
        f"--seed={args.seed}",
        "-v0",
    )
    print(f"seed: {args.accounts} accounts in {time.monotonic() - started:.0f} s")


def _copy(seed_db: str, run_db: str) -> None:
    _psql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname IN ('{seed_db}', '{run_db}') AND pid <> pg_backend_pid()",
    )
    _psql("postgres", f'DROP DATABASE IF EXISTS "{run_db}"')
    _psql("postgres", f'CREATE DATABASE "{run_db}" TEMPLATE "{seed_db}"')


def _terminations_without_event() -> int:
    """Accounts whose subsidy_terminated_on no SubsidyEvent explains (untimed)."""
    from django.db import connection

    from accounts.models import SubsidyEvent

    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT count(*) FROM accounts_fundaccount fa
            WHERE fa.subsidy_terminated_on IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM {SubsidyEvent._meta.db_table} e
                WHERE e.fund_account_id = fa.id AND e.kind = 'terminated'
                  AND e.occurred_on = fa.subsidy_terminated_on)
            """
        )
        return cur.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--today", default="2027-12-15", help="seed business date")
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument(
        "--fillfactor",
        type=int,
        default=0,
        help="experiment: rewrite accounts_fundaccount with this fillfactor "
        "first (room for HOT updates of arrears_months)",
    )
    args = parser.parse_args()

    base = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    seed_db, run_db = f"{base}_seed", f"{base}_run"
    _seed(seed_db, args)
    _copy(seed_db, run_db)
    if args.fillfactor:
        _psql(
            run_db,
            f"ALTER TABLE accounts_fundaccount SET (fillfactor = {args.fillfactor})",
        )
        _psql(run_db, "VACUUM FULL accounts_fundaccount")
        print(f"experiment: accounts_fundaccount fillfactor {args.fillfactor}")
    _psql(run_db, "VACUUM ANALYZE")

    os.environ["DATABASE_URL"] = _url(run_db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["FUND_ENV"] = "development"
    import django

    django.setup()
    from django.db import connection, transaction

    from core.clock import add_months, business_date, month_start, set_business_date
    from deposits.services import check_arrears

    today = business_date()
    this_month = month_start(today)
    last_checked = add_months(this_month, -1)
    live = "status IN ('open', 'sealed')"
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM accounts_fundaccount WHERE {live}")
        (n_live,) = cur.fetchone()
        cur.execute("SELECT count(*) FROM deposits_deposit")
        (n_deposits,) = cur.fetchone()
    print(
        f"data: {n_live} open/sealed accounts, {n_deposits} deposits, "
        f"business date {today}; machine: {os.cpu_count()} cores, shared"
    )

    def timed(fn):  # noqa: ANN001, ANN202
        started = time.perf_counter()
        result = fn()
        return result, time.perf_counter() - started

    def count_live():  # noqa: ANN202
        with connection.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM accounts_fundaccount WHERE {live}")
            return cur.fetchone()[0]

    _n, t_count = timed(count_live)

    def touch_all():  # noqa: ANN202
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "UPDATE accounts_fundaccount SET arrears_months = arrears_months "
                f"WHERE {live}"
            )
            transaction.set_rollback(True)

    _n, t_touch = timed(touch_all)
    connection.close()
    _psql(run_db, "VACUUM ANALYZE accounts_fundaccount")
    print(
        f"baseline A  SELECT count(*):            {t_count:7.3f} s "
        f"({n_live / t_count:,.0f} accounts/s)"
    )
    print(
        f"baseline B  UPDATE every row (no-op):   {t_touch:7.3f} s "
        f"({n_live / t_touch:,.0f} accounts/s)"
    )

    def report(label: str, summary, seconds: float) -> None:  # noqa: ANN001
        rate = summary.checked / seconds if seconds else 0
        print(
            f"{label}: {summary.checked} checked in {seconds:.3f} s = "
            f"{rate:,.0f} accounts/s; x{seconds / t_count:.1f} baseline A, "
            f"x{seconds / t_touch:.2f} baseline B"
        )
        print(
            f"    newly in arrears {summary.newly_in_arrears}, arrears updated "
            f"{summary.arrears_updated}, subsidies terminated "
            f"{summary.subsidy_terminated}, sealed {summary.sealed}, "
            f"cancelled {summary.cancelled}"
        )

    recheck, t_recheck = timed(
        lambda: check_arrears(month=last_checked, chunk_size=args.chunk_size)
    )
    report(f"re-check {last_checked:%Y-%m} (seeded)", recheck, t_recheck)
    changed = (
        recheck.arrears_updated
        + recheck.subsidy_terminated
        + recheck.sealed
        + recheck.cancelled
    )
    print(
        "    consistency with seed_demo: "
        + ("OK, nothing changed" if changed == 0 else f"{changed} CHANGES")
    )
    unrecorded = _terminations_without_event()
    print(
        "    subsidy terminations: "
        + ("each has its event" if unrecorded == 0 else f"{unrecorded} WITHOUT EVENT")
    )

    set_business_date(add_months(this_month, 1))
    connection.close()
    started = time.perf_counter()
    out = subprocess.run(
        [
            PY,
            "manage.py",
            "check_arrears",
            "--month",
            f"{this_month:%Y-%m}",
            "--chunk-size",
            str(args.chunk_size),
        ],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    t_process = time.perf_counter() - started
    summary_line = out.stdout.strip().splitlines()[-1]
    # "(8.0 s)", or "（用时 8.0 秒）" in the Chinese catalogue.
    inner = float(re.findall(r"([0-9]+\.[0-9]+) *(?:s|秒)", summary_line)[-1])
    checked = int(
        _psql(run_db, f"SELECT count(*) FROM accounts_fundaccount WHERE {live}")
    )
    print(f"monthly job {this_month:%Y-%m} (manage.py check_arrears): {summary_line}")
    print(
        f"    whole process {t_process:.3f} s; the job itself {inner:.1f} s = "
        f"{n_live / inner:,.0f} accounts/s ({n_live / t_process:,.0f}/s as a "
        f"process); x{inner / t_touch:.2f} baseline B; {checked} open/sealed after"
    )
    again, t_again = timed(
        lambda: check_arrears(month=this_month, chunk_size=args.chunk_size)
    )
    report(f"same month again {this_month:%Y-%m}", again, t_again)
    connection.close()
    print(f"(business date left at {add_months(this_month, 1)} in {run_db})")


if __name__ == "__main__":
    main()
