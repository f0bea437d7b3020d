"""End staff sessions left idle, on top of the absolute SESSION_COOKIE_AGE."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

LAST_ACTIVITY_SESSION_KEY = "_last_activity"
# Stamping every request would write the session row on every click; a
# minute of slack in a 30-minute timeout is worth one write a minute at most.
STAMP_EVERY_SECONDS = 60


class SessionIdleTimeoutMiddleware:
    """Log out a session idle longer than SESSION_IDLE_TIMEOUT_SECONDS.

    Goes after AuthenticationMiddleware. Requests without a session cookie
    (the bank API under /api/v1/, anonymous visitors) pass untouched, so no
    session is ever loaded for them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        now = int(time.time())
        if self._has_authenticated_session(request):
            last = request.session.get(LAST_ACTIVITY_SESSION_KEY)
            if isinstance(last, int) and now - last > self.timeout_seconds:
                logout(request)
        response = self.get_response(request)
        # After the view, so the login request that opened the session is
        # stamped too and the clock starts at login.
        if self._has_authenticated_session(request):
            last = request.session.get(LAST_ACTIVITY_SESSION_KEY)
            if not isinstance(last, int) or now - last >= STAMP_EVERY_SECONDS:
                request.session[LAST_ACTIVITY_SESSION_KEY] = now
        return response

    @property
    def timeout_seconds(self) -> int:
        return settings.SESSION_IDLE_TIMEOUT_SECONDS

    @staticmethod
    def _has_authenticated_session(request: HttpRequest) -> bool:
        session = getattr(request, "session", None)
        if session is None or session.session_key is None:
            return False
        # DRF replaces request.user (with None when unauthenticated).
        user = getattr(request, "user", None)
        return bool(getattr(user, "is_authenticated", False))
