"""The duplicate checks opening and loans call (rules section 10)."""

from national.models import NationalRecord


def holds_account_elsewhere(id_number_hash: str) -> bool:
    return NationalRecord.objects.filter(
        id_number_hash=id_number_hash,
        kind=NationalRecord.Kind.ACCOUNT,
        is_active=True,
    ).exists()


def holds_loan_elsewhere(id_number_hash: str) -> bool:
    return NationalRecord.objects.filter(
        id_number_hash=id_number_hash,
        kind=NationalRecord.Kind.LOAN,
        is_active=True,
    ).exists()
