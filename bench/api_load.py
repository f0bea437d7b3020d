"""Load benchmark: signed deposits against gunicorn on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fund_b \
        REDIS_URL=redis://127.0.0.1:6379/5 CELERY_BROKER_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/api_load.py

A fresh database <db>_apibench is created and migrated; one bank and
--accounts accounts are seeded through the services; gunicorn (--workers
processes, gthread) serves on 127.0.0.1. In one run, one after the other:
1. baseline: a trivial signed GET (/api/v1/industries/), closed loop,
   --concurrency connections, --seconds;
2. deposits: signed POST /api/v1/deposits/ (each with its Idempotency-Key),
   closed loop, same concurrency and duration; every connection owns its
   accounts so each account's months are posted in order;
3. paced: deposits at --paced-rps for --paced-seconds (open loop; latency
   counted from the scheduled send time, so queueing is not hidden);
4. checks: every 201 is exactly one Deposit row (no loss, no double),
   distinct bank_txn_ids, total amount, and the ledger invariants
   (verify_ledger's checks).
Prints requests/s, p50/p99 latency and the deposits/GET ratio.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._api_client import Connection, Result, percentile  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _url(db: str) -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + db


def _env(db: str) -> dict[str, str]:
    return dict(
        os.environ,
        DATABASE_URL=_url(db),
        DJANGO_SETTINGS_MODULE="config.settings.local",
        FUND_ENV="development",
        DJANGO_DEBUG="false",
        LOG_LEVEL="ERROR",
        PYTHONPATH=str(ROOT),
    )


def _fresh_db(db: str) -> None:
    subprocess.run(
        ["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", db], check=True
    )
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db], check=True)
    subprocess.run(
        [PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=_env(db), check=True
    )


def _month_plus(first: dt.date, n: int) -> str:
    y, m = divmod(first.month - 1 + n, 12)
    return f"{first.year + y:04d}-{m + 1:02d}"


class Stats:
    def __init__(self) -> None:
        self.results: list[Result] = []

    def summary(self, seconds: float) -> dict[str, Any]:
        lat = [r.latency * 1000 for r in self.results]
        statuses: dict[int, int] = {}
        for r in self.results:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        return {
            "requests": len(self.results),
            "rps": len(self.results) / seconds if seconds else 0.0,
            "p50_ms": percentile(lat, 50),
            "p90_ms": percentile(lat, 90),
            "p99_ms": percentile(lat, 99),
            "max_ms": max(lat) if lat else float("nan"),
            "statuses": statuses,
        }


class DepositFeed:
    """Per-connection accounts, each with its next month."""

    def __init__(self, accounts: list[str], start: dt.date, worker: int) -> None:
        self.accounts = accounts
        self.start = start
        self.worker = worker
        self.next_month = dict.fromkeys(accounts, 0)
        self.i = 0
        self.seq = 0

    def next(self) -> tuple[dict[str, Any], str]:
        no = self.accounts[self.i % len(self.accounts)]
        self.i += 1
        month = self.next_month[no]
        self.next_month[no] = month + 1
        self.seq += 1
        txn = f"W{self.worker}-{self.seq}"
        payload = {
            "account_no": no,
            "amount": "800.00",
            "first_month": _month_plus(self.start, month),
            "months": 1,
            "bank_txn_id": txn,
            "paid_at": dt.datetime.now(SHANGHAI).isoformat(timespec="seconds"),
        }
        return payload, txn


async def closed_loop(
    conns: list[Connection], seconds: float, make: Any, stats: Stats
) -> float:
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()

    async def run(i: int) -> None:
        while time.perf_counter() < deadline:
            method, path, payload, idem = make(i)
            stats.results.append(await conns[i].request(method, path, payload, idem))

    await asyncio.gather(*(run(i) for i in range(len(conns))))
    return time.perf_counter() - started


async def paced(
    conns: list[Connection], rate: float, seconds: float, make: Any, stats: Stats
) -> float:
    total = int(rate * seconds)
    started = time.perf_counter()
    counter = iter(range(total))

    async def run(i: int) -> None:
        for n in counter:
            at = started + n / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            method, path, payload, idem = make(i)
            result = await conns[i].request(method, path, payload, idem)
            # From the scheduled time: a late start counts as latency.
            result.latency = time.perf_counter() - at
            stats.results.append(result)

    await asyncio.gather(*(run(i) for i in range(len(conns))))
    return time.perf_counter() - started


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_by_group(pgid: int) -> tuple[float, float]:
    """CPU seconds so far of the server's process group and of PostgreSQL.

    Requests per second swing with what else the virtual machine's host is
    doing; CPU spent per request on our side is what the code costs."""
    app = db = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / _TICK
        if int(fields[2]) == pgid:
            app += used
        elif comm == "postgres":
            db += used
    return app, db


def _steal() -> float:
    """Jiffies the hypervisor gave to other guests (the 'steal' column)."""
    with open("/proc/stat") as f:
        return float(f.readline().split()[8])


class CpuMeter:
    def __init__(self, pgid: int) -> None:
        self.pgid = pgid

    def __enter__(self) -> "CpuMeter":
        self.app0, self.db0 = _cpu_by_group(self.pgid)
        self.steal0, self.wall0 = _steal(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        app, db = _cpu_by_group(self.pgid)
        self.app, self.db = app - self.app0, db - self.db0
        wall = time.perf_counter() - self.wall0
        self.steal_pct = 100 * (_steal() - self.steal0) / _TICK / (wall * 2)

    def line(self, requests: int) -> str:
        n = max(requests, 1)
        return (
            f"{'':<28} server CPU per request: app {1000 * self.app / n:.2f} ms, "
            f"PostgreSQL {1000 * self.db / n:.2f} ms; steal {self.steal_pct:.0f}%"
        )


def _fmt(name: str, s: dict[str, Any]) -> str:
    return (
        f"{name:<28} {s['requests']:>7} req  {s['rps']:>8.1f} req/s  "
        f"p50 {s['p50_ms']:>6.1f}  p90 {s['p90_ms']:>6.1f}  p99 {s['p99_ms']:>6.1f}  "
        f"max {s['max_ms']:>6.1f} ms  {s['statuses']}"
    )


async def measure(
    args: argparse.Namespace, seed: dict[str, Any], pgid: int
) -> dict[str, Any]:
    conc = args.concurrency
    conns = [
        Connection("127.0.0.1", args.port, seed["key_id"], seed["secret"])
        for _ in range(conc)
    ]
    start = dt.date.fromisoformat(seed["start_month"])
    accounts = seed["accounts"]
    feeds = [DepositFeed(accounts[i::conc], start, i) for i in range(conc)]

    def get(i: int) -> tuple[str, str, None, None]:
        return "GET", "/api/v1/industries/", None, None

    def deposit(i: int) -> tuple[str, str, dict[str, Any], str]:
        payload, txn = feeds[i].next()
        return "POST", "/api/v1/deposits/", payload, txn

    warm = Stats()
    await closed_loop(conns, 2.0, get, warm)
    out: dict[str, Any] = {}
    stats = Stats()
    with CpuMeter(pgid) as cpu:
        took = await closed_loop(conns, args.seconds, get, stats)
    out["get"] = stats.summary(took)
    print(_fmt("trivial signed GET", out["get"]), flush=True)
    print(cpu.line(out["get"]["requests"]), flush=True)
    stats = Stats()
    with CpuMeter(pgid) as cpu:
        took = await closed_loop(conns, args.seconds, deposit, stats)
    out["deposit"] = stats.summary(took)
    out["deposit_results"] = stats.results
    print(_fmt("deposits (max)", out["deposit"]), flush=True)
    print(cpu.line(out["deposit"]["requests"]), flush=True)
    stats = Stats()
    with CpuMeter(pgid) as cpu:
        took = await paced(conns, args.paced_rps, args.paced_seconds, deposit, stats)
    out["paced"] = stats.summary(took)
    out["paced_results"] = stats.results
    print(_fmt(f"deposits at {args.paced_rps:.0f}/s", out["paced"]), flush=True)
    print(cpu.line(out["paced"]["requests"]), flush=True)
    for c in conns:
        await c.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--paced-rps", type=float, default=200.0)
    parser.add_argument("--paced-seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--background",
        type=int,
        default=0,
        help="with --reseed: first seed_demo this many other depositors "
        "(12 months of deposits each)",
    )
    parser.add_argument(
        "--reseed",
        action="store_true",
        help="seed <db>_apibench_seed again (otherwise reused when present)",
    )
    args = parser.parse_args()
    db = os.environ["DATABASE_URL"].rsplit("/", 1)[1] + "_apibench"
    if args.background:
        db += f"_bg{args.background}"

    template = f"{db}_seed"
    seed_file = ROOT / "bench" / "out" / f"{template}.json"
    if args.reseed or not seed_file.exists():
        print(f"database {template}: fresh, migrating, seeding", flush=True)
        _fresh_db(template)
        if args.background:
            # Realistic table sizes: other people's accounts and 12 months of
            # their deposits, so every index the deposit path touches is big.
            subprocess.run(
                [PY, "manage.py", "seed_demo", "--accounts", str(args.background)]
                + ["--months", "12", "--seed", "5"],
                cwd=ROOT,
                env=_env(template),
                check=True,
            )
        seed_file.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [PY, "bench/_api_seed.py", str(args.accounts), str(seed_file)],
            cwd=ROOT,
            env=_env(template),
            check=True,
        )
    seed = json.load(open(seed_file))
    # Every run measures a fresh copy of the seeded database, so runs compare.
    print(f"database {db}: copy of {template}", flush=True)
    subprocess.run(
        ["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", db], check=True
    )
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", "-T", template, db],
        check=True,
    )
    # The copy leaves gigabytes of dirty pages (at --background 1000000): let
    # them reach the disk first, or the deposits' WAL flushes queue behind
    # the kernel's writeback and the run measures the copy, not the API.
    os.sync()
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qc", "CHECKPOINT"],
        check=True,
    )
    server = subprocess.Popen(
        [
            GUNICORN,
            "config.wsgi",
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
            "--keep-alive",
            "30",
            "--bind",
            f"127.0.0.1:{args.port}",
        ],
        cwd=ROOT,
        env=_env(db),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        probe = Connection("127.0.0.1", args.port, seed["key_id"], seed["secret"])
        for _ in range(100):  # bounded wait for the server
            try:
                if asyncio.run(probe.request("GET", "/api/v1/industries/")).status:
                    break
            except OSError:
                time.sleep(0.1)
        print(
            f"gunicorn: {args.workers} workers x {args.threads} threads; "
            f"client: {args.concurrency} keep-alive connections",
            flush=True,
        )
        out = asyncio.run(measure(args, seed, server.pid))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    created = [
        json.loads(r.body)
        for r in out["deposit_results"] + out["paced_results"]
        if r.status == 201
    ]
    checked = subprocess.run(
        [PY, "bench/_api_verify.py"],
        cwd=ROOT,
        env=_env(db),
        check=True,
        capture_output=True,
        text=True,
    )
    db_state = json.loads(checked.stdout.strip().splitlines()[-1])
    ids = {c["deposit_id"] for c in created}
    expected_total = sum(int(c["amount"].replace(".", "")) for c in created)
    ratio = out["deposit"]["rps"] / out["get"]["rps"]
    print(f"deposits / trivial GET rate: {ratio:.2f}")
    print(
        f"201 responses {len(created)}, distinct deposit ids {len(ids)}; "
        f"database: {db_state['deposits']} deposits, "
        f"{db_state['distinct_bank_txn_ids']} distinct bank_txn_ids, "
        f"total {db_state['total']} (responses say {expected_total / 100:.2f})"
    )
    print(f"ledger problems: {db_state['ledger_problems'] or 'none'}")
    ok = (
        len(created) == len(ids) == db_state["deposits"]
        and db_state["distinct_bank_txn_ids"] == db_state["deposits"]
        and f"{expected_total / 100:.2f}" == db_state["total"]
        and not db_state["ledger_problems"]
    )
    print("CHECK", "OK: nothing lost or doubled" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
