"""Settings shared by every environment; env flags switch integrations on.

Embedded default (no environment): SQLite under var/, Celery eager, locmem cache.
Deployment: DATABASE_URL (PostgreSQL), CELERY_BROKER_URL and REDIS_URL (Redis).
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

FUND_ENV = env.str("FUND_ENV", default="development")
DEBUG = env.bool("DJANGO_DEBUG", default=FUND_ENV == "development")
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdef"
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Addresses of the TLS proxy in front: the bank API then reads the caller's
# address from the proxy's X-Forwarded-For (failed-signature lockout).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Resident ID numbers: Fernet keys (first encrypts, all decrypt, for rotation)
# and a separate HMAC key for the lookup/uniqueness column. Outside production
# they default to values derived from SECRET_KEY so the embedded mode needs none.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
ID_HASH_KEY = env.str("ID_HASH_KEY", default="")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "simple_history",
    "core",
    "national",
    "accounts",
    "deposits",
    "subsidies",
    "withdrawals",
    "loans",
    "transfers",
    "risk",
    "banks",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.SessionIdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while a seeding command writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # Django's own cursors bind client-side and never prepare; this lets the
    # few hot statements run through core.db.execute_prepared be prepared
    # once per connection. Set DB_PREPARED_STATEMENTS=false behind a
    # transaction-pooling proxy (pgbouncer), which cannot keep them.
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="fund"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# WhiteNoise serves /static/ from STATIC_ROOT; production swaps in the manifest
# storage, which needs collectstatic, so tests and the dev server keep this one.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "var" / "media"
# Withdrawal evidence: outside the web root and never under a URL; staff see
# a file only through withdrawals' permission-checking view.
EVIDENCE_ROOT = env.path("EVIDENCE_ROOT", default=str(BASE_DIR / "var" / "evidence"))
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=10 * 1024 * 1024)
# The national platforms (national/services.py): "files" exchanges signed
# files (the answer to a duplicate check comes with a later import);
# "loopback" answers at once from the mirror of national records (local demo
# and tests only; production refuses it). The HMAC key of the files is shared
# with the platforms; outside production it defaults to one derived from
# SECRET_KEY, production requires it. Exported files hold resident IDs in
# clear: the folder is the center's alone.
NATIONAL_LINK = env.str("NATIONAL_LINK", default="files")
NATIONAL_EXCHANGE_KEY = env.str("NATIONAL_EXCHANGE_KEY", default="")
NATIONAL_EXCHANGE_DIR = env.path(
    "NATIONAL_EXCHANGE_DIR", default=str(BASE_DIR / "var" / "national" / "out")
)
LOGIN_URL = "/admin/login/"
# History is shown, never reverted (core.admin_base.ServiceOwnedHistoryAdmin
# also refuses the POST, which simple-history accepts even with this set).
SIMPLE_HISTORY_REVERT_DISABLED = True

# Staff sessions: a working day at most, gone with the browser, and ended by
# core.middleware.SessionIdleTimeoutMiddleware after this much inactivity.
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=30 * 60)
# A CSRF cookie that ends with the browser, rather than CSRF_USE_SESSIONS:
# keeping the token in the session would write a session row for every
# anonymous visit to the login page.
CSRF_COOKIE_AGE = None

# Celery: with no broker configured, tasks run eagerly in-process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL
)
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exception_handler.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Yantai FE Housing Fund — Partner Bank API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from our own /static/ (drf-spectacular-sidecar), not
    # a CDN: the docs page then runs no script a third party can change.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Accounts and withdrawals both have a "status": the account's keeps the
    # component name it had before withdrawals arrived (generated clients).
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "accounts.models.FundAccount.Status",
        "WithdrawalStatusEnum": "withdrawals.models.Withdrawal.Status",
        "WithdrawalTypeEnum": "withdrawals.models.Withdrawal.Type",
        "LoanStatusEnum": "loans.models.Loan.Status",
        "LoanKindEnum": "loans.models.Loan.Kind",
        "InstalmentStatusEnum": "loans.models.Instalment.Status",
        "LoanReasonEnum": "banks.api.loan_serializers.LOAN_REASONS",
    },
}

# Tracebacks (500 pages, error mails) hide personal-data fields by name.
DEFAULT_EXCEPTION_REPORTER = "core.logging.PersonalDataExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.logging.PersonalDataExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_ids": {"()": "core.logging.MaskIdNumbersFilter"},
        "strip_query_strings": {"()": "core.logging.StripQueryStringFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # Django's own runserver format, kept for the handler replaced below.
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_ids"],
        },
        # Replaces Django's default django.server handler, which has no
        # filters: admin searches put names and IDs in query strings.
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["strip_query_strings", "mask_ids"],
        },
    },
    "loggers": {
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Every periodic job, in one place. DatabaseScheduler copies these into
# django-celery-beat's tables, where operations can pause or move them.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE = {
    "check-arrears-monthly": {
        # 1st of the month, for the month just ended.
        "task": "deposits.check_arrears_last_month",
        "schedule": crontab(minute=30, hour=1, day_of_month=1),
    },
    "settle-year-30-june": {
        # After the day's bank postings are in.
        "task": "subsidies.settle_year_due",
        "schedule": crontab(minute=30, hour=23, day_of_month=30, month_of_year=6),
    },
    "loans-daily": {
        # After midnight: the day just begun, overdue from the day before.
        "task": "loans.loans_daily",
        "schedule": crontab(minute=10, hour=0),
    },
    "loans-reprice-1-january": {
        "task": "loans.loans_reprice",
        "schedule": crontab(minute=40, hour=0, day_of_month=1, month_of_year=1),
    },
    "purge-idempotency-keys": {
        "task": "banks.purge_idempotency_keys",
        "schedule": crontab(minute=15, hour=3),
    },
    "deliver-bank-webhooks": {
        "task": "banks.deliver_outbox",
        "schedule": 30.0,
    },
    "national-export": {
        # The pending outbox as signed files under NATIONAL_EXCHANGE_DIR,
        # for whoever carries them to the platforms.
        "task": "national.export",
        "schedule": crontab(minute=5),
    },
    "national-report-waiting": {
        # Before the working day: how much waits on the platforms.
        "task": "national.report_waiting",
        "schedule": crontab(minute=30, hour=7),
    },
}
