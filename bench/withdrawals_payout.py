"""Benchmark: withdrawal payouts through the service, beside deposits, at scale.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fund_c \\
        .venv/bin/python bench/withdrawals_payout.py --seed-db fund_c_bench_1000000_seed

Data: a copy (CREATE DATABASE ... TEMPLATE) of the settlement bench's seed
(``bench/settle_year.py --accounts 1000000``: 1,000,000 accounts with 24
months of history and the 2025 settlement posted). The business date is
pinned to 2026-07-15. In one process, untimed first: rent withdrawals of
1,000.00 are filed and approved (``withdrawal_submit``,
``withdrawal_approve``) for --n accounts that pay monthly.

Then, timed, in alternating blocks of --block operations so both see the
same machine:
- baseline: ``deposit_post`` of the next unpaid month for other accounts
  of the same kind (the service the counter and the bank API call);
- payouts: ``withdrawal_pay`` of the approved applications (locks, the
  four-leg ledger posting through payout clearing, the subsidy's end with
  its event, the status change, the audit records, the bank's webhook).

Prints operations per second and p50 / p99 per operation for both, and the
ratio payout / deposit per operation (target: at most 2).
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


def _url(db: str) -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + db


def _psql(db: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", _url(db), "-Atqc", sql], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def measure(n: int, block: int) -> None:
    import datetime as dt
    from decimal import Decimal

    import django

    django.setup()
    from django.contrib.auth.models import User

    from accounts.models import FundAccount
    from core.actors import Actor
    from core.clock import set_business_date
    from deposits.selectors import current_agreement, next_unpaid_month
    from deposits.services import deposit_post
    from withdrawals.services import (
        withdrawal_approve,
        withdrawal_pay,
        withdrawal_submit,
    )

    day = dt.date(2026, 7, 15)
    set_business_date(day)
    clerk = User.objects.create_user("bench-clerk", is_staff=True)
    reviewer = User.objects.create_user("bench-reviewer", is_staff=True)
    finance = User.objects.create_user("bench-finance", is_staff=True)
    # Monthly payers of the bench data (``bench/_settle_seed.profile``).
    ids = list(
        FundAccount.objects.filter(status="open", first_time=True)
        .extra(where=["mod(id, 20) IN (5, 6, 7, 9, 10, 13, 14, 15, 17, 18, 19)"])
        .order_by("id")
        .values_list("id", flat=True)[: 2 * n]
    )
    pay_ids, dep_ids = ids[0::2], ids[1::2]
    t0 = time.perf_counter()
    approved = []
    for fa_id in pay_ids:
        account = FundAccount.objects.get(pk=fa_id)
        w = withdrawal_submit(
            account=account,
            type="rent",
            amount=Decimal("1000.00"),
            declarations={"rent_paid": "1000.00", "no_home_owned": True},
            actor=Actor.staff(clerk),
        )
        approved.append(withdrawal_approve(withdrawal=w, actor=Actor.staff(reviewer)))
    print(
        f"prepared {len(approved)} approved applications in "
        f"{time.perf_counter() - t0:.1f} s (untimed)",
        flush=True,
    )
    paid_at = dt.datetime(2026, 7, 15, 10, 0, tzinfo=dt.UTC)
    dep_times: list[float] = []
    pay_times: list[float] = []
    dep_wall = pay_wall = 0.0
    for start in range(0, n, block):
        started = time.perf_counter()
        for fa_id in dep_ids[start : start + block]:
            t = time.perf_counter()
            account = FundAccount.objects.get(pk=fa_id)
            deposit_post(
                account=account,
                amount=current_agreement(account).monthly_amount,
                first_month=next_unpaid_month(account),
                months=1,
                paid_at=paid_at,
                bank=account.bank,
                bank_txn_id=f"BENCH-{fa_id}",
                channel="bank_app",
            )
            dep_times.append(time.perf_counter() - t)
        dep_wall += time.perf_counter() - started
        started = time.perf_counter()
        for w in approved[start : start + block]:
            t = time.perf_counter()
            withdrawal_pay(withdrawal=w, actor=Actor.staff(finance))
            pay_times.append(time.perf_counter() - t)
        pay_wall += time.perf_counter() - started
    for label, times, wall in (
        ("deposits (baseline)", dep_times, dep_wall),
        ("payouts", pay_times, pay_wall),
    ):
        print(
            f"{label:20s} {len(times):6d} in {wall:6.2f} s = "
            f"{len(times) / wall:7.1f}/s;"
            f" p50 {_percentile(times, 50) * 1000:6.2f} ms,"
            f" p99 {_percentile(times, 99) * 1000:6.2f} ms"
        )
    ratio = (pay_wall / len(pay_times)) / (dep_wall / len(dep_times))
    print(f"payout / deposit per operation: {ratio:.2f}x (target <= 2)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed-db", default="fund_c_bench_1000000_seed")
    parser.add_argument("--run-db", default="fund_w_bench_run")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--block", type=int, default=250)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.n, args.block)
        return
    _psql("postgres", f'DROP DATABASE IF EXISTS "{args.run_db}"')
    _psql("postgres", f'CREATE DATABASE "{args.run_db}" TEMPLATE "{args.seed_db}"')
    _psql(args.run_db, "VACUUM ANALYZE")
    _psql(args.run_db, "CHECKPOINT")
    accounts = _psql(args.run_db, "SELECT count(*) FROM accounts_fundaccount")
    print(
        f"data: {int(accounts):,} accounts ({args.seed_db}); load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    env = dict(
        os.environ,
        DATABASE_URL=_url(args.run_db),
        DJANGO_SETTINGS_MODULE="config.settings.local",
        FUND_ENV="development",
    )
    env.pop("CELERY_BROKER_URL", None)
    # The seed may predate later migrations (withdrawals): bring the copy up.
    subprocess.run([PY, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run(
        [PY, __file__, "--measure", "--n", str(args.n), "--block", str(args.block)],
        env=env,
        cwd=ROOT,
        check=True,
    )
    problems = subprocess.run(
        [PY, "manage.py", "verify_ledger"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    print("verify_ledger: " + ("clean" if problems.returncode == 0 else "PROBLEMS"))


if __name__ == "__main__":
    main()
