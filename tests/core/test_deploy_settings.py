"""Production settings, staff sessions, the docs page and log hygiene (issue 9)."""

import datetime as dt
import io
import logging
import os
import re
import runpy
import secrets
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.views.debug import ExceptionReporter, get_exception_reporter_class

from config.settings.secrets_check import check_production_secrets, read_env_example
from core.logging import (
    MaskIdNumbersFilter,
    PersonalDataExceptionReporterFilter,
    StripQueryStringFilter,
)
from core.middleware import LAST_ACTIVITY_SESSION_KEY
from tests.idgen import make_id

ROOT = Path(__file__).resolve().parents[2]
# Built, not written out: the reports below print the source lines around each
# frame, and a literal ID there would defeat the assertions.
ID_NUMBER = make_id(dt.date(1990, 5, 15), seq=123)
ID_DIGITS = ID_NUMBER[6:14]
NAME = "张三丰"
PHONE = "139" + "12345678"
EXAMPLE_ENV = read_env_example()


def strong_secrets() -> dict[str, str]:
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "FIELD_ENCRYPTION_KEYS": ",".join(
            Fernet.generate_key().decode() for _ in range(2)
        ),
        "ID_HASH_KEY": secrets.token_urlsafe(48),
    }


def run_manage(tmp_path: Path, overrides: dict[str, str]) -> Any:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "FUND_", "CELERY_TASK_"))
        and key not in ("FIELD_ENCRYPTION_KEYS", "ID_HASH_KEY")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_ALLOWED_HOSTS="fund.example.test",
    )
    env.update(strong_secrets())
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- (a) check --deploy is clean with strong secrets -------------------------


def test_check_deploy_is_clean_with_strong_secrets(tmp_path: Path) -> None:
    result = run_manage(tmp_path, {})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in output.upper()


# --- (b) production refuses weak, example and development secrets ----------


def _bad_secrets() -> list[tuple[str, str, str]]:
    example_key = EXAMPLE_ENV["DJANGO_SECRET_KEY"]
    example_fernet = EXAMPLE_ENV["FIELD_ENCRYPTION_KEYS"].split(",")[0]
    example_hash = EXAMPLE_ENV["ID_HASH_KEY"]
    fresh_fernet = Fernet.generate_key().decode()
    return [
        ("secret-missing", "DJANGO_SECRET_KEY", ""),
        ("secret-short", "DJANGO_SECRET_KEY", secrets.token_urlsafe(30)),
        ("secret-few-characters", "DJANGO_SECRET_KEY", "xy" * 40),
        ("secret-dev-default", "DJANGO_SECRET_KEY", "dev-only-" + "k" * 20 + "7q" * 30),
        ("secret-example", "DJANGO_SECRET_KEY", example_key),
        (
            "secret-contains-example",
            "DJANGO_SECRET_KEY",
            secrets.token_urlsafe(8) + example_key + secrets.token_urlsafe(8),
        ),
        ("fernet-missing", "FIELD_ENCRYPTION_KEYS", ""),
        ("fernet-invalid", "FIELD_ENCRYPTION_KEYS", "nf" + secrets.token_urlsafe(40)),
        ("fernet-example", "FIELD_ENCRYPTION_KEYS", example_fernet),
        (
            "fernet-example-second",
            "FIELD_ENCRYPTION_KEYS",
            fresh_fernet + "," + example_fernet,
        ),
        ("hash-missing", "ID_HASH_KEY", ""),
        ("hash-short", "ID_HASH_KEY", secrets.token_urlsafe(16)),
        ("hash-example", "ID_HASH_KEY", example_hash),
    ]


@pytest.mark.parametrize(
    ("variable", "value"),
    [(variable, value) for _, variable, value in _bad_secrets()],
    ids=[case for case, _, _ in _bad_secrets()],
)
def test_production_refuses_to_start(tmp_path: Path, variable: str, value: str) -> None:
    result = run_manage(tmp_path, {variable: value})
    assert result.returncode != 0
    error_line = result.stderr.strip().splitlines()[-1]
    assert error_line.startswith("django.core.exceptions.ImproperlyConfigured")
    assert variable in error_line
    for part in filter(None, value.split(",")):
        assert part not in result.stderr
        assert part not in result.stdout


def test_the_example_file_holds_every_secret() -> None:
    # The refusals above test real example values only if the file has them.
    for name in ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ID_HASH_KEY"):
        assert EXAMPLE_ENV.get(name), name


def test_check_function_accepts_strong_secrets() -> None:
    values = strong_secrets()
    check_production_secrets(
        secret_key=values["DJANGO_SECRET_KEY"],
        field_encryption_keys=values["FIELD_ENCRYPTION_KEYS"].split(","),
        id_hash_key=values["ID_HASH_KEY"],
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [(variable, value) for _, variable, value in _bad_secrets()],
    ids=[case for case, _, _ in _bad_secrets()],
)
def test_check_function_names_the_variable_never_the_value(
    variable: str, value: str
) -> None:
    values = strong_secrets() | {variable: value}
    with pytest.raises(ImproperlyConfigured) as err:
        check_production_secrets(
            secret_key=values["DJANGO_SECRET_KEY"],
            field_encryption_keys=[
                key for key in values["FIELD_ENCRYPTION_KEYS"].split(",") if key
            ],
            id_hash_key=values["ID_HASH_KEY"],
        )
    message = str(err.value)
    assert variable in message
    for part in filter(None, value.split(",")):
        assert part not in message


def test_check_function_compares_with_the_given_example_file() -> None:
    values = strong_secrets()
    with pytest.raises(ImproperlyConfigured, match="ID_HASH_KEY is taken from"):
        check_production_secrets(
            secret_key=values["DJANGO_SECRET_KEY"],
            field_encryption_keys=values["FIELD_ENCRYPTION_KEYS"].split(","),
            id_hash_key=values["ID_HASH_KEY"],
            example_env={"ANYTHING": values["ID_HASH_KEY"][:20]},
        )


def test_id_hash_key_must_not_reuse_the_secret_key() -> None:
    values = strong_secrets()
    with pytest.raises(ImproperlyConfigured, match="ID_HASH_KEY must differ"):
        check_production_secrets(
            secret_key=values["DJANGO_SECRET_KEY"],
            field_encryption_keys=values["FIELD_ENCRYPTION_KEYS"].split(","),
            id_hash_key=values["DJANGO_SECRET_KEY"],
        )


# --- (c) staff sessions ------------------------------------------------------


def test_session_lifetime_settings() -> None:
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_IDLE_TIMEOUT_SECONDS == 30 * 60
    assert settings.CSRF_COOKIE_AGE is None


def test_idle_timeout_middleware_sits_after_authentication() -> None:
    middleware = list(settings.MIDDLEWARE)
    assert "core.middleware.SessionIdleTimeoutMiddleware" in middleware
    assert middleware.index("core.middleware.SessionIdleTimeoutMiddleware") > (
        middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    )


@pytest.fixture
def staff_client(client: Any, django_user_model: Any) -> Any:
    user = django_user_model.objects.create_user(
        "counter", password="pw-unused", is_staff=True
    )
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    return client


def _move_last_activity_back(client: Any, seconds: int) -> None:
    session = client.session
    session[LAST_ACTIVITY_SESSION_KEY] = int(time.time()) - seconds
    session.save()


@pytest.mark.django_db
def test_idle_staff_session_is_logged_out(staff_client: Any) -> None:
    assert LAST_ACTIVITY_SESSION_KEY in staff_client.session
    _move_last_activity_back(staff_client, settings.SESSION_IDLE_TIMEOUT_SECONDS + 5)

    response = staff_client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert "_auth_user_id" not in staff_client.session


@pytest.mark.django_db
def test_active_staff_session_stays_and_is_stamped(staff_client: Any) -> None:
    _move_last_activity_back(staff_client, settings.SESSION_IDLE_TIMEOUT_SECONDS - 60)

    response = staff_client.get("/admin/")

    assert response.status_code == 200
    stamped = staff_client.session[LAST_ACTIVITY_SESSION_KEY]
    assert abs(stamped - time.time()) < 5


@pytest.mark.django_db
def test_idle_timeout_follows_the_setting(staff_client: Any, settings: Any) -> None:
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 120
    _move_last_activity_back(staff_client, 180)
    assert staff_client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_requests_without_a_session_get_none(client: Any) -> None:
    response = client.get("/api/v1/industries/")
    assert settings.SESSION_COOKIE_NAME not in response.cookies


# --- (d) the docs page uses no CDN ---------------------------------------------


@pytest.mark.django_db
def test_docs_page_loads_swagger_ui_from_our_static_files(client: Any) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()

    hosts = {m.group(1) for m in re.finditer(r"(?:https?:)?//([A-Za-z0-9.-]+)", html)}
    assert hosts <= {"testserver"}, hosts

    bundle = re.search(r'<script src="([^"]+swagger-ui-bundle\.js)"', html)
    assert bundle, html
    assert bundle.group(1).startswith("/static/drf_spectacular_sidecar/")
    asset = client.get(bundle.group(1))
    assert asset.status_code == 200
    assert b"SwaggerUIBundle" in b"".join(asset.streaming_content)


def test_whitenoise_serves_static_files_right_after_security() -> None:
    middleware = list(settings.MIDDLEWARE)
    security = middleware.index("django.middleware.security.SecurityMiddleware")
    assert middleware[security + 1] == "whitenoise.middleware.WhiteNoiseMiddleware"


# --- (e) access logs carry no query strings ------------------------------------


def _server_record(request_line: str) -> logging.LogRecord:
    # The shape Django's runserver logs a request in (WSGIRequestHandler).
    return logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (request_line, "200", "5120"),
        None,
    )


def test_access_log_filter_strips_query_strings() -> None:
    record = _server_record(f"GET /admin/accounts/depositor/?q={ID_NUMBER} HTTP/1.1")
    assert StripQueryStringFilter().filter(record) is True
    assert record.getMessage() == '"GET /admin/accounts/depositor/ HTTP/1.1" 200 5120'


def test_access_log_filter_keeps_lines_without_query() -> None:
    record = _server_record("GET /admin/ HTTP/1.1")
    StripQueryStringFilter().filter(record)
    assert record.getMessage() == '"GET /admin/ HTTP/1.1" 200 5120'


def test_runserver_log_is_wired_through_the_filter() -> None:
    logger = logging.getLogger("django.server")
    (handler,) = [
        handler
        for handler in logger.handlers
        if any(isinstance(f, StripQueryStringFilter) for f in handler.filters)
    ]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logger.info(
            '"%s" %s %s', f"GET /admin/?q=%E5%BC%A0&id={ID_NUMBER} HTTP/1.1", "200", "9"
        )
    finally:
        handler.setStream(previous)
    line = stream.getvalue()
    assert '"GET /admin/ HTTP/1.1" 200 9' in line
    assert ID_DIGITS not in line


def test_gunicorn_access_log_has_the_path_only(tmp_path: Path) -> None:
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    options = runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    fmt = options["access_log_format"]
    assert "%(U)s" in fmt
    for atom in ("%(r)s", "%(q)s", "%(f)s"):
        assert atom not in fmt
    assert options["accesslog"] == "-"

    cfg = Config()
    for name, value in options.items():
        if name in cfg.settings:
            cfg.set(name, value)
    access_file = tmp_path / "access.log"
    cfg.set("accesslog", str(access_file))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    glog = Logger(cfg)
    try:
        response = SimpleNamespace(status="200 OK", headers=[], sent=42)
        request = SimpleNamespace(headers=[("HOST", "fund.example.test")])
        environ = {
            "REQUEST_METHOD": "GET",
            "RAW_URI": f"/admin/accounts/depositor/?q={ID_NUMBER}",
            "PATH_INFO": "/admin/accounts/depositor/",
            "QUERY_STRING": f"q={ID_NUMBER}",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "10.0.0.7",
            "HTTP_REFERER": f"https://fund.example.test/admin/?q={ID_NUMBER}",
        }
        glog.access(response, request, environ, dt.timedelta(milliseconds=12))
        for handler in glog.access_log.handlers:
            handler.flush()
    finally:
        for log in (glog.access_log, glog.error_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
                handler.close()
    line = access_file.read_text()
    assert '"GET /admin/accounts/depositor/ HTTP/1.1" 200 42' in line
    assert ID_DIGITS not in line
    assert "?" not in line


# --- (f) tracebacks hide personal data by field name ---------------------------


def _open_account_for(id_number: str, name: str) -> None:
    phone = PHONE  # noqa: F841 - a local the report must hide
    raise RuntimeError("bank refused the account")


def _exc_info() -> tuple[Any, Any, Any]:
    try:
        _open_account_for(ID_NUMBER, NAME)
    except RuntimeError:
        return sys.exc_info()
    raise AssertionError("unreachable")


def test_default_filter_is_the_personal_data_one() -> None:
    request = RequestFactory().get("/")
    assert isinstance(
        ExceptionReporter(request, None, None, None).filter,
        PersonalDataExceptionReporterFilter,
    )


def test_technical_500_hides_id_number_local_and_post_fields() -> None:
    request = RequestFactory().post(
        "/admin/accounts/depositor/add/",
        {"id_number": ID_NUMBER, "name": NAME, "district": "芝罘区"},
    )
    reporter = ExceptionReporter(request, *_exc_info())

    for report in (reporter.get_traceback_html(), reporter.get_traceback_text()):
        assert ID_NUMBER not in report
        assert ID_DIGITS not in report
        assert NAME not in report
        assert PHONE not in report
        assert "bank refused the account" in report
        assert "芝罘区" in report  # other fields stay readable


def test_technical_500_hides_query_string_values() -> None:
    request = RequestFactory().get(
        "/admin/accounts/depositor/", {"q": ID_NUMBER, "search_term": NAME}
    )
    reporter_class = get_exception_reporter_class(request)
    reporter = reporter_class(request, *_exc_info())

    for report in (reporter.get_traceback_html(), reporter.get_traceback_text()):
        assert ID_DIGITS not in report
        assert NAME not in report
        assert "/admin/accounts/depositor/" in report


def test_hidden_settings_cover_personal_and_query_names() -> None:
    reporter_filter = PersonalDataExceptionReporterFilter()
    hidden = reporter_filter.cleansed_substitute
    for name in ("ID_NUMBER", "HTTP_X_PHONE", "SERVER_NAME", "QUERY_STRING", "RAW_URI"):
        assert reporter_filter.cleanse_setting(name, "x") == hidden, name
    for name in ("MIDDLEWARE", "TIME_ZONE", "PATH_INFO"):
        assert reporter_filter.cleanse_setting(name, "x") == "x", name


def test_log_filter_masks_ids_in_formatted_tracebacks() -> None:
    try:
        raise ValueError(f"no depositor with {ID_NUMBER}")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "lookup failed", (), sys.exc_info()
        )
    MaskIdNumbersFilter().filter(record)
    formatted = logging.Formatter("%(message)s").format(record)
    assert ID_DIGITS not in formatted
    assert ID_NUMBER[:6] + "********" + ID_NUMBER[-4:] in formatted
