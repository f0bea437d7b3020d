"""Writes of the deposits floor, one module per subject; import from here.

- ``agreements``: signing, opening with the first agreement, changes;
- ``inputs``: what a deposit must be, and its plan on the locked account;
- ``posting`` and ``posting_sql``: the deposit service and its PostgreSQL
  two-statement path;
- ``arrears`` and ``arrears_sql``: the monthly arrears job;
- ``conversion``: FE <-> employee on the same account.
"""

from deposits.services.agreements import (
    CURRENT_AGREEMENT_TEXT_VERSION,
    account_open_with_agreement,
    agreement_change,
    agreement_sign,
)
from deposits.services.arrears import ArrearsSummary, check_arrears
from deposits.services.conversion import (
    account_convert_to_employee,
    account_convert_to_flexible,
)
from deposits.services.posting import deposit_post, deposit_post_composed
from deposits.services.posting_sql import PgPosting, PgPostingExtras

__all__ = [
    "CURRENT_AGREEMENT_TEXT_VERSION",
    "ArrearsSummary",
    "PgPosting",
    "PgPostingExtras",
    "account_convert_to_employee",
    "account_convert_to_flexible",
    "account_open_with_agreement",
    "agreement_change",
    "agreement_sign",
    "check_arrears",
    "deposit_post",
    "deposit_post_composed",
]
