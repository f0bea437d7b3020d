"""Writes of the accounts floor, one module per subject; import from here."""

from accounts.services.employers import clean_uscc, employer_create
from accounts.services.partners import (
    bank_partner_create,
    bank_partner_required,
    bank_partner_rotate_secret,
)
from accounts.services.people import (
    ACCOUNT_NO_PREFIX,
    account_number_for,
    account_open,
    check_opening_age,
    clean_person_name,
    clean_phone,
    credit_flag_clear,
    credit_flag_set,
    depositor_update,
    id_number_disclose,
    id_number_hash,
)
from accounts.services.status import (
    ACCOUNT_MACHINE,
    fund_account_bank_change,
    fund_account_transition,
    fund_accounts_transition_bulk,
)

__all__ = [
    "ACCOUNT_MACHINE",
    "ACCOUNT_NO_PREFIX",
    "account_number_for",
    "account_open",
    "bank_partner_create",
    "bank_partner_required",
    "bank_partner_rotate_secret",
    "check_opening_age",
    "clean_uscc",
    "clean_person_name",
    "clean_phone",
    "credit_flag_clear",
    "credit_flag_set",
    "depositor_update",
    "employer_create",
    "fund_account_bank_change",
    "fund_account_transition",
    "fund_accounts_transition_bulk",
    "id_number_disclose",
    "id_number_hash",
]
