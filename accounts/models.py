from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.money import MoneyField


class Industry(models.Model):
    """Industry-chain codes of the pilot (rules section 11); staff may add."""

    class Group(models.TextChoices):
        FRUIT = "fruit", _("Fruit growing")
        AQUACULTURE = "aquaculture", _("Aquaculture and marine ranching")
        NEW_FORMS = "new_forms", _("New business forms")
        SPECIAL_RETAIL = "special_retail", _("Special-goods retail")
        KEY_CHAINS = "key_chains", _("Key industrial chains")
        OTHER = "other", _("Other")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    group = models.CharField(_("group"), max_length=20, choices=Group.choices)
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("industry")
        verbose_name_plural = _("industries")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class BankPartner(models.Model):
    """A servicing bank (受托银行). The API secret is stored Fernet-encrypted."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    key_id = models.CharField(_("key id"), max_length=64, unique=True)
    secret_encrypted = models.TextField(_("secret (encrypted)"), editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    webhook_url = models.URLField(_("webhook URL"), blank=True)
    throttle_per_minute = models.PositiveIntegerField(
        _("requests per minute"), default=6000
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["secret_encrypted"])

    class Meta:
        verbose_name = _("partner bank")
        verbose_name_plural = _("partner banks")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Depositor(models.Model):
    """A person. The resident ID number is only stored encrypted.

    ``id_number_hash`` (keyed HMAC of the normalised number) serves lookup and
    one-person uniqueness; ``id_number_masked`` (first 6 + stars + last 4) is
    what lists and most roles see.
    """

    class Sex(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class Kind(models.TextChoices):
        FLEXIBLE = "flexible", _("Flexible employment")
        EMPLOYEE = "employee", _("Employee")

    class EmploymentForm(models.TextChoices):
        PART_TIME = "part_time", _("Part-time")
        SELF_EMPLOYED = "self_employed", _("Self-employed")
        NEW_FORMS = "new_forms", _("New business forms")

    id_number_encrypted = models.TextField(_("resident ID (encrypted)"), editable=False)
    id_number_hash = models.CharField(
        _("resident ID hash"), max_length=64, unique=True, editable=False
    )
    id_number_masked = models.CharField(_("resident ID"), max_length=18, editable=False)
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    # Women retire from an original age of 50 unless 55 is recorded (rules 12).
    female_original_retirement_age = models.PositiveSmallIntegerField(
        _("original retirement age (women)"),
        default=50,
        choices=[(50, "50"), (55, "55")],
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=Kind.choices, default=Kind.FLEXIBLE
    )
    employment_form = models.CharField(
        _("employment form"), max_length=16, choices=EmploymentForm.choices
    )
    industry = models.ForeignKey(
        Industry, verbose_name=_("industry"), on_delete=models.PROTECT, related_name="+"
    )
    district = models.CharField(_("district"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["id_number_encrypted"])

    class Meta:
        verbose_name = _("depositor")
        verbose_name_plural = _("depositors")
        permissions = [("view_full_id_number", _("Can see full resident ID numbers"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(sex__in=["M", "F"]), name="depositor_sex_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_masked}"


class IdNumberDisclosure(models.Model):
    """Who saw a full resident ID number, when and where (append-only)."""

    depositor = models.ForeignKey(
        Depositor,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("depositor"),
    )
    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("viewed by"),
    )
    purpose = models.CharField(_("where"), max_length=100)
    viewed_at = models.DateTimeField(_("viewed at"), default=timezone.now)

    class Meta:
        verbose_name = _("full ID number view")
        verbose_name_plural = _("full ID number views")
        ordering = ["-viewed_at"]
        indexes = [
            models.Index(
                fields=["viewer", "viewed_at"], name="id_disclosure_viewer_idx"
            )
        ]


class CreditFlag(models.Model):
    """A serious credit record held here (overdue loans, fraud); blocks opening."""

    depositor = models.ForeignKey(
        Depositor,
        on_delete=models.PROTECT,
        related_name="credit_flags",
        verbose_name=_("depositor"),
    )
    reason = models.CharField(_("reason"), max_length=200)
    set_at = models.DateTimeField(_("set at"), default=timezone.now)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("set by"),
    )
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("cleared by"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit flag")
        verbose_name_plural = _("credit flags")


class NationalAccountRecord(models.Model):
    """Accounts elsewhere, as reported by the national supervision platform.

    Filled from the platform's exchange files (or a live link); the opening
    check reads it so one person never holds two accounts nationally.
    """

    id_number_hash = models.CharField(
        _("resident ID hash"), max_length=64, db_index=True
    )
    city = models.CharField(_("city"), max_length=50)
    kind = models.CharField(_("kind"), max_length=20, default="account")
    is_active = models.BooleanField(_("active"), default=True)
    reported_on = models.DateField(_("reported on"))

    class Meta:
        verbose_name = _("national platform record")
        verbose_name_plural = _("national platform records")


class FundAccount(models.Model):
    """A personal fund account (个人账户). ``balance`` caches the ledger.

    The balance is only written by the ledger posting code, in the same
    database transaction as its entries, under a row lock.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        SEALED = "sealed", _("Sealed")
        CLOSED = "closed", _("Closed")

    TRANSITIONS: dict[str, set[str]] = {
        Status.OPEN: {Status.SEALED, Status.CLOSED},
        Status.SEALED: {Status.OPEN, Status.CLOSED},
        Status.CLOSED: set(),
    }

    class Channel(models.TextChoices):
        COUNTER = "counter", _("Counter")
        PORTAL = "portal", _("Portal")
        BANK_APP = "bank_app", _("Bank app")

    class SubsidyStatus(models.TextChoices):
        NOT_ELIGIBLE = "not_eligible", _("Not eligible")
        NOT_YET_ELIGIBLE = "not_yet_eligible", _("Not yet eligible")
        ACCRUING = "accruing", _("Accruing")
        TERMINATED = "terminated", _("Terminated")
        ENDED = "ended", _("Ended")

    account_no = models.CharField(
        _("account number"), max_length=16, unique=True, null=True, editable=False
    )
    depositor = models.ForeignKey(
        Depositor,
        on_delete=models.PROTECT,
        related_name="accounts",
        verbose_name=_("depositor"),
    )
    kind = models.CharField(
        _("kind"),
        max_length=10,
        choices=Depositor.Kind.choices,
        default=Depositor.Kind.FLEXIBLE,
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    balance = MoneyField(_("balance"), default=0, editable=False)
    bank = models.ForeignKey(
        BankPartner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
        verbose_name=_("servicing bank"),
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.COUNTER
    )
    # No earlier account here of any kind and no transfer-in history (rules 6).
    first_time = models.BooleanField(_("first-time participant"), default=True)
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    # Deposit-grid summary kept by deposits services and the arrears job:
    # first day of the last month paid in an unbroken run from the start.
    paid_through = models.DateField(_("paid through"), null=True, blank=True)
    arrears_months = models.PositiveSmallIntegerField(
        _("consecutive arrears months"), default=0
    )
    last_deposit_on = models.DateField(_("last deposit on"), null=True, blank=True)
    # Kept by the subsidy services (floor 4).
    subsidy_status = models.CharField(
        _("subsidy status"),
        max_length=16,
        choices=SubsidyStatus.choices,
        default=SubsidyStatus.NOT_YET_ELIGIBLE,
    )
    subsidy_terminated_on = models.DateField(
        _("subsidy terminated on"), null=True, blank=True
    )
    # Balance and the grid caches are derived (ledger entries, deposits keep
    # their own history); status and subsidy changes are what history shows.
    history = HistoricalRecords(
        excluded_fields=["balance", "paid_through", "arrears_months", "last_deposit_on"]
    )

    class Meta:
        verbose_name = _("fund account")
        verbose_name_plural = _("fund accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="fund_account_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "sealed", "closed"]),
                name="fund_account_status_valid",
            ),
            # One person, one live account.
            models.UniqueConstraint(
                fields=["depositor"],
                condition=Q(status__in=["open", "sealed"]),
                name="one_live_account_per_depositor",
            ),
            models.CheckConstraint(
                condition=Q(status="closed", closed_on__isnull=False)
                | (~Q(status="closed") & Q(closed_on__isnull=True)),
                name="fund_account_closed_on_iff_closed",
            ),
            # Money leaves only through a payout, which empties the account
            # before it closes; a closed account holding money is a defect.
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(balance=0),
                name="fund_account_closed_has_zero_balance",
            ),
        ]
        indexes = [models.Index(fields=["status"], name="fund_account_status_idx")]

    def __str__(self) -> str:
        return self.account_no or f"#{self.pk}"

    def can_transition(self, to: str) -> bool:
        return to in self.TRANSITIONS.get(self.status, set())


class AccountStatusChange(models.Model):
    """One row for every status change: from, to, reason, actor, time."""

    class Reason(models.TextChoices):
        OPENED = "opened", _("Opened")
        ARREARS = "arrears", _("Sealed for arrears")
        RESUMED = "resumed", _("Reopened by a deposit")
        IDLE_CANCEL = "idle_cancel", _("Cancelled: zero balance and idle")
        EXIT = "exit", _("Exit")
        TRANSFER_OUT = "transfer_out", _("Transferred out")
        WITHDRAWAL_CLOSE = "withdrawal_close", _("Closed by full withdrawal")
        STAFF = "staff", _("Staff decision")

    fund_account = models.ForeignKey(
        FundAccount,
        on_delete=models.PROTECT,
        related_name="status_changes",
        verbose_name=_("fund account"),
    )
    from_status = models.CharField(_("from"), max_length=8, blank=True)
    to_status = models.CharField(_("to"), max_length=8)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("actor label"), max_length=64, blank=True)
    effective_on = models.DateField(_("effective on"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("account status change")
        verbose_name_plural = _("account status changes")
        ordering = ["fund_account_id", "created_at", "id"]
        indexes = [
            models.Index(
                fields=["fund_account", "created_at"], name="status_change_account_idx"
            )
        ]


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

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class LedgerTransaction(models.Model):
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
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )

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
