import datetime as dt
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

# A business date late in a month, with 18 months of history after the pilot
# start: every case of the month grid has room to appear.
SEED_DAY = dt.date(2026, 11, 20)


@pytest.fixture
def seed_demo(business_day: Callable[[dt.date], dt.date]) -> Callable[..., str]:
    """Run the command the way other apps' benchmarks call it; returns stdout."""

    def _seed(**options: Any) -> str:
        business_day(options.pop("day", SEED_DAY))
        out = StringIO()
        call_command("seed_demo", stdout=out, **options)
        return out.getvalue()

    return _seed


@pytest.fixture
def seeded(seed_demo: Callable[..., str]) -> str:
    return seed_demo(accounts=300, months=18, seed=5)
