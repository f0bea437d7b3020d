"""The deposit fixtures (``fe_account``, ``pay``) live in tests/conftest.py,
shared by every floor's tests; ``at`` is kept here for the old imports."""

from tests.conftest import SHANGHAI, at

__all__ = ["SHANGHAI", "at"]
