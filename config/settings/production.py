import os

os.environ.setdefault("FUND_ENV", "production")

from .base import *  # noqa: E402,F401,F403
from .base import STORAGES, env  # noqa: E402
from .secrets_check import check_production_secrets  # noqa: E402

# The raw variables, not base's values: base falls back to a development key,
# and "missing" is a clearer refusal than "development default".
check_production_secrets(
    secret_key=env.str("DJANGO_SECRET_KEY", default=""),
    field_encryption_keys=env.list("FIELD_ENCRYPTION_KEYS", default=[]),
    id_hash_key=env.str("ID_HASH_KEY", default=""),
    national_exchange_key=env.str("NATIONAL_EXCHANGE_KEY", default=""),
    national_link=env.str("NATIONAL_LINK", default="files"),
)

DEBUG = False

# TLS ends at the proxy, which sets X-Forwarded-Proto; it must strip any value a
# client sends. There is no health path: probes use the proxy or https.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 365 * 24 * 3600
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
# Neither the admin nor the docs page reads the token from the cookie (both
# render it into the page), so scripts need no access to it.
CSRF_COOKIE_HTTPONLY = True
# Lax, not Strict: Strict drops the cookies on a link from mail or the intranet
# into the admin, which logs staff out and, for CSRF, replaces the token that
# forms open in other tabs still carry.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Hashed names let static files be cached for ever; the manifest exists only
# after collectstatic, which the image build runs (see Dockerfile).
STORAGES = {
    **STORAGES,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
