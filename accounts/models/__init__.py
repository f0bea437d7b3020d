"""The accounts floor's models, one module per subject."""

from .fund import (
    AccountStatusChange,
    FundAccount,
    SubsidyAccrualStop,
    SubsidyEvent,
)
from .ledger import LedgerAccount, LedgerEntry, LedgerTransaction
from .people import (
    BankPartner,
    CreditFlag,
    Depositor,
    Employer,
    IdNumberDisclosure,
    Industry,
)

__all__ = [
    "AccountStatusChange",
    "BankPartner",
    "CreditFlag",
    "Depositor",
    "Employer",
    "FundAccount",
    "IdNumberDisclosure",
    "Industry",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "SubsidyAccrualStop",
    "SubsidyEvent",
]
