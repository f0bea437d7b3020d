"""Deposits: the bank posts one it has collected."""

from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import BankPartner, FundAccount
from banks import selectors
from banks.api import schema as api_schema
from banks.api.fast import deposit_fast
from banks.api.serializers import (
    DepositInputSerializer,
    DepositOutputSerializer,
    deposit_output,
)
from banks.api.views.base import (
    BankAPIView,
    account_not_found,
    bank_actor,
    idempotent_post,
)
from deposits.services import deposit_post


class DepositCreateView(BankAPIView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.method == "POST":
            response = deposit_fast(request)  # the ordinary case, one transaction
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        operation_id="deposits_create",
        summary="Post a deposit the bank has collected",
        parameters=[api_schema.IDEMPOTENCY_HEADER],
        request=DepositInputSerializer,
        responses={
            201: DepositOutputSerializer,
            400: api_schema.error(
                "Invalid input: amount not monthly amount x months, gap before "
                "first_month, months outside 1-12, paid_at after the business "
                "date, malformed fields, missing Idempotency-Key."
                + api_schema.BODY_ERROR_DESCRIPTION,
                "validation_error",
                "invalid_amount",
                "month_gap",
                "invalid_months",
                "paid_at_in_future",
                *api_schema.BODY_ERROR_CODES,
            ),
            404: api_schema.error(
                "Unknown account, or serviced by another bank.", "account_not_found"
            ),
            409: api_schema.error(
                "Conflicts with the current state.",
                "account_closed",
                "period_already_paid",
                "duplicate_bank_txn",
            ),
            **api_schema.POST_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        return idempotent_post(
            self,
            request,
            DepositInputSerializer,
            lambda data: self._post(request, data),
        )

    def _post(self, request: Request, data: dict[str, Any]) -> Response:
        bank: BankPartner = request.user
        # Number and id only: deposit_post locks and reads the row itself.
        account = selectors.bank_account_ref(bank=bank, account_no=data["account_no"])
        if account is None:
            raise account_not_found()
        deposit = deposit_post(
            account=account,
            amount=data["amount"],
            first_month=data["first_month"],
            months=data["months"],
            paid_at=data["paid_at"],
            bank=bank,
            bank_txn_id=data["bank_txn_id"],
            channel=FundAccount.Channel.BANK_APP,
            actor=bank_actor(request),
        )
        # deposit_post refreshes ``account`` (balance, status) under its lock.
        body = deposit_output(
            deposit_id=deposit.pk,
            account_no=account.account_no,
            amount=deposit.amount,
            first_month=deposit.first_month,
            last_month=deposit.last_month,
            balance=account.balance,
            status=account.status,
        )
        return Response(body, status=201)
