"""Reference data a bank needs to fill its forms: the industry-chain codes."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from banks import selectors
from banks.api import schema as api_schema
from banks.api.serializers import IndustryListSerializer
from banks.api.views.base import BankAPIView


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
