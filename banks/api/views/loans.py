"""Loans through the servicing bank: the trial calculation, the application,
following a loan and its schedule, the disbursement and the repayments."""

import re
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import BankPartner, FundAccount
from banks import selectors
from banks.api import schema as api_schema
from banks.api.loan_serializers import (
    LoanApplicationInputSerializer,
    LoanApplicationOutputSerializer,
    LoanDisbursementInputSerializer,
    LoanEstimateInputSerializer,
    LoanEstimateOutputSerializer,
    LoanOutputSerializer,
    LoanRepaymentInputSerializer,
    LoanRepaymentOutputSerializer,
    LoanScheduleOutputSerializer,
)
from banks.api.views.base import (
    BankAPIView,
    account_not_found,
    bank_actor,
    idempotent_post,
)
from core.clock import business_date, business_now
from core.exceptions import ConflictError, DomainError, NotFoundError, field_error
from loans.calculator import Estimate, LoanAsk, loan_estimate
from loans.models import Loan
from loans.repayments import loan_repay
from loans.selectors import (
    LoanTerms,
    disbursement_txn_used,
    loan_for_bank,
    loan_outstanding_principal,
    loan_position,
    loan_schedule,
    loan_terms,
)
from loans.services import loan_apply, loan_disburse

# Loan numbers are "L" + date + sequence; anything else is unknown before it
# reaches the database (as for withdrawal numbers).
_LOAN_NO_RE = re.compile(r"[A-Za-z0-9]{1,20}")

# The field of the body each kind's extra record comes from, and the codes
# loan_apply names it "details" under.
_KIND_FIELDS = {
    Loan.Kind.COMBINATION: "commercial_amount",
    Loan.Kind.CONVERSION: "commercial_settled_on",
}
_DETAIL_CODES = {
    "commercial_part_missing": "commercial_amount",
    "commercial_not_settled": "commercial_settled_on",
}

_LOAN_BODY_NOTE = (
    " `account_no` must be an account this bank services (else 404 "
    "account_not_found); `co_applicant_account_no` (the spouse, optional) an "
    "account this bank services or one whose holder granted this bank a "
    "consent that is still valid (else 404 account_not_found, as for an "
    "unknown number)."
)
_LOAN_404 = api_schema.error(
    "Unknown loan, or one another bank services (the same body).", "not_found"
)
_ACCOUNT_404 = api_schema.error(
    "Unknown applicant or co-applicant account, or one this bank may not use.",
    "account_not_found",
)


def loan_not_found() -> NotFoundError:
    return NotFoundError(_("No such loan for this bank."), "not_found")


def _bank_loan(request: Request, loan_no: str) -> Loan:
    if not _LOAN_NO_RE.fullmatch(loan_no):
        raise loan_not_found()
    loan = loan_for_bank(loan_no=loan_no, bank_id=request.user.pk)
    if loan is None:
        raise loan_not_found()
    return loan


def _co_applicant(bank: BankPartner, account_no: str) -> FundAccount:
    """The spouse's account, under the credit profile's rule: this bank
    services it or holds a valid consent. Anything else is answered as an
    unknown number, so a bank learns nothing of another bank's accounts."""
    account = selectors.account_by_no(account_no)
    if account is None or (
        account.bank_id != bank.pk
        and selectors.consent_active(depositor=account.depositor, bank=bank) is None
    ):
        raise NotFoundError(
            _("No such co-applicant account for this bank."), "account_not_found"
        )
    return account


def _ask(request: Request, data: dict[str, Any]) -> LoanAsk:
    bank: BankPartner = request.user
    account = selectors.bank_account_get(bank=bank, account_no=data["account_no"])
    if account is None:
        raise account_not_found()
    co_applicant = None
    if data.get("co_applicant_account_no") is not None:
        co_applicant = _co_applicant(bank, data["co_applicant_account_no"])
        if co_applicant.depositor_id == account.depositor_id:
            raise field_error(
                "co_applicant_account_no",
                _("The co-applicant must be another person."),
                "validation_error",
            )
    return LoanAsk(
        account=account,
        co_applicant=co_applicant,
        kind=data["kind"],
        home=data["home"],
        price=data["price"],
        high_quality=data["high_quality"],
        children=data["children"],
        talent=data["talent"],
        monthly_income=data["monthly_income"],
        term_months=data["term_months"],
        method=data["method"],
        amount=data.get("amount"),
    )


def _figures(source: Estimate | LoanTerms) -> dict[str, Any]:
    return {
        "limit": source.limit,
        "components": source.components,
        "max_term_months": source.max_term_months,
        "rate": source.rate,
        "amount": source.amount,
        "term_months": source.term_months,
        "method": source.method,
        "first_payment": source.first_payment,
        "last_payment": source.last_payment,
        "total_interest": source.total_interest,
    }


def loan_body(loan: Loan) -> dict[str, Any]:
    """The loan as ``GET /api/v1/loans/{loan_no}/`` shows it."""
    position = loan_position(loan)
    return LoanOutputSerializer(
        {
            "loan_no": loan.loan_no,
            "account_no": loan.fund_account.account_no,
            "kind": loan.kind,
            "status": loan.status,
            "principal": loan.principal,
            "rate": loan.rate,
            "term_months": loan.term_months,
            "method": loan.method,
            "disbursed_on": loan.disbursed_on,
            "outstanding_principal": loan.outstanding_principal,
            "next_due_date": position.next_due_date,
            "next_due_amount": position.next_due_amount,
            "overdue_instalments": position.overdue_instalments,
            "overdue_amount": position.overdue_amount,
            "penalty_due": position.penalty_due,
            "bucket": position.bucket,
        }
    ).data


_LOAN_BODY_EXAMPLE = {
    "account_no": "3706000000017",
    "kind": "hpf",
    "home": "first",
    "price": "900000.00",
    "high_quality": False,
    "children": 0,
    "talent": False,
    "monthly_income": "20000.00",
    "term_months": 360,
    "method": "equal_instalment",
    "amount": "590000.00",
}


class LoanEstimateView(BankAPIView):
    @extend_schema(
        operation_id="loan_estimates_create",
        summary="Trial calculation of a loan (writes nothing)",
        description=(
            "The limit with every component, the rate, the longest term and "
            "the payments for the amount asked (the limit when `amount` is "
            "left out), and whether an application would be accepted now "
            "(`eligible`, with every refusal code in `reasons`). Writes "
            "nothing and ends no subsidy; an Idempotency-Key is still "
            "required, as on every POST." + _LOAN_BODY_NOTE
        ),
        parameters=[api_schema.IDEMPOTENCY_HEADER],
        request=LoanEstimateInputSerializer,
        examples=[
            OpenApiExample("Estimate", value=_LOAN_BODY_EXAMPLE, request_only=True)
        ],
        responses={
            200: LoanEstimateOutputSerializer,
            400: api_schema.error(
                "Invalid input: malformed or missing fields, the co-applicant "
                "is the applicant, missing Idempotency-Key."
                + api_schema.BODY_ERROR_DESCRIPTION,
                "validation_error",
                *api_schema.BODY_ERROR_CODES,
            ),
            404: _ACCOUNT_404,
            409: api_schema.error(
                "A request with this Idempotency-Key is still being processed.",
                "idempotency_key_in_progress",
            ),
            **api_schema.POST_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        return idempotent_post(
            self,
            request,
            LoanEstimateInputSerializer,
            lambda data: self._estimate(request, data),
        )

    def _estimate(self, request: Request, data: dict[str, Any]) -> Response:
        estimate = loan_estimate(_ask(request, data))
        out = LoanEstimateOutputSerializer(
            {
                "eligible": estimate.eligible,
                "reasons": estimate.reasons,
                **_figures(estimate),
            }
        )
        return Response(out.data)


class LoanApplicationView(BankAPIView):
    @extend_schema(
        operation_id="loan_applications_create",
        summary="File a loan application for the center's review",
        description=(
            "The estimate's body with `amount` required. A combination loan "
            "also gives `commercial_amount` (the commercial part), a "
            "conversion `commercial_settled_on` (the day the commercial loan "
            "was settled). Filing ends the subsidy of the applicant and the "
            "co-applicant. The center reviews it (two approvers); follow it "
            "with `GET /api/v1/loans/{loan_no}/` and the `loan.approved` and "
            "`loan.rejected` webhooks. A refusal by the rules lists every "
            "refusal code in `error.reasons`." + _LOAN_BODY_NOTE
        ),
        parameters=[api_schema.IDEMPOTENCY_HEADER],
        request=LoanApplicationInputSerializer,
        examples=[
            OpenApiExample("Application", value=_LOAN_BODY_EXAMPLE, request_only=True)
        ],
        responses={
            201: LoanApplicationOutputSerializer,
            400: api_schema.error(
                "Invalid input: the amount is above the limit, a combination "
                "loan without its commercial part, a conversion without the "
                "commercial loan's settlement day (or one after the business "
                "date), malformed or missing fields, missing Idempotency-Key."
                + api_schema.BODY_ERROR_DESCRIPTION,
                "validation_error",
                "amount_over_limit",
                "commercial_part_missing",
                "commercial_not_settled",
                *api_schema.BODY_ERROR_CODES,
            ),
            404: _ACCOUNT_404,
            409: api_schema.error(
                "The rules refuse the application (every reason in "
                "error.reasons, as the estimate lists them), or a request with "
                "this Idempotency-Key is still being processed.",
                "not_eligible",
                "idempotency_key_in_progress",
            ),
            **api_schema.POST_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        return idempotent_post(
            self,
            request,
            LoanApplicationInputSerializer,
            lambda data: self._apply(request, data),
        )

    def _apply(self, request: Request, data: dict[str, Any]) -> Response:
        ask = _ask(request, data)
        field = _KIND_FIELDS.get(ask.kind)
        details = {field: data[field]} if field and field in data else {}
        try:
            loan = loan_apply(ask=ask, actor=bank_actor(request), details=details)
        except DomainError as exc:
            # The service names its record; the bank sent the body's field.
            if exc.code in _DETAIL_CODES and "details" in exc.fields:
                exc.fields[_DETAIL_CODES[exc.code]] = exc.fields.pop("details")
            raise
        out = LoanApplicationOutputSerializer(
            {
                "loan_no": loan.loan_no,
                "status": loan.status,
                **_figures(loan_terms(loan)),
            }
        )
        return Response(out.data, status=201)


class LoanDetailView(BankAPIView):
    @extend_schema(
        operation_id="loans_read",
        summary="Follow a loan this bank services",
        description=(
            "Where the loan stands on the business date. An instalment not "
            "fully paid after its due day is overdue; `penalty_due` is the "
            "penalty interest the nightly job has accrued on them and not yet "
            "paid."
        ),
        responses={
            200: LoanOutputSerializer,
            404: _LOAN_404,
            **api_schema.COMMON_ERRORS,
        },
    )
    def get(self, request: Request, loan_no: str) -> Response:
        return Response(loan_body(_bank_loan(request, loan_no)))


class LoanScheduleView(BankAPIView):
    @extend_schema(
        operation_id="loans_schedule",
        summary="The loan's schedule in force",
        description=(
            "Every instalment in order of `n`, as recomputed after early "
            "repayments and repricing; empty until the loan is disbursed."
        ),
        responses={
            200: LoanScheduleOutputSerializer,
            404: _LOAN_404,
            **api_schema.COMMON_ERRORS,
        },
    )
    def get(self, request: Request, loan_no: str) -> Response:
        rows = loan_schedule(_bank_loan(request, loan_no))
        out = LoanScheduleOutputSerializer(
            {
                "items": [
                    {
                        "n": row.n,
                        "due_date": row.due_date,
                        "principal": row.principal,
                        "interest": row.interest,
                        "total": row.total,
                        "paid_principal": row.paid_principal,
                        "paid_interest": row.paid_interest,
                        "paid_penalty": row.paid_penalty,
                        "status": row.status,
                    }
                    for row in rows
                ]
            }
        )
        return Response(out.data)


class LoanDisbursementView(BankAPIView):
    @extend_schema(
        operation_id="loans_disbursement_create",
        summary="Report that the bank released an approved loan",
        description=(
            "Posts the disbursement and fixes the schedule: instalment n "
            "falls due on the disbursement's day of month, n months later "
            "(the month's last day where that month is shorter). Answers the "
            "loan as `GET` shows it, `status` `active`."
        ),
        parameters=[api_schema.IDEMPOTENCY_HEADER],
        request=LoanDisbursementInputSerializer,
        responses={
            201: LoanOutputSerializer,
            400: api_schema.error(
                "Invalid input: disbursed_on after the business date, "
                "malformed fields, missing Idempotency-Key."
                + api_schema.BODY_ERROR_DESCRIPTION,
                "validation_error",
                "disbursed_on_in_future",
                *api_schema.BODY_ERROR_CODES,
            ),
            404: _LOAN_404,
            409: api_schema.error(
                "The loan is not approved (still in review, or rejected), it "
                "is already disbursed, or the bank_txn_id was used for "
                "another loan's disbursement.",
                "not_approved",
                "already_disbursed",
                "duplicate_bank_txn",
                "idempotency_key_in_progress",
            ),
            **api_schema.POST_ERRORS,
        },
    )
    def post(self, request: Request, loan_no: str) -> Response:
        return idempotent_post(
            self,
            request,
            LoanDisbursementInputSerializer,
            lambda data: self._disburse(request, loan_no, data),
        )

    def _disburse(
        self, request: Request, loan_no: str, data: dict[str, Any]
    ) -> Response:
        loan = _bank_loan(request, loan_no)
        # loan_disburse takes any day; a schedule that starts after today
        # would be a typing error on the bank's side.
        if data["disbursed_on"] > business_date():
            raise field_error(
                "disbursed_on",
                _("The disbursement date is later than the business date."),
                "disbursed_on_in_future",
            )
        # The same id for this loan again is a retry with a new key: the
        # loan's status answers it (already_disbursed).
        if disbursement_txn_used(
            bank_id=loan.bank_id, bank_txn_id=data["bank_txn_id"], other_than=loan.pk
        ):
            raise ConflictError(
                _("This bank transaction id was already used."), "duplicate_bank_txn"
            )
        # One transaction: the answer shows the loan as this disbursement
        # left it, before any repayment can land.
        with transaction.atomic():
            disbursed = loan_disburse(
                loan=loan,
                bank_txn_id=data["bank_txn_id"],
                disbursed_on=data["disbursed_on"],
                actor=bank_actor(request),
            )
            body = loan_body(disbursed)
        return Response(body, status=201)


class LoanRepaymentView(BankAPIView):
    @extend_schema(
        operation_id="loans_repayments_create",
        summary="Post a loan repayment the bank collected",
        description=(
            "Pays the overdue instalments oldest first (each its penalty, "
            "then interest, then principal), then the instalment due next; "
            "an amount beyond that repays principal early, and `early` says "
            "what happens to the rest of the schedule (`reduce_payment`, the "
            "default: same term, lower payments; `shorten_term`: same "
            "payment, fewer instalments). Paying everything still owed "
            "settles the loan (`loan.settled`)."
        ),
        parameters=[api_schema.IDEMPOTENCY_HEADER],
        request=LoanRepaymentInputSerializer,
        responses={
            201: LoanRepaymentOutputSerializer,
            400: api_schema.error(
                "Invalid input: more than everything still owed, paid_at after "
                "the business date or before the disbursement, malformed "
                "fields, missing Idempotency-Key." + api_schema.BODY_ERROR_DESCRIPTION,
                "validation_error",
                "overpayment",
                "paid_at_in_future",
                "paid_at_before_disbursement",
                *api_schema.BODY_ERROR_CODES,
            ),
            404: _LOAN_404,
            409: api_schema.error(
                "The loan is not active (not yet disbursed, settled or "
                "rejected), or the bank_txn_id was already used for a "
                "repayment.",
                "loan_not_active",
                "duplicate_bank_txn",
                "idempotency_key_in_progress",
            ),
            **api_schema.POST_ERRORS,
        },
    )
    def post(self, request: Request, loan_no: str) -> Response:
        return idempotent_post(
            self,
            request,
            LoanRepaymentInputSerializer,
            lambda data: self._repay(request, loan_no, data),
        )

    def _repay(self, request: Request, loan_no: str, data: dict[str, Any]) -> Response:
        loan = _bank_loan(request, loan_no)
        # loan_repay takes the payment's day from paid_at.date(): that day
        # is the Shanghai one, whatever offset the bank sent.
        paid_at = timezone.localtime(data["paid_at"])
        if paid_at > business_now():
            raise field_error(
                "paid_at",
                _("The payment time is later than the business date."),
                "paid_at_in_future",
            )
        if (
            loan.status == Loan.Status.ACTIVE
            and loan.disbursed_on is not None
            and paid_at.date() < loan.disbursed_on
        ):
            raise field_error(
                "paid_at",
                _("The payment time is before the loan was disbursed."),
                "paid_at_before_disbursement",
            )
        # One transaction: the outstanding principal is this repayment's,
        # not that of one posted just after it.
        with transaction.atomic():
            repayment = loan_repay(
                loan=loan,
                amount=data["amount"],
                paid_at=paid_at,
                actor=bank_actor(request),
                bank_txn_id=data["bank_txn_id"],
                early=data["early"],
            )
            outstanding = loan_outstanding_principal(loan.pk)
        out = LoanRepaymentOutputSerializer(
            {
                "repayment_id": repayment.pk,
                "principal": repayment.principal,
                "interest": repayment.interest,
                "penalty": repayment.penalty,
                "outstanding_principal": outstanding,
            }
        )
        return Response(out.data, status=201)
