"""Withdrawals: the depositor's exit filed through the bank, and following
any withdrawal of an account the bank services."""

import re

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import BankPartner
from banks import selectors
from banks.api import schema as api_schema
from banks.api.serializers import (
    ExitInputSerializer,
    ExitOutputSerializer,
    WithdrawalOutputSerializer,
)
from banks.api.views.base import (
    BankAPIView,
    account_not_found,
    bank_actor,
    idempotent_post,
)
from core.exceptions import NotFoundError
from withdrawals.models import Withdrawal
from withdrawals.selectors import withdrawal_for_bank, withdrawal_quote
from withdrawals.services import withdrawal_payload, withdrawal_submit

# Withdrawal numbers are "W" + date + sequence; anything else (a NUL byte,
# which PostgreSQL text cannot hold, or 10 kB of path) is unknown before it
# reaches the database.
_WITHDRAWAL_ID_RE = re.compile(r"[A-Za-z0-9]{1,20}")


def withdrawal_not_found() -> NotFoundError:
    return NotFoundError(_("No such withdrawal for this bank."), "not_found")


class AccountExitView(BankAPIView):
    @extend_schema(
        operation_id="accounts_exit",
        summary="File the depositor's exit (the whole balance is paid out)",
        description=(
            "Files an exit application for review by the fund center. The "
            "body is the empty JSON object `{}` (required: an empty body is a "
            "400 bad_request, as on every POST). Follow it with "
            "`GET /api/v1/withdrawals/{withdrawal_id}/` and the "
            "`withdrawal.approved`, `withdrawal.rejected` and `withdrawal.paid` "
            "webhooks. A refusal by the rules also lists every refusal code "
            "in `error.reasons`."
        ),
        parameters=[api_schema.IDEMPOTENCY_HEADER],
        # An empty serializer would leave the body out of the schema, yet the
        # body acceptance rule wants a JSON object here as on every POST.
        request={
            "application/json": {
                "type": "object",
                "description": (
                    "No fields: send the empty object {} (fields the endpoint "
                    "does not know are ignored)."
                ),
                "example": {},
            }
        },
        responses={
            201: ExitOutputSerializer,
            400: api_schema.error(
                "The body is not a JSON object, or the Idempotency-Key is "
                "missing or malformed." + api_schema.BODY_ERROR_DESCRIPTION,
                "validation_error",
                *api_schema.BODY_ERROR_CODES,
            ),
            404: api_schema.error(
                "Unknown account, or serviced by another bank.", "account_not_found"
            ),
            409: api_schema.error(
                "The rules refuse the exit: the holder has a housing loan not "
                "yet settled, an exit is already waiting, another withdrawal "
                "application is still open, or the account is closed.",
                "loan_outstanding",
                "exit_pending",
                "application_pending",
                "account_closed",
            ),
            **api_schema.POST_ERRORS,
        },
    )
    def post(self, request: Request, account_no: str) -> Response:
        return idempotent_post(
            self,
            request,
            ExitInputSerializer,
            lambda _data: self._exit(request, account_no),
        )

    def _exit(self, request: Request, account_no: str) -> Response:
        bank: BankPartner = request.user
        # Number and id only: withdrawal_submit locks and reads the row itself.
        account = selectors.bank_account_ref(bank=bank, account_no=account_no)
        if account is None:
            raise account_not_found()
        # One transaction, so the account lock withdrawal_submit takes is
        # still held when the estimate is read: no deposit slips in between.
        with transaction.atomic():
            withdrawal = withdrawal_submit(
                account=account,
                type=Withdrawal.Type.EXIT,
                actor=bank_actor(request),
                channel=Withdrawal.Channel.BANK_APP,
            )
            quote = withdrawal_quote(
                account=withdrawal.fund_account,
                type=Withdrawal.Type.EXIT,
                on=withdrawal.submitted_on,
                withdrawal_id=withdrawal.pk,
            )
        out = ExitOutputSerializer(
            {
                "withdrawal_id": withdrawal.withdrawal_no,
                "status": withdrawal.status,
                "estimated_amount": quote.estimated_payout,
            }
        )
        return Response(out.data, status=201)


class WithdrawalDetailView(BankAPIView):
    @extend_schema(
        operation_id="withdrawals_read",
        summary="Follow a withdrawal of an account this bank services",
        responses={
            200: WithdrawalOutputSerializer,
            404: api_schema.error(
                "Unknown withdrawal, or one of an account another bank services.",
                "not_found",
            ),
            **api_schema.COMMON_ERRORS,
        },
    )
    def get(self, request: Request, withdrawal_id: str) -> Response:
        if not _WITHDRAWAL_ID_RE.fullmatch(withdrawal_id):
            raise withdrawal_not_found()
        withdrawal = withdrawal_for_bank(
            withdrawal_no=withdrawal_id, bank_id=request.user.pk
        )
        if withdrawal is None:
            raise withdrawal_not_found()
        return Response(withdrawal_payload(withdrawal))
