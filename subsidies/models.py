from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import FundAccount
from core.models import ActorStamp
from core.money import MoneyField


class SettlementRun(ActorStamp):
    """One annual settlement (结息) per settlement date; its progress and totals.

    Counters move by F() updates in the same database transaction as the chunk
    that earned them, so they are exact even after a crash and a resume.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    settlement_date = models.DateField(_("settlement date"), unique=True)
    # The period is (period_start, settlement_date]; period_start is the
    # previous 30 June.
    period_start = models.DateField(_("period start (exclusive)"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    chunks_total = models.PositiveIntegerField(_("chunks in total"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    accounts = models.PositiveIntegerField(_("accounts settled"), default=0)
    interest_count = models.PositiveIntegerField(_("interest postings"), default=0)
    subsidy_count = models.PositiveIntegerField(_("subsidy postings"), default=0)
    interest_total = MoneyField(_("interest total"), default=0)
    subsidy_total = MoneyField(_("subsidy total"), default=0)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("settlement run")
        verbose_name_plural = _("settlement runs")
        ordering = ["-settlement_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["running", "done"]),
                name="settlement_run_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(chunks_done__lte=models.F("chunks_total")),
                name="settlement_run_chunks_done_le_total",
            ),
        ]

    def __str__(self) -> str:
        return str(self.settlement_date)

    @property
    def progress_percent(self) -> int:
        if not self.chunks_total:
            return 100 if self.status == self.Status.DONE else 0
        return int(self.chunks_done * 100 / self.chunks_total)


class SettlementChunk(models.Model):
    """A contiguous range of fund-account ids, settled in one DB transaction.

    A worker claims a pending chunk with ``FOR UPDATE SKIP LOCKED`` and keeps the
    row lock until the chunk commits as done; a killed worker's transaction
    rolls back, so its chunk is simply pending again for the next worker.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")

    run = models.ForeignKey(
        SettlementRun,
        on_delete=models.CASCADE,
        related_name="chunks",
        verbose_name=_("run"),
    )
    seq = models.PositiveIntegerField(_("sequence"))
    first_account_id = models.BigIntegerField(_("first account id"))
    last_account_id = models.BigIntegerField(_("last account id"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    accounts = models.PositiveIntegerField(_("accounts settled"), default=0)
    interest_total = MoneyField(_("interest total"), default=0)
    subsidy_total = MoneyField(_("subsidy total"), default=0)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    worker = models.CharField(_("worker"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("settlement chunk")
        verbose_name_plural = _("settlement chunks")
        ordering = ["run_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="chunk_seq_unique"),
            models.CheckConstraint(
                condition=Q(last_account_id__gte=models.F("first_account_id")),
                name="chunk_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "done"]),
                name="chunk_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["run", "status", "seq"], name="chunk_run_status_idx")
        ]


class SubsidyAccount(FundAccount):
    """Admin view of a fund account's interest statement and subsidy."""

    class Meta:
        proxy = True
        verbose_name = _("interest and subsidy of an account")
        verbose_name_plural = _("interest and subsidy of accounts")
