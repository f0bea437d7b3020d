"""The chart of accounts: center accounts by code, and the families of
per-object accounts (one per partner bank, fund account and loan).

Codes are fixed; names are the Chinese names finance uses. Each type has a
normal side: assets and expenses grow with debits, liabilities, income and
equity with credits (``balances``).
"""

from accounts.models import LedgerAccount

Type = LedgerAccount.Type

CENTER_SETTLEMENT = "1001"  # the center's own bank account (counter cash-in)
BANK_SETTLEMENT_PREFIX = "1002-"  # one per partner bank
LOANS_RECEIVABLE = "1301"  # parent of every loan's own receivable
LOAN_RECEIVABLE_PREFIX = "1301-"  # one per loan, child of 1301
DEPOSITOR_PREFIX = "2001-"  # one per fund account
TRANSFER_CLEARING = "2241"  # national transfer platform (异地转移)
PAYOUT_CLEARING = "2242"  # withdrawals and closings on their way to a card
RISK_RESERVE = "2901"
VALUE_ADDED_INCOME = "3101"  # 增值收益: income less expense, kept
LOAN_INTEREST_INCOME = "4101"
PENALTY_INCOME = "4102"  # penalty interest on overdue instalments
INTEREST_EXPENSE = "5201"
SUBSIDY_EXPENSE = "5202"  # its own line (policy §13)

CENTER_ACCOUNTS: dict[str, tuple[str, str]] = {
    CENTER_SETTLEMENT: ("中心结算户", Type.ASSET),
    LOANS_RECEIVABLE: ("应收个人住房贷款", Type.ASSET),
    TRANSFER_CLEARING: ("异地转移清算", Type.LIABILITY),
    PAYOUT_CLEARING: ("提取支付清算", Type.LIABILITY),
    RISK_RESERVE: ("贷款风险准备金", Type.LIABILITY),
    VALUE_ADDED_INCOME: ("增值收益", Type.EQUITY),
    LOAN_INTEREST_INCOME: ("贷款利息收入", Type.INCOME),
    PENALTY_INCOME: ("贷款罚息收入", Type.INCOME),
    INTEREST_EXPENSE: ("缴存利息支出", Type.EXPENSE),
    SUBSIDY_EXPENSE: ("灵活就业缴存补贴支出", Type.EXPENSE),
}


def seed_center_accounts(model) -> None:  # type: ignore[no-untyped-def]
    """Create the center accounts that are missing (data migrations)."""
    for code, (name, type_) in CENTER_ACCOUNTS.items():
        model.objects.get_or_create(code=code, defaults={"name": name, "type": type_})
