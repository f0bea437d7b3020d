import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import BankPartner, Employer, FundAccount, LedgerTransaction
from core.clock import add_months
from core.models import ActorStamp
from core.money import MoneyField


class Cadence(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")


def due_date(month: dt.date, cadence: str) -> dt.date:
    """Monthly: the month's last day; quarterly: the calendar quarter's last day."""
    from deposits.rules import due_date as rule

    return rule(month, cadence)


class AgreementText(models.Model):
    """A published version of the deposit agreement's text (缴存协议文本).

    A depositor accepts one of these; the version they accepted is recorded
    on every agreement version they sign. Texts are never edited: a new text
    is a new version.
    """

    version = models.CharField(_("version"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    published_on = models.DateField(_("published on"))
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)

    class Meta:
        verbose_name = _("agreement text")
        verbose_name_plural = _("agreement texts")
        ordering = ["-published_on", "-version"]
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True)
                | Q(withdrawn_on__gt=models.F("published_on")),
                name="agreement_text_withdrawn_after_published",
            )
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.title}"


class DepositAgreement(ActorStamp):
    """A version of the deposit agreement (缴存协议). Changes are new versions.

    Months are stored as the first day of the month. A version applies from
    ``effective_month`` until the next version's ``effective_month``.
    """

    fund_account = models.ForeignKey(
        FundAccount,
        on_delete=models.PROTECT,
        related_name="agreements",
        verbose_name=_("fund account"),
    )
    version = models.PositiveIntegerField(_("version"))
    monthly_amount = MoneyField(_("monthly amount"))
    cadence = models.CharField(_("cadence"), max_length=10, choices=Cadence.choices)
    # First month of the whole agreement (version 1's first due month).
    first_month = models.DateField(_("first month"))
    # First month this version governs (the next unpaid month at signing).
    effective_month = models.DateField(_("effective from month"))
    channel = models.CharField(
        _("channel"), max_length=10, choices=FundAccount.Channel.choices
    )
    text_version = models.CharField(_("agreement text version"), max_length=20)
    # An employee's agreement: the employer pays ``employer_share`` of each
    # month's ``monthly_amount``, the employee the rest (rules section 9).
    employer = models.ForeignKey(
        Employer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agreements",
        verbose_name=_("employer"),
    )
    # Database defaults too: the seeder's bulk writers name their columns.
    employer_share = MoneyField(_("employer's share a month"), default=0, db_default=0)
    # Signed at a conversion whose first month comes after the first unpaid
    # one: the months in between are not owed (skipped), and continuity
    # starts again from ``effective_month``.
    starts_fresh = models.BooleanField(
        _("starts after a gap"), default=False, db_default=False
    )
    accepted_at = models.DateTimeField(_("accepted at"))
    signed_at = models.DateTimeField(_("signed at"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("deposit agreement")
        verbose_name_plural = _("deposit agreements")
        ordering = ["fund_account_id", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["fund_account", "version"], name="agreement_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(monthly_amount__gt=0), name="agreement_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(cadence__in=["monthly", "quarterly"]),
                name="agreement_cadence_valid",
            ),
            # Months are stored as their first day.
            models.CheckConstraint(
                condition=Q(first_month__day=1) & Q(effective_month__day=1),
                name="agreement_months_first_day",
            ),
            models.CheckConstraint(
                condition=Q(effective_month__gte=models.F("first_month")),
                name="agreement_effective_after_first",
            ),
            models.CheckConstraint(
                condition=(Q(employer__isnull=True) & Q(employer_share=0))
                | (
                    Q(employer__isnull=False)
                    & Q(employer_share__gt=0)
                    & Q(employer_share__lt=models.F("monthly_amount"))
                ),
                name="agreement_employer_share_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund_account} v{self.version}"

    def due_date(self, month: dt.date) -> dt.date:
        """When ``month`` (governed by this version) must be paid (rules 2)."""
        return due_date(month, self.cadence)


class Deposit(ActorStamp):
    """One posted deposit: whole months, contiguous; one subsidy tranche.

    ``value_date`` is the ``paid_at`` date and drives interest and the
    subsidy's 12-month wait.
    """

    class Kind(models.TextChoices):
        REGULAR = "regular", _("Regular")
        BACK_PAYMENT = "back_payment", _("Back-payment")
        RESUME = "resume", _("Resumed at the current month")

    # No separate index: (fund_account, first_month) unique leads with it.
    fund_account = models.ForeignKey(
        FundAccount,
        on_delete=models.PROTECT,
        related_name="deposits",
        verbose_name=_("fund account"),
        db_index=False,
    )
    agreement = models.ForeignKey(
        DepositAgreement,
        on_delete=models.PROTECT,
        related_name="deposits",
        verbose_name=_("agreement"),
    )
    amount = MoneyField(_("amount"))
    first_month = models.DateField(_("first month"))
    last_month = models.DateField(_("last month"))
    months = models.PositiveSmallIntegerField(_("months"))
    kind = models.CharField(
        _("kind"), max_length=12, choices=Kind.choices, default=Kind.REGULAR
    )
    value_date = models.DateField(_("value date"))
    paid_at = models.DateTimeField(_("paid at"))
    channel = models.CharField(
        _("channel"), max_length=10, choices=FundAccount.Channel.choices
    )
    bank = models.ForeignKey(
        BankPartner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("bank"),
    )
    bank_txn_id = models.CharField(_("bank transaction id"), max_length=64, blank=True)
    ledger_transaction = models.OneToOneField(
        LedgerTransaction,
        on_delete=models.PROTECT,
        related_name="deposit",
        verbose_name=_("ledger transaction"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="deposit_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(months__gte=1) & Q(months__lte=12),
                name="deposit_months_1_to_12",
            ),
            models.CheckConstraint(
                condition=Q(last_month__gte=models.F("first_month")),
                name="deposit_months_ordered",
            ),
            models.UniqueConstraint(
                fields=["bank", "bank_txn_id"],
                condition=~Q(bank_txn_id=""),
                name="deposit_bank_txn_unique",
            ),
            # No month is paid twice: the first month of a deposit is unique per
            # account, and on PostgreSQL an exclusion constraint (migration 0002,
            # btree_gist) refuses any two deposits of one account whose month
            # ranges overlap. Posting checks the grid under the account row lock;
            # these are the backstop.
            models.UniqueConstraint(
                fields=["fund_account", "first_month"],
                name="deposit_first_month_unique",
            ),
            models.CheckConstraint(
                condition=Q(first_month__day=1) & Q(last_month__day=1),
                name="deposit_months_first_day",
            ),
        ]
        indexes = [
            # (fund_account, first_month) is served by the unique constraint's index.
            models.Index(
                fields=["fund_account", "value_date"], name="deposit_acct_vd_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund_account} {self.first_month:%Y-%m}+{self.months}"

    def covered_months(self) -> list[dt.date]:
        return [add_months(self.first_month, i) for i in range(self.months)]


class Conversion(ActorStamp):
    """An identity conversion on the same account (rules section 9): the
    agreement version it signed, and whether continuity carried on."""

    class Direction(models.TextChoices):
        TO_EMPLOYEE = "to_employee", _("Flexible employment to employee")
        TO_FLEXIBLE = "to_flexible", _("Employee to flexible employment")

    fund_account = models.ForeignKey(
        FundAccount,
        on_delete=models.PROTECT,
        related_name="conversions",
        verbose_name=_("fund account"),
    )
    direction = models.CharField(
        _("direction"), max_length=12, choices=Direction.choices
    )
    employer = models.ForeignKey(
        Employer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("employer"),
    )
    agreement = models.OneToOneField(
        DepositAgreement,
        on_delete=models.PROTECT,
        related_name="conversion",
        verbose_name=_("agreement version signed"),
    )
    first_month = models.DateField(_("first month under the new kind"))
    # The first month owed before it: equal to first_month when no month was
    # skipped (continuity carries on).
    next_unpaid_before = models.DateField(
        _("first unpaid month before"), null=True, blank=True
    )
    continuity_kept = models.BooleanField(_("continuity carried on"))
    converted_on = models.DateField(_("converted on"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("identity conversion")
        verbose_name_plural = _("identity conversions")
        ordering = ["fund_account_id", "id"]


class ExternalMonths(models.Model):
    """Months deposited in another city, brought by a transfer in: they count
    for loan eligibility (continuity), never for the subsidy."""

    fund_account = models.ForeignKey(
        FundAccount,
        on_delete=models.PROTECT,
        related_name="external_months",
        verbose_name=_("fund account"),
    )
    first_month = models.DateField(_("first month"))
    last_month = models.DateField(_("last month"))
    # Months of the range actually paid there (a gap elsewhere breaks it).
    months_paid = models.PositiveSmallIntegerField(_("months paid"))
    city = models.CharField(_("city"), max_length=50)
    reference = models.CharField(_("transfer reference"), max_length=40)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("months deposited elsewhere")
        verbose_name_plural = _("months deposited elsewhere")
        ordering = ["fund_account_id", "first_month"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_month__day=1) & Q(last_month__day=1),
                name="external_months_first_day",
            ),
            models.CheckConstraint(
                condition=Q(last_month__gte=models.F("first_month")),
                name="external_months_ordered",
            ),
            models.UniqueConstraint(
                fields=["reference"], name="external_months_reference_unique"
            ),
        ]

    @property
    def continuous(self) -> bool:
        """Every month of the range was paid there."""
        from core.clock import month_index

        span = month_index(self.last_month) - month_index(self.first_month) + 1
        return self.months_paid >= span


class ArrearsCheckRun(models.Model):
    """One execution of the monthly arrears job, with what it changed.

    ``effective_month`` is the latest month checked so far when this run
    finished: a run for an earlier month (out of order) keeps the stored
    arrears counts as of that later month, so it changes nothing.
    """

    month = models.DateField(_("month checked"))
    effective_month = models.DateField(_("arrears counted as of month"))
    business_date = models.DateField(_("business date"))
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    checked = models.PositiveIntegerField(_("accounts checked"), default=0)
    newly_in_arrears = models.PositiveIntegerField(_("newly in arrears"), default=0)
    arrears_updated = models.PositiveIntegerField(
        _("arrears counts updated"), default=0
    )
    subsidy_terminated = models.PositiveIntegerField(
        _("subsidies terminated"), default=0
    )
    sealed = models.PositiveIntegerField(_("sealed"), default=0)
    cancelled = models.PositiveIntegerField(_("cancelled"), default=0)
    actor_label = models.CharField(_("run by"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("arrears check run")
        verbose_name_plural = _("arrears check runs")
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(month__day=1) & Q(effective_month__day=1),
                name="arrears_run_months_first_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} @ {self.started_at:%Y-%m-%d %H:%M}"
