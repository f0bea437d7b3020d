"""settle_year on two real Celery worker processes over Redis (not eager):
each account is posted exactly once, whichever worker settles its chunk."""

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import LedgerTransaction
from config.celery_app import app
from subsidies.models import SettlementChunk, SettlementRun
from subsidies.services import settle_year
from tests.subsidies.helpers import monthly

ROOT = Path(__file__).resolve().parents[2]


def _worker(queue: str, name: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=(
            "postgres://postgres@127.0.0.1:5432/" + connection.settings_dict["NAME"]
        ),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{name}@%h",
            "--concurrency",
            "1",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.mark.django_db(transaction=True)
def test_two_real_workers_post_each_account_once(
    fe_account, pay, business_day, monkeypatch
) -> None:
    accounts = []
    for _ in range(6):
        account = fe_account(dt.date(2025, 3, 1), amount="1000")
        for day in monthly(dt.date(2025, 3, 10), dt.date(2025, 6, 30)):
            pay(account, day)
        accounts.append(account)
    business_day(dt.date(2025, 6, 30))
    queue = f"settle-test-{uuid.uuid4().hex[:8]}"
    workers = [_worker(queue, f"w{i}-{queue}") for i in range(2)]
    monkeypatch.setattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        run = settle_year(year=2025, workers=2, chunk_size=1, queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.status == SettlementRun.Status.DONE:
                break
            assert all(w.poll() is None for w in workers), [
                w.stderr.read() for w in workers if w.poll() is not None
            ]
            time.sleep(0.25)
    finally:
        app.conf.task_always_eager = eager
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
    assert run.status == SettlementRun.Status.DONE, "the workers did not finish"
    assert run.chunks_done == run.chunks_total == 6
    labels = set(
        SettlementChunk.objects.filter(run=run).values_list("worker", flat=True)
    )
    worker_pids = {str(w.pid) for w in workers}
    assert {label.rsplit(":", 1)[1] for label in labels} <= worker_pids
    for account in accounts:
        interest = LedgerTransaction.objects.filter(
            fund_account=account, kind="interest", value_date=dt.date(2025, 6, 30)
        )
        assert interest.count() == 1
        # 1,000 x (112 + 81 + 51 + 20) days x 1.5 % / 360 = 11.00, as in E1.
        assert interest.get().entries.get(side="C").amount == Decimal("11.00")
