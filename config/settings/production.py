import os

os.environ.setdefault("FUND_ENV", "production")

from .base import *  # noqa: E402,F401,F403
from .base import FIELD_ENCRYPTION_KEYS, ID_HASH_KEY, SECRET_KEY  # noqa: E402

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

if SECRET_KEY.startswith("dev-only") or not FIELD_ENCRYPTION_KEYS or not ID_HASH_KEY:
    raise RuntimeError(
        "production needs DJANGO_SECRET_KEY, FIELD_ENCRYPTION_KEYS and ID_HASH_KEY"
    )
