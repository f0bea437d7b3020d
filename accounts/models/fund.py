"""Fund accounts, their status changes and their subsidy events."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.models import ActorStamp
from core.money import MoneyField

from .people import BankPartner, Depositor


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

    # The subsidy status is derived on the day it is read
    # (``subsidies.selectors.subsidy_status_on``), never stored: a stored copy
    # went stale the day a tranche turned twelve months old.
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
    # The earliest day an event ended the subsidy; written only by
    # ``accounts.subsidy_state``, which records each event.
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


class AccountStatusChange(ActorStamp):
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

    # The reasons each edge of FundAccount.TRANSITIONS may give. Closing is
    # always a payout or a cancellation, never a staff decision.
    REASONS: dict[tuple[str, str], set[str]] = {
        ("open", "sealed"): {Reason.ARREARS, Reason.STAFF},
        ("sealed", "open"): {Reason.RESUMED, Reason.STAFF},
        ("open", "closed"): {
            Reason.IDLE_CANCEL,
            Reason.EXIT,
            Reason.TRANSFER_OUT,
            Reason.WITHDRAWAL_CLOSE,
        },
        ("sealed", "closed"): {
            Reason.IDLE_CANCEL,
            Reason.EXIT,
            Reason.TRANSFER_OUT,
            Reason.WITHDRAWAL_CLOSE,
        },
    }

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


class SubsidyEvent(ActorStamp):
    """Why and when an account's subsidy ended or stopped accruing.

    Written only by ``accounts.subsidy_state`` (one row per event, the
    arrears job's included); the account's ``subsidy_terminated_on`` is the
    earliest termination among them.
    """

    class Kind(models.TextChoices):
        TERMINATED = "terminated", _("Terminated")
        ACCRUAL_STOPPED = "accrual_stopped", _("Accrual stopped")

    class Reason(models.TextChoices):
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        LOAN_APPLICATION = "loan_application", _("Loan application")
        ARREARS = "arrears", _("Arrears")
        SEALING = "sealing", _("Sealing")
        EXIT = "exit", _("Exit")
        TRANSFER_OUT = "transfer_out", _("Transfer out")
        CANCELLATION = "cancellation", _("Account cancelled")
        CONVERSION = "conversion", _("Conversion to an employee account")
        STAFF = "staff", _("Staff decision")

    fund_account = models.ForeignKey(
        FundAccount,
        on_delete=models.PROTECT,
        related_name="subsidy_events",
        verbose_name=_("fund account"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    # The business day the event happened (not when it was recorded).
    occurred_on = models.DateField(_("occurred on"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        db_table = "subsidies_subsidyevent"
        verbose_name = _("subsidy event")
        verbose_name_plural = _("subsidy events")
        ordering = ["fund_account_id", "occurred_on", "id"]
        indexes = [
            models.Index(
                fields=["fund_account", "occurred_on"], name="subsidy_event_acct_idx"
            )
        ]


class SubsidyAccrualStop(models.Model):
    """Accrual stops on ``stopped_on`` (conversion to an employee account).

    What accrued up to that day is still paid at the next settlement.
    """

    fund_account = models.OneToOneField(
        FundAccount,
        on_delete=models.PROTECT,
        related_name="subsidy_accrual_stop",
        verbose_name=_("fund account"),
    )
    stopped_on = models.DateField(_("stopped on"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        db_table = "subsidies_subsidyaccrualstop"
        verbose_name = _("subsidy accrual stop")
        verbose_name_plural = _("subsidy accrual stops")
