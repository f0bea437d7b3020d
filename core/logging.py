"""Keep resident ID numbers out of every log line."""

import logging
import re

_ID_RE = re.compile(
    r"(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])"
)


def mask_id_numbers(text: str) -> str:
    return _ID_RE.sub(lambda m: m.group(1) + "********" + m.group(2), text)


class MaskIdNumbersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not drop the log
            return True
        masked = mask_id_numbers(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True
