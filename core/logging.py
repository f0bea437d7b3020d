"""Keep personal data out of every log line and error report.

Error reports hide values by the name of the variable, parameter or key that
holds them (``id_number``, ``name``, ``phone``, ``q``...): a field name says
what a value is, whatever its shape. The ID-number pattern mask in
``MaskIdNumbersFilter`` stays as the last line of defence for text that has
no field name left, such as a formatted traceback.
"""

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

_ID_RE = re.compile(
    r"(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])"
)
# A path followed by its query string, in a request line or a quoted URL.
_QUERY_STRING_RE = re.compile(r"(/[^\s?#'\"]*)\?[^\s'\"]*")

# Parts of a variable, parameter or key name (split on "_") that mark a value
# as personal data: id_number, raw, name, phone, search_term, q, ...
PERSONAL_NAME_PARTS = frozenset(
    {
        "number",
        "numbers",
        "raw",
        "name",
        "names",
        "phone",
        "phones",
        "mobile",
        "term",
        "terms",
        "q",
        "query",
    }
)
# Containers nested deeper than this are shown as they are: reports stay
# cheap, and deep structures in a traceback are framework objects.
_MAX_CLEANSE_DEPTH = 4


def mask_id_numbers(text: str) -> str:
    return _ID_RE.sub(lambda m: m.group(1) + "********" + m.group(2), text)


def strip_query_strings(text: str) -> str:
    return _QUERY_STRING_RE.sub(r"\1", text)


def is_personal_field_name(name: object) -> bool:
    if not isinstance(name, str):
        return False
    return any(part in PERSONAL_NAME_PARTS for part in name.lower().split("_"))


_FALLBACK_FORMATTER = logging.Formatter()


class MaskIdNumbersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not drop the log
            message = None
        if message is not None:
            masked = mask_id_numbers(message)
            if masked != message:
                record.msg = masked
                record.args = None
        # Formatters reuse exc_text when it is set, so formatting the
        # traceback here lets the mask reach the lines it prints.
        if record.exc_info and not record.exc_text:
            record.exc_text = _FALLBACK_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_id_numbers(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_id_numbers(record.stack_info)
        return True


class StripQueryStringFilter(logging.Filter):
    """Request lines without their query strings.

    Admin searches (``?q=``) and filters carry names and ID numbers; the path
    is all an access log needs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not drop the log
            return True
        stripped = strip_query_strings(message)
        if stripped != message:
            record.msg = stripped
            record.args = None
        return True


class PersonalDataExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus personal-data fields hidden by name.

    Active with DEBUG on as well: debug pages get pasted into tickets.
    """

    hidden_settings = re.compile(
        r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE"
        # Whole words only, so MIDDLEWARE or VALIDATORS stay readable.
        r"|(?:^|_)(?:IDS?|NAMES?|PHONES?|MOBILE|NUMBERS?|TERMS?|Q|QUERY)(?:_|$)"
        # Request META entries that repeat the query string (QUERY_STRING is
        # caught above).
        r"|URI|REFERER",
        flags=re.I,
    )

    def cleanse_personal(self, value: Any, depth: int = 0) -> Any:
        """A copy of ``value`` with every personal-data key's value hidden."""
        if depth > _MAX_CLEANSE_DEPTH:
            return value
        try:
            return self._cleanse_personal(value, depth)
        except Exception:  # noqa: BLE001 - a broken object must not break the report
            return value

    def _cleanse_personal(self, value: Any, depth: int) -> Any:
        if isinstance(value, HttpRequest):
            # repr(request) ends with the full path, query string included.
            return "<%s: %s %r>" % (type(value).__name__, value.method, value.path)
        if isinstance(value, MultiValueDict):
            cleansed = value.copy()  # a QueryDict copy is mutable
            for key in list(cleansed):
                if is_personal_field_name(key):
                    cleansed.setlist(key, [self.cleansed_substitute])
            return cleansed
        if isinstance(value, Mapping):
            return {
                key: (
                    self.cleansed_substitute
                    if is_personal_field_name(key)
                    else self.cleanse_personal(item, depth + 1)
                )
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            items = [self.cleanse_personal(item, depth + 1) for item in value]
            return items if isinstance(value, list) else tuple(items)
        return value

    def get_cleansed_multivaluedict(self, request, multivaluedict):
        return self.cleanse_personal(
            super().get_cleansed_multivaluedict(request, multivaluedict)
        )

    def get_post_parameters(self, request):
        return self.cleanse_personal(super().get_post_parameters(request))

    def get_safe_query_parameters(self, request: HttpRequest) -> QueryDict:
        return self.cleanse_personal(request.GET)

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (
                name,
                self.cleansed_substitute
                if is_personal_field_name(name)
                else self.cleanse_personal(value),
            )
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class PersonalDataExceptionReporter(ExceptionReporter):
    """Django's report without query strings, GET values hidden by name, and
    ID numbers masked in whatever text is left (exception messages, reprs)."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if self.request is not None:
            if isinstance(self.filter, PersonalDataExceptionReporterFilter):
                get_items = self.filter.get_safe_query_parameters(self.request)
            else:
                get_items = QueryDict(mutable=True)
            data["request_GET_items"] = get_items.items()
            uri = urlsplit(data.get("request_insecure_uri", ""))
            data["request_insecure_uri"] = urlunsplit(uri._replace(query=""))
        for key in ("exception_value", "exception_notes"):
            if isinstance(data.get(key), str):
                data[key] = mask_id_numbers(data[key])
        for frame in data.get("frames", ()):
            if "vars" in frame:
                frame["vars"] = _mask_pairs(frame["vars"])
        return data


def _mask_pairs(pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [
        (name, mask_id_numbers(value) if isinstance(value, str) else value)
        for name, value in pairs
    ]
