"""Tests run against real PostgreSQL and Redis on localhost.

pytest-django creates test_<name> (per xdist worker) from DATABASE_URL.
"""

import os
import tempfile

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fund")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/2")
os.environ.setdefault("FUND_ENV", "test")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

from .base import *  # noqa: E402,F401,F403
from .base import DATABASES, env  # noqa: E402

DATABASES["default"]["CONN_MAX_AGE"] = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("REDIS_URL"),
        # Each xdist worker gets its own key space so tests never see each other.
        "KEY_PREFIX": "test-" + os.environ.get("PYTEST_XDIST_WORKER", "main"),
    }
}

# Tests never run collectstatic: WhiteNoise finds files through the app
# finders, looked up per request (no start-up scan, no warning about the
# missing STATIC_ROOT).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Uploaded evidence goes to a throw-away folder, one per xdist worker.
EVIDENCE_ROOT = os.path.join(
    tempfile.gettempdir(),
    "fund-test-evidence-" + os.environ.get("PYTEST_XDIST_WORKER", "main"),
)

# The national platforms answer duplicate checks at once from the mirror of
# national records; tests of the file exchange switch to "files". Exported
# files go to a throw-away folder per xdist worker.
NATIONAL_LINK = "loopback"
NATIONAL_EXCHANGE_DIR = os.path.join(
    tempfile.gettempdir(),
    "fund-test-national-" + os.environ.get("PYTEST_XDIST_WORKER", "main"),
)
