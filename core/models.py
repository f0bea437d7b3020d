from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class PolicyParameter(models.Model):
    """An effective-dated policy number (rules.md marks them *(param)*).

    The row in force on a date is the one with the latest ``effective_from`` not
    after it. Values are stored as text and typed by ``core.policy.PARAMETERS``.
    """

    name = models.CharField(_("name"), max_length=64, db_index=True)
    value = models.CharField(_("value"), max_length=64)
    effective_from = models.DateField(_("effective from"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("policy parameter")
        verbose_name_plural = _("policy parameters")
        ordering = ["name", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "effective_from"], name="policy_param_unique_per_date"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} @ {self.effective_from}"


class BusinessDateSetting(models.Model):
    """Single row (pk=1): the pinned business date outside production."""

    pinned_date = models.DateField(_("pinned business date"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("business date")
        verbose_name_plural = _("business date")


class OutboxEvent(models.Model):
    """A transactional outbox row: written in the same transaction as the change
    it reports, delivered later (bank webhooks, national platform files).

    ``audience`` names the receiver (a partner bank code, ``national``...).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (gave up)")

    topic = models.CharField(_("topic"), max_length=40, db_index=True)
    audience = models.CharField(_("audience"), max_length=32, db_index=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), auto_now_add=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
        ]
