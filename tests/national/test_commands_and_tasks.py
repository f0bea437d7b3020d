"""The operations side: the commands' output and exit codes, the Celery
tasks and their beat entries, the admin pages, the production refusals."""

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from config.settings.secrets_check import production_secret_problems
from national.models import ExchangeFile, NationalMessage
from national.services import (
    duplicate_check_request,
    exchange_key,
    national_link,
    outbox_send,
)
from national.tasks import (
    national_export_task,
    national_import_task,
    national_report_task,
)
from tests.national.conftest import answer, file_body, signed

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def _check(n: int = 1) -> Any:
    return duplicate_check_request(
        id_number_hash=f"hash-{n}",
        id_number=f"37060219900101{n:04d}",
        purpose="loan",
        subject=f"loan:S{n}",
    )


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with translation.override("en"):
        try:
            call_command(*args, stdout=out, stderr=err)
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


# --- commands --------------------------------------------------------------------


def test_national_export_prints_the_paths_then_nothing(files_mode, tmp_path) -> None:
    _check(1)
    code, out, _err = run("national_export", "--out", str(tmp_path))
    assert code == 0
    (written,) = [line for line in out.splitlines() if line.endswith(".jsonl")]
    assert Path(written).parent == tmp_path and Path(written).exists()
    code, out, _err = run("national_export", "--out", str(tmp_path))
    assert code == 0 and "Nothing was pending" in out
    assert len(os.listdir(tmp_path)) == 1


def test_national_import_exit_codes(files_mode, platform_file) -> None:
    check = _check(1)
    path = platform_file([answer(check, hit=False)])
    code, out, _err = run("national_import", str(path))
    assert code == 0 and "1 applied" in out
    code, out, _err = run("national_import", str(path))
    assert code == 0 and "imported already" in out

    data = signed(file_body([answer(_check(2), hit=False)]))
    tampered = platform_file([], data=data.replace(b'"hit":false', b'"hit":falsE'))
    code, out, err = run("national_import", str(tampered))
    assert code == 1 and "SHA-256" in err and "nothing applied" in err

    code, _out, err = run("national_import", str(path.parent / "missing.jsonl"))
    assert code == 1 and "cannot be read" in err


def test_national_import_never_prints_a_traceback(tmp_path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/"
        + connection.settings_dict["NAME"],
        "LANGUAGE": "en",
    }
    for target in (tmp_path / "missing.jsonl", tmp_path):  # absent; a folder
        result = subprocess.run(
            [sys.executable, "manage.py", "national_import", str(target)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        assert result.stderr.strip()


def test_national_report_lists_what_waits(files_mode) -> None:
    old = _check(1)
    NationalMessage.objects.filter(pk=old.request_id).update(
        created_at=timezone.now() - dt.timedelta(hours=72)
    )
    _check(2)
    code, out, _err = run("national_report", "--older-than-hours", "48")
    assert code == 0
    assert "more than 48 hours: 1" in out
    assert str(old.request.message_id) in out and "duplicate_check" in out
    assert "waiting for an answer: 2" in out
    assert "loan:S1" in out and "loan:S2" in out


# --- tasks -------------------------------------------------------------------------


def test_the_tasks_export_import_and_report(
    files_mode, settings, tmp_path, platform_file
) -> None:
    settings.NATIONAL_EXCHANGE_DIR = str(tmp_path / "exchange")
    check = _check(1)
    (written,) = national_export_task.delay().get()
    assert Path(written).parent == tmp_path / "exchange"
    assert national_export_task.delay().get() == []
    path = platform_file([answer(check, hit=False)])
    assert national_import_task.delay(str(path)).get()["status"] == "applied"
    assert national_import_task.delay(str(path)).get()["status"] == "already_applied"
    assert national_import_task.delay(str(tmp_path / "nope")).get()["status"] == (
        "refused"
    )
    assert national_report_task.delay(0).get() == 0  # answered: nothing waits
    _check(2)
    assert national_report_task.delay(0).get() == 1


def test_the_beat_schedule_names_the_tasks() -> None:
    from config.celery_app import app

    schedule = django_settings.CELERY_BEAT_SCHEDULE
    names = {entry["task"] for entry in schedule.values()}
    assert {"national.export", "national.report_waiting"} <= names
    app.loader.import_default_modules()
    assert {"national.export", "national.import", "national.report_waiting"} <= set(
        app.tasks
    )


# --- admin ---------------------------------------------------------------------------


def test_the_admin_lists_and_the_export_button(
    files_mode, admin_client, settings, tmp_path
) -> None:
    settings.NATIONAL_EXCHANGE_DIR = str(tmp_path)
    check = _check(1)
    number = "370602199001010001"
    export_url = reverse("admin:national_nationalmessage_export")
    for name in ("nationalmessage", "duplicatecheck", "exchangefile"):
        response = admin_client.get(reverse(f"admin:national_{name}_changelist"))
        assert response.status_code == 200, name
        shown = export_url in response.content.decode()
        assert shown == (name != "exchangefile"), name
    queue = admin_client.get(
        reverse("admin:national_duplicatecheck_changelist") + "?queue=pending"
    )
    assert "loan:S1" in queue.content.decode()
    page = admin_client.get(
        reverse("admin:national_nationalmessage_change", args=[check.request_id])
    )
    assert page.status_code == 200 and number not in page.content.decode()

    with translation.override("en"):
        response = admin_client.post(
            reverse("admin:national_nationalmessage_export"), follow=True
        )
    assert response.status_code == 200
    (name,) = os.listdir(tmp_path)
    assert name in response.content.decode()
    assert NationalMessage.objects.get(pk=check.request_id).status == "exported"


def test_export_needs_its_permission(files_mode, client, staff, tmp_path, settings):
    settings.NATIONAL_EXCHANGE_DIR = str(tmp_path)
    _check(1)
    # Clerks see no exchange at all; reviewers hold the export permission.
    clerk = staff("clerk")
    client.force_login(clerk.user)
    response = client.post(reverse("admin:national_nationalmessage_export"))
    assert response.status_code == 403
    assert os.listdir(tmp_path) == []
    assert NationalMessage.objects.get().status == "pending"
    assert client.get(reverse("admin:national_nationalmessage_export")).status_code in (
        403,
        405,
    )


# --- settings ------------------------------------------------------------------------


def test_production_refuses_loopback_and_weak_exchange_keys() -> None:
    strong = dict(
        secret_key="s" * 10 + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH",
        field_encryption_keys=["jUcLPcF1stplRKISCn5J7uFeKV-u4856aBoBClNahWX="],
        id_hash_key="h" * 10 + "0123456789abcdefghijklmnopqrstuv",
        example_env={},
    )
    base = production_secret_problems(**strong)
    assert not any("NATIONAL" in p for p in base)
    with_loopback = production_secret_problems(**strong, national_link="loopback")
    assert "NATIONAL_LINK must be files in production." in with_loopback
    short = production_secret_problems(**strong, national_exchange_key="short")
    assert any(p.startswith("NATIONAL_EXCHANGE_KEY is too short") for p in short)
    same = production_secret_problems(
        **strong, national_exchange_key=strong["id_hash_key"]
    )
    assert any("NATIONAL_EXCHANGE_KEY must differ" in p for p in same)


def test_production_needs_the_exchange_key_and_no_loopback(settings) -> None:
    settings.FUND_ENV = "production"
    settings.NATIONAL_EXCHANGE_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        exchange_key()
    settings.NATIONAL_LINK = "loopback"
    with pytest.raises(ImproperlyConfigured):
        national_link()


def test_export_without_a_key_in_production_writes_nothing(
    settings, files_mode, tmp_path
) -> None:
    outbox_send(platform="transfer", kind="transfer_out", payload={"n": 1})
    settings.FUND_ENV = "production"
    settings.NATIONAL_EXCHANGE_KEY = ""
    code, _out, err = run("national_export", "--out", str(tmp_path))
    assert code == 1 and "NATIONAL_EXCHANGE_KEY" in err
    assert os.listdir(tmp_path) == []
    assert not ExchangeFile.objects.exists()
