"""Valid resident ID numbers for tests and demo data."""

import datetime as dt

from stdnum.cn import ric


def make_id(
    birth: dt.date, *, region: str = "370602", seq: int = 123, male: bool = True
) -> str:
    """An 18-character ID with a correct check digit; sex from the sequence parity."""
    seq = seq % 1000
    if (seq % 2 == 1) != male:
        seq = (seq + 1) % 1000
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")
