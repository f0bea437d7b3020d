"""The ledger's tables (the posting code is ``accounts.ledger``)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import ActorStamp
from core.money import MoneyField

from .fund import FundAccount
from .people import BankPartner

# --- The ledger -----------------------------------------------------------
#
# Invariants (enforced by PostgreSQL, see migration 0002, and checked again by
# verify_ledger):
# * every entry amount is positive; direction is the side, D or C;
# * each INSERT statement's entries balance per transaction, so every
#   transaction balances (posting code writes all legs in one statement);
# * entries and transactions are append-only: a correction is a reversing
#   transaction that names what it reverses;
# * FundAccount.balance equals credits minus debits of its liability account.


class LedgerAccount(models.Model):
    class Type(models.TextChoices):
        ASSET = "asset", _("Asset")
        LIABILITY = "liability", _("Liability")
        INCOME = "income", _("Income")
        EXPENSE = "expense", _("Expense")
        EQUITY = "equity", _("Equity")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    fund_account = models.OneToOneField(
        FundAccount,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_account",
        verbose_name=_("fund account"),
    )
    bank = models.OneToOneField(
        BankPartner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="settlement_account",
        verbose_name=_("partner bank"),
    )
    # A sub-account's parent (each loan's receivable under 1301); reports of
    # the parent add up its children.
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent account"),
    )

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class LedgerTransaction(ActorStamp):
    class Kind(models.TextChoices):
        DEPOSIT = "deposit", _("Deposit")
        INTEREST = "interest", _("Interest")
        SUBSIDY = "subsidy", _("Subsidy")
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        TRANSFER_IN = "transfer_in", _("Transfer in")
        TRANSFER_OUT = "transfer_out", _("Transfer out")
        LOAN_DISBURSEMENT = "loan_disbursement", _("Loan disbursement")
        LOAN_REPAYMENT = "loan_repayment", _("Loan repayment")
        RESERVE = "reserve", _("Risk reserve")
        REVERSAL = "reversal", _("Reversal")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # The depositor account the posting concerns, when there is one.
    fund_account = models.ForeignKey(
        FundAccount,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transactions",
        verbose_name=_("fund account"),
    )
    bank = models.ForeignKey(
        BankPartner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("partner bank"),
    )
    value_date = models.DateField(_("value date"))
    posted_at = models.DateTimeField(_("posted at"), default=timezone.now)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )
    # What the money movement is for, and the outside reference it answers
    # to: a bank's transaction id, a withdrawal or loan number. Statements
    # and reconciliation read these, whatever table the posting came from.
    purpose = models.CharField(_("purpose"), max_length=32, blank=True)
    external_ref = models.CharField(_("external reference"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        constraints = [
            # Exactly once per account and settlement (or cut-off) date.
            models.UniqueConstraint(
                fields=["fund_account", "kind", "value_date"],
                condition=Q(kind__in=["interest", "subsidy"]),
                name="one_interest_or_subsidy_per_account_and_date",
            ),
            models.CheckConstraint(
                condition=Q(reverses__isnull=True) | Q(kind="reversal"),
                name="only_reversals_reverse",
            ),
        ]
        indexes = [
            models.Index(
                fields=["fund_account", "value_date"], name="ledger_txn_acct_vd_idx"
            ),
            models.Index(
                fields=["bank", "posted_at"], name="ledger_txn_bank_posted_idx"
            ),
            models.Index(
                fields=["external_ref"],
                condition=~Q(external_ref=""),
                name="ledger_txn_external_ref_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class LedgerEntry(models.Model):
    class Side(models.TextChoices):
        DEBIT = "D", _("Debit")
        CREDIT = "C", _("Credit")

    transaction = models.ForeignKey(
        LedgerTransaction,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("transaction"),
    )
    ledger_account = models.ForeignKey(
        LedgerAccount,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("ledger account"),
    )
    side = models.CharField(_("side"), max_length=1, choices=Side.choices)
    amount = MoneyField(_("amount"))
    # 起息日: the day the money moved; drives interest.
    value_date = models.DateField(_("value date"))

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="ledger_entry_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(side__in=["D", "C"]), name="ledger_entry_side_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["ledger_account", "value_date"], name="ledger_entry_acct_vd_idx"
            ),
        ]
