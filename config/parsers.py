"""The API's JSON parser: DRF's, plus a refusal of bodies nested too deep.

``json`` raises RecursionError, not ValueError, for a body such as a hundred
thousand opening brackets; DRF's parser lets it through and the request
would end in a 500. It is a malformed body like any other: 400.
"""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON nested too deeply") from None
