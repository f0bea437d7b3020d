"""Paths with no operation behind them (yet): the contract's 404 body,
never an HTML page. The loan-repayment view moves to the loans module when
that capability arrives."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from banks.api import schema as api_schema
from banks.api.views.base import BankAPIView
from core.exceptions import NotFoundError

_NOT_AVAILABLE_SCHEMA = extend_schema(
    summary="Not available yet",
    description=(
        "Part of contract v1; arrives with the loan capability. Until then "
        "every method answers 404 not_available."
    ),
    request=None,
    responses={
        404: api_schema.error("Not available yet.", "not_available"),
        **api_schema.COMMON_ERRORS,
    },
)


# In the contract, not built yet (404); each path documents its own POST.
class NotAvailableView(BankAPIView):
    def _answer(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFoundError(_("This operation is not available yet."), "not_available")

    # Every other method is answered alike, and kept out of the schema.
    get = put = patch = delete = extend_schema(exclude=True)(_answer)


# Loan repayments: arrive with the loans capability.
class LoanRepaymentView(NotAvailableView):
    @extend_schema(operation_id="loans_repayments_create")
    @_NOT_AVAILABLE_SCHEMA
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(request)


# Any other path under /api/v1/: the contract's 404 body, not an HTML page.
class UnknownPathView(BankAPIView):
    def _answer(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFoundError(_("Not found."), "not_found")

    get = post = put = patch = delete = extend_schema(exclude=True)(_answer)
