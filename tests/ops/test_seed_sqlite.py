"""The embedded demo path: SQLite, bulk_create writer, as `make demo` runs it."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        DJANGO_SETTINGS_MODULE="config.settings.local",
        FUND_ENV="development",
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_seed_demo_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    assert _manage(db, "migrate", "--noinput", "-v0").returncode == 0
    seeded = _manage(db, "seed_demo", "--accounts", "30", "--months", "12")
    assert seeded.returncode == 0, seeded.stderr
    assert "30/30" in seeded.stdout and "orm" in seeded.stdout
    checked = _manage(db, "verify_ledger")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    audited = _manage(db, "verify_audit")
    assert audited.returncode == 0, audited.stdout + audited.stderr
    with sqlite3.connect(db) as con:
        terminated = con.execute(
            "SELECT id, subsidy_terminated_on FROM accounts_fundaccount "
            "WHERE subsidy_terminated_on IS NOT NULL ORDER BY id"
        ).fetchall()
        events = con.execute(
            "SELECT fund_account_id, occurred_on FROM subsidies_subsidyevent "
            "WHERE kind = 'terminated' AND actor_ref = 'seed_demo' ORDER BY 1"
        ).fetchall()
        chunks = con.execute(
            "SELECT count(*) FROM core_auditrecord WHERE action = 'seed.chunk'"
        ).fetchone()
    assert events == terminated and terminated
    assert chunks == (1,)
    again = _manage(db, "seed_demo", "--accounts", "30", "--if-empty")
    assert again.returncode == 0
    assert "--if-empty" in again.stdout and "30/30" not in again.stdout
    admin = _manage(db, "ensure_demo_admin")
    assert admin.returncode == 0 and "admin12345" in admin.stdout
