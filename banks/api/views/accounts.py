"""Accounts: open one (bank-app channel), read one, its credit profile."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import BankPartner, FundAccount
from banks import selectors
from banks.api import schema as api_schema
from banks.api.serializers import (
    AccountOpenInputSerializer,
    AccountOpenOutputSerializer,
    AccountOutputSerializer,
    CreditProfileOutputSerializer,
)
from banks.api.views.base import (
    BankAPIView,
    account_not_found,
    bank_actor,
    idempotent_post,
)
from core.clock import business_date
from core.exceptions import DomainError, PermissionDeniedError
from deposits.selectors import account_deposit_summary, current_agreement
from deposits.services import account_open_with_agreement
from subsidies.selectors import subsidy_status_on


class AccountOpenView(BankAPIView):
    @extend_schema(
        operation_id="accounts_open",
        summary="Open an account (bank-app channel)",
        parameters=[api_schema.IDEMPOTENCY_HEADER],
        request=AccountOpenInputSerializer,
        responses={
            201: AccountOpenOutputSerializer,
            400: api_schema.error(
                "Invalid input: ID number, working age, amount range, month, "
                "unknown industry, missing Idempotency-Key."
                + api_schema.BODY_ERROR_DESCRIPTION,
                "validation_error",
                "invalid_id_number",
                "age_not_allowed",
                "amount_out_of_range",
                *api_schema.BODY_ERROR_CODES,
            ),
            409: api_schema.error(
                "The person already has an open or sealed account (here or, "
                "per the national platform, elsewhere), or a credit record "
                "blocks opening.",
                "duplicate_account",
                "bad_credit",
            ),
            **api_schema.POST_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        return idempotent_post(
            self,
            request,
            AccountOpenInputSerializer,
            lambda data: self._open(request, data),
        )

    def _open(self, request: Request, data: dict[str, Any]) -> Response:
        try:
            account, agreement = account_open_with_agreement(
                id_number=data["id_number"],
                name=data["name"],
                phone=data["phone"],
                employment_form=data["employment_form"],
                industry_code=data["industry"],
                bank=request.user,
                channel=FundAccount.Channel.BANK_APP,
                monthly_amount=data["monthly_amount"],
                cadence=data["cadence"],
                start_month=data["start_month"],
                actor=bank_actor(request),
            )
        except DomainError as exc:
            # The service names the agreement's field; the bank sent start_month.
            if "first_month" in exc.fields:
                exc.fields["start_month"] = exc.fields.pop("first_month")
            raise
        out = AccountOpenOutputSerializer(
            {
                "account_no": account.account_no,
                "status": account.status,
                "monthly_amount": agreement.monthly_amount,
                "cadence": agreement.cadence,
                "start_month": agreement.first_month,
            }
        )
        return Response(out.data, status=201)


class AccountDetailView(BankAPIView):
    @extend_schema(
        operation_id="accounts_read",
        summary="Read an account this bank services",
        responses={
            200: AccountOutputSerializer,
            404: api_schema.error(
                "Unknown account, or serviced by another bank.", "account_not_found"
            ),
            **api_schema.COMMON_ERRORS,
        },
    )
    def get(self, request: Request, account_no: str) -> Response:
        account = selectors.bank_account_get(bank=request.user, account_no=account_no)
        if account is None:
            raise account_not_found()
        summary = account_deposit_summary(account)
        agreement = current_agreement(account)
        out = AccountOutputSerializer(
            {
                "account_no": account.account_no,
                "status": account.status,
                "balance": account.balance,
                "monthly_amount": agreement.monthly_amount if agreement else None,
                "cadence": agreement.cadence if agreement else None,
                "paid_through": summary["paid_through"],
                "arrears_months": summary["arrears_months"],
                "subsidy_status": subsidy_status_on(account),
            }
        )
        return Response(out.data)


class CreditProfileView(BankAPIView):
    @extend_schema(
        operation_id="accounts_credit_profile",
        summary="Credit profile, for a bank the depositor consented to",
        responses={
            200: CreditProfileOutputSerializer,
            403: api_schema.error(
                "The depositor has not granted this bank a consent that is "
                "still valid (answered only to a bank that services the "
                "account or was once granted consent).",
                "no_consent",
            ),
            404: api_schema.error(
                "Unknown account, or one this bank has no relation to.",
                "account_not_found",
            ),
            **api_schema.COMMON_ERRORS,
        },
    )
    def get(self, request: Request, account_no: str) -> Response:
        bank: BankPartner = request.user
        account = selectors.account_by_no(account_no)
        if account is None:
            raise account_not_found()
        if selectors.consent_active(depositor=account.depositor, bank=bank) is None:
            # 403 would tell any bank that the number exists. Only a bank that
            # already knows this person (it services the account, or was once
            # granted consent) hears "no consent"; every other bank gets the
            # same 404 as for an unknown number (contract: a bank never learns
            # that another bank's object exists).
            if account.bank_id == bank.pk or selectors.consent_ever_granted(
                depositor=account.depositor, bank=bank
            ):
                raise PermissionDeniedError(
                    _("The depositor has not granted this bank a valid consent."),
                    "no_consent",
                )
            raise account_not_found()
        as_of = business_date()
        summary = account_deposit_summary(account, as_of=as_of)
        out = CreditProfileOutputSerializer(
            {
                "balance": account.balance,
                "first_month": summary["first_month"],
                "months_paid": summary["months_paid"],
                "continuous_months": summary["continuous_months"],
                "arrears_months_24": summary["arrears_months_24"],
                "status": account.status,
                "as_of": as_of,
            }
        )
        return Response(out.data)
