"""Statements: a bank's postings on a date, paged (reconciliation)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from banks import selectors
from banks.api import schema as api_schema
from banks.api.serializers import StatementOutputSerializer, parse_strict_date
from banks.api.views.base import BankAPIView
from core.exceptions import DomainError
from core.inputs import parse_ascii_int


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
