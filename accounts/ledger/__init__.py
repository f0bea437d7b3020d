"""The double-entry ledger: the only code that moves money.

Design note. A posting is one ``LedgerTransaction`` with two or more
``LedgerEntry`` legs, each a positive amount on side D or C; the legs
balance. All legs go to the database in one INSERT statement, because
PostgreSQL checks the balance per statement (an AFTER INSERT statement
trigger over the transition table): a set-based check costs one aggregate
per statement instead of one query per row, which is what lets the annual
settlement post a million transactions in one pass. Entries and
transactions are append-only (a trigger refuses UPDATE and DELETE); a
mistake is corrected by ``reverse_transaction``. A depositor's balance is
cached on ``FundAccount`` and changed only here, in the same database
transaction as its entries, after locking the account row, so two postings
never lose an update and the balance never goes below zero (a CHECK backs
that up; another refuses a closed account that holds money).

Every writer of ledger rows goes through this package: ``posting`` for one
transaction at a time (with its audit record), ``sql`` for the set-based
writers (the deposit fast path, the settlement, the seeder), which build
their statements from the same column lists and defaults, so a new column
is added in one place. ``chart`` names the accounts, ``balances`` reads
them by their normal side.
"""

from accounts.ledger.chart import (
    BANK_SETTLEMENT_PREFIX,
    CENTER_ACCOUNTS,
    CENTER_SETTLEMENT,
    DEPOSITOR_PREFIX,
    INTEREST_EXPENSE,
    LOAN_INTEREST_INCOME,
    LOAN_RECEIVABLE_PREFIX,
    LOANS_RECEIVABLE,
    PAYOUT_CLEARING,
    PENALTY_INCOME,
    RISK_RESERVE,
    SUBSIDY_EXPENSE,
    TRANSFER_CLEARING,
    VALUE_ADDED_INCOME,
)
from accounts.ledger.posting import (
    C,
    D,
    Leg,
    bank_settlement_account,
    center_account,
    create_depositor_ledger_account,
    depositor_account,
    loan_receivable_account,
    post_transaction,
    reverse_transaction,
    transfer,
)

__all__ = [
    "BANK_SETTLEMENT_PREFIX",
    "CENTER_ACCOUNTS",
    "CENTER_SETTLEMENT",
    "DEPOSITOR_PREFIX",
    "INTEREST_EXPENSE",
    "LOAN_INTEREST_INCOME",
    "LOAN_RECEIVABLE_PREFIX",
    "LOANS_RECEIVABLE",
    "PAYOUT_CLEARING",
    "PENALTY_INCOME",
    "RISK_RESERVE",
    "SUBSIDY_EXPENSE",
    "TRANSFER_CLEARING",
    "VALUE_ADDED_INCOME",
    "C",
    "D",
    "Leg",
    "bank_settlement_account",
    "center_account",
    "create_depositor_ledger_account",
    "depositor_account",
    "loan_receivable_account",
    "post_transaction",
    "reverse_transaction",
    "transfer",
]
