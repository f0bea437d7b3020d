"""Partner bank API v1 (contract.md). Thin views: validate, call one service
or selector, serialize. Errors leave through config.exception_handler."""

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import BankPartner, FundAccount
from banks import selectors, services
from banks.api import schema as api_schema
from banks.api.authentication import (
    BankAuth,
    BankRateThrottle,
    BankSignatureAuthentication,
    IsBankPartner,
)
from banks.api.fast import deposit_fast
from banks.api.serializers import (
    AccountOpenInputSerializer,
    AccountOpenOutputSerializer,
    AccountOutputSerializer,
    CreditProfileOutputSerializer,
    DepositInputSerializer,
    DepositOutputSerializer,
    IndustryListSerializer,
    StatementOutputSerializer,
    deposit_output,
    parse_strict_date,
)
from banks.models import IdempotencyKey
from banks.signing import IDEMPOTENCY_KEY_RE
from config.exception_handler import error_body
from config.parsers import parse_json_body
from core.clock import business_date
from core.exceptions import DomainError, NotFoundError, PermissionDeniedError
from core.inputs import parse_ascii_int

logger = logging.getLogger(__name__)

REPLAY_HEADER = "Idempotent-Replayed"
# A racing duplicate waits this long for the first request's response.
IDEMPOTENCY_WAIT_SECONDS = 15.0


def account_not_found() -> NotFoundError:
    return NotFoundError(_("No such account for this bank."), "account_not_found")


# Signed, throttled, logged; never a bare 500 page. (A comment, not a
# docstring: drf-spectacular would print a docstring on every operation.)
class BankAPIView(APIView):
    schema = api_schema.BankAutoSchema()
    authentication_classes = [BankSignatureAuthentication]
    permission_classes = [IsBankPartner]
    throttle_classes = [BankRateThrottle]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = super().dispatch(request, *args, **kwargs)
        self._log_request(request, response, started)
        return response

    def finalize_response(
        self, request: Request, response: Any, *args: Any, **kwargs: Any
    ) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 401 and not response.has_header("WWW-Authenticate"):
            response["WWW-Authenticate"] = 'HMAC-SHA256 realm="api"'
        return response

    def handle_exception(self, exc: Exception) -> Response:
        try:
            return super().handle_exception(exc)
        except Exception:  # noqa: BLE001 - a bug must still answer the contract body
            logger.exception("unhandled error in bank API")
            return Response(
                error_body("internal_error", _("An internal error occurred.")),
                status=500,
            )

    _idempotency_completion: services.IdempotencyCompletion | None = None

    def _log_request(self, request: HttpRequest, response: Any, started: float) -> None:
        completes = self._idempotency_completion
        try:
            drf_request = getattr(self, "request", None)
            bank = getattr(drf_request, "_user", None)
            data = getattr(response, "data", None)
            code = ""
            if isinstance(data, dict) and isinstance(data.get("error"), dict):
                code = str(data["error"].get("code", ""))
            body: bytes = b""
            unread: int | None = None
            if response.status_code >= 400 and request.method == "POST":
                body, unread = _body_for_log(request)
            services.api_request_log_create(
                bank=bank if isinstance(bank, BankPartner) else None,
                method=request.method or "",
                path=request.get_full_path(),
                status=response.status_code,
                latency_ms=int((time.perf_counter() - started) * 1000),
                idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY", "")[:64],
                error_code=code,
                replayed=response.get(REPLAY_HEADER) == "true",
                body_excerpt=body,
                body_unread_bytes=unread,
                completes=completes,
            )
        except Exception:  # noqa: BLE001 - logging must not fail the request
            logger.exception("could not write the API request log")
            if completes is not None:
                # The stored response matters more than the log row: without
                # it the key would stay in progress until its lease ends.
                services.idempotency_complete(
                    record_id=completes.record_id,
                    status=completes.status,
                    body=completes.body,
                )


def _body_for_log(request: HttpRequest) -> tuple[bytes, int | None]:
    """The raw body, or its declared size when it was too large to read."""
    try:
        return request.body, None
    except RequestDataTooBig:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        size = int(declared) if declared.isascii() and declared.isdigit() else 0
        return b"", size
    except Exception:  # noqa: BLE001 - the log row matters more than its excerpt
        return b"", None


def _idempotency_key(request: Request) -> str:
    key = request.META.get("HTTP_IDEMPOTENCY_KEY", "")
    if not key:
        raise DomainError(
            _("The Idempotency-Key header is required on every POST."),
            "idempotency_key_missing",
        )
    if not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise DomainError(
            _("The Idempotency-Key must be 1-64 characters of A-Z, a-z, 0-9, _ or -."),
            "idempotency_key_invalid",
        )
    return key


def validated_input(request: Request, serializer_class: type) -> dict[str, Any]:
    """The body under the one acceptance rule (config.parsers, the fast
    path's too), then the serializer. Called inside the idempotent work, so
    its 400 is the key's first response like any other."""
    payload = parse_json_body(
        request._request.META.get("CONTENT_TYPE"), request._request.body
    )
    serializer = serializer_class(data=payload)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _replay(record: IdempotencyKey) -> Response:
    import json

    return Response(
        json.loads(record.response_body),
        status=record.response_status,
        headers={REPLAY_HEADER: "true"},
    )


def _reused(
    record: IdempotencyKey, *, body_sha256: str, path: str, method: str
) -> bool:
    return (
        record.body_sha256 != body_sha256
        or record.path != path[:300]
        or record.method != method
    )


def run_idempotent(
    view: BankAPIView, request: Request, key: str, work: Callable[[], Response]
) -> Response:
    """Do ``work`` once per (bank, key); replay its response otherwise.

    The key's record is read before anything else about the request: a
    replay answers what the first request answered even when this server
    would now judge the body differently, and a body is parsed and validated
    only inside ``work``, whose 400 is stored like any other answer. Only a
    5xx gives the key back.
    """
    bank: BankPartner = request.user
    auth: BankAuth = request.auth
    path = request._request.get_full_path()
    method = request.method or "POST"
    record = selectors.idempotency_record(bank=bank, key=key)
    for _attempt in range(3):
        if record is None:
            claim = services.idempotency_claim(
                bank=bank,
                key=key,
                method=method,
                path=path,
                body_sha256=auth.body_sha256,
            )
            if claim.claimed:
                return _claimed_work(view, claim.record_id, work)
            record = IdempotencyKey.objects.filter(pk=claim.record_id).first()
            if record is None:
                continue  # the first request failed and gave the key back
        if _reused(record, body_sha256=auth.body_sha256, path=path, method=method):
            raise DomainError(
                _("This Idempotency-Key was used with a different request body."),
                "idempotency_key_reused",
                status=422,
            )
        if record.state != IdempotencyKey.State.DONE:
            if record.created_at < timezone.now() - dt.timedelta(
                seconds=services.IDEMPOTENCY_LEASE_SECONDS
            ):
                record = None  # a crashed worker's lease: the claim takes it over
                continue
            waited = services.idempotency_wait(
                record_id=record.pk, timeout=IDEMPOTENCY_WAIT_SECONDS
            )
            if waited is None:
                record = None  # the first request failed and gave the key back
                continue
            record = waited
        if record.state == IdempotencyKey.State.DONE:
            return _replay(record)
        break
    raise DomainError(
        _("A request with this Idempotency-Key is still being processed; retry."),
        "idempotency_key_in_progress",
        status=409,
    )


def _claimed_work(
    view: BankAPIView, record_id: int, work: Callable[[], Response]
) -> Response:
    try:
        response = work()
    except Exception as exc:  # noqa: BLE001 - mapped to the contract body
        response = view.handle_exception(exc)
    if response.status_code >= 500:
        services.idempotency_release(record_id=record_id)
    else:
        # Stored by dispatch together with the request log (one round
        # trip), before the response leaves the server.
        view._idempotency_completion = services.IdempotencyCompletion(
            record_id=record_id,
            status=response.status_code,
            body=response.data,
        )
    return response


# --- accounts -------------------------------------------------------------------


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
        key = _idempotency_key(request)
        return run_idempotent(self, request, key, lambda: self._open(request))

    def _open(self, request: Request) -> Response:
        from deposits.services import account_open_with_agreement

        data = validated_input(request, AccountOpenInputSerializer)
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
        )
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
        from deposits.selectors import account_deposit_summary, current_agreement

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
                "subsidy_status": account.subsidy_status,
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
        from deposits.selectors import account_deposit_summary

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


# --- deposits -------------------------------------------------------------------


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
        key = _idempotency_key(request)
        return run_idempotent(self, request, key, lambda: self._post(request))

    def _post(self, request: Request) -> Response:
        from deposits.services import deposit_post

        data = validated_input(request, DepositInputSerializer)
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


# --- statements, industries, not-yet-available ----------------------------------


class StatementView(BankAPIView):
    @extend_schema(
        operation_id="statements_read",
        summary="This bank's postings on a date (reconciliation)",
        description=(
            "Postings whose posting time falls on the date in Asia/Shanghai, "
            "oldest first (newest last). `count` and `total` cover the whole "
            "day; `items` one page. Pass `next_cursor` back as `cursor`."
        ),
        parameters=[
            OpenApiParameter(
                "date",
                {"type": "string", "format": "date"},
                OpenApiParameter.PATH,
                description="YYYY-MM-DD",
            ),
            OpenApiParameter(
                "cursor",
                str,
                OpenApiParameter.QUERY,
                required=False,
                description=(
                    "Opaque; the previous page's next_cursor, valid only for "
                    "the same bank and date."
                ),
            ),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": 500},
                OpenApiParameter.QUERY,
                required=False,
                description="Items per page, 1-500 (default 100).",
            ),
        ],
        responses={
            200: StatementOutputSerializer,
            400: api_schema.error(
                "Malformed or out-of-range date, a cursor this API did not "
                "give this bank for this date, a page size outside 1-500.",
                "invalid_date",
                "invalid_cursor",
                "invalid_page_size",
            ),
            **api_schema.COMMON_ERRORS,
        },
    )
    def get(self, request: Request, date: str) -> Response:
        try:
            day = parse_strict_date(date)
        except ValueError:
            raise DomainError(
                _("A date must be written as YYYY-MM-DD."),
                "invalid_date",
                fields={"date": [_("A date must be written as YYYY-MM-DD.")]},
            ) from None
        try:
            # ASCII (or full-width) digits only: "²" passes str.isdigit, then
            # int() fails; "١٠" would pass both.
            page_size = parse_ascii_int(
                request.query_params.get("page_size", "100"),
                field="page_size",
                minimum=1,
                maximum=500,
            )
        except DomainError:
            raise DomainError(
                _("page_size must be a whole number from 1 to 500."),
                "invalid_page_size",
                fields={"page_size": [_("Must be a whole number from 1 to 500.")]},
            ) from None
        cursor = request.query_params.get("cursor") or None
        try:
            page = selectors.bank_statement(
                bank=request.user, day=day, cursor=cursor, page_size=page_size
            )
        except selectors.InvalidDay:
            raise DomainError(
                _("A date must be written as YYYY-MM-DD."),
                "invalid_date",
                fields={"date": [_("No statement covers this date.")]},
            ) from None
        except selectors.InvalidCursor:
            raise DomainError(
                _("The cursor is not one this API gave out."),
                "invalid_cursor",
                fields={"cursor": [_("Unknown cursor.")]},
            ) from None
        out = StatementOutputSerializer(
            {
                "date": page.day,
                "count": page.count,
                "total": page.total,
                "items": page.items,
                "next_cursor": page.next_cursor,
            }
        )
        return Response(out.data)


class IndustryListView(BankAPIView):
    @extend_schema(
        operation_id="industries_list",
        summary="Industry-chain codes",
        responses={200: IndustryListSerializer, **api_schema.COMMON_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(
            IndustryListSerializer({"items": selectors.industries_active()}).data
        )


_NOT_AVAILABLE_SCHEMA = extend_schema(
    summary="Not available yet",
    description=(
        "Part of contract v1; arrives with the withdrawal and loan "
        "capabilities. Until then every method answers 404 not_available."
    ),
    request=None,
    responses={
        404: api_schema.error("Not available yet.", "not_available"),
        **api_schema.COMMON_ERRORS,
    },
)


# Exit and loan repayments: in the contract, not built yet (404).
class NotAvailableView(BankAPIView):
    def _answer(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFoundError(_("This operation is not available yet."), "not_available")

    @extend_schema(operation_id="accounts_exit")
    @_NOT_AVAILABLE_SCHEMA
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(request)

    # Every other method is answered alike, and kept out of the schema.
    get = put = patch = delete = extend_schema(exclude=True)(_answer)


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
