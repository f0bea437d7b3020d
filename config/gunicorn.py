"""Gunicorn settings: ``gunicorn config.wsgi:application -c config/gunicorn.py``.

Everything can be overridden from the environment; logs go to stdout/stderr
for the container runtime to collect.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(
    os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8))
)
# Threads (the gthread worker) keep a worker answering while one request
# waits on PostgreSQL or Redis.
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# Recycling workers bounds slow leaks; the jitter keeps them from restarting
# together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 200))
# The TLS proxy in front sets X-Forwarded-*; only its address is trusted.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The path without its query string (%(U)s), never the request line (%(r)s)
# or the query (%(q)s): admin searches carry names and ID numbers there. The
# referer (%(f)s) is left out for the same reason: it is the previous URL,
# query string included.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
