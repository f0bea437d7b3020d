"""Paths with no operation behind them: the contract's 404 body, never an
HTML page."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from banks.api.views.base import BankAPIView
from core.exceptions import NotFoundError


# Any other path under /api/v1/: the contract's 404 body, not an HTML page.
class UnknownPathView(BankAPIView):
    def _answer(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFoundError(_("Not found."), "not_found")

    get = post = put = patch = delete = extend_schema(exclude=True)(_answer)
