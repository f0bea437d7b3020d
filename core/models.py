from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class ActorKind(models.TextChoices):
    STAFF = "staff", _("Staff")
    DEPOSITOR = "depositor", _("Depositor")
    BANK = "bank", _("Partner bank")
    SYSTEM = "system", _("System")


class ActorStamp(models.Model):
    """Who made a row: ``core.actors.Actor`` stored in three columns."""

    actor_kind = models.CharField(
        _("actor kind"),
        max_length=10,
        choices=ActorKind.choices,
        default=ActorKind.SYSTEM,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    # Bank code, depositor account number, or job name.
    actor_ref = models.CharField(_("actor reference"), max_length=64, blank=True)

    class Meta:
        abstract = True


class StatusChangeRecord(ActorStamp):
    """One status change of an application (withdrawal, loan): from, to,
    why (the subclass's ``reason`` with its own codes), when, by whom.
    Written only by ``core.statemachine.machine_transition``."""

    from_status = models.CharField(_("from"), max_length=16, blank=True)
    to_status = models.CharField(_("to"), max_length=16)
    note = models.CharField(_("note"), max_length=200, blank=True)
    effective_on = models.DateField(_("effective on"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        abstract = True


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class PolicyParameter(models.Model):
    """An effective-dated policy number (rules.md marks them *(param)*).

    Append-only: a change is a new row from a future date, never an edit (a
    database trigger refuses updates of name, value and date, and deletes).
    The row in force on a date is the latest approved one whose
    ``effective_from`` is not after it. Rates and caps need a second person's
    approval (``core.policy.DUAL_CONTROL``); other values are approved when
    proposed. Values are stored as ASCII numbers (a CHECK on PostgreSQL) and
    typed by ``core.policy.PARAMETERS``.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    name = models.CharField(_("name"), max_length=64, db_index=True)
    value = models.CharField(_("value"), max_length=64)
    effective_from = models.DateField(_("effective from"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.APPROVED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved or rejected by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("policy parameter")
        verbose_name_plural = _("policy parameters")
        ordering = ["name", "-effective_from"]
        permissions = [
            ("approve_policyparameter", _("Can approve policy parameter changes"))
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "effective_from"],
                condition=Q(status__in=["proposed", "approved"]),
                name="policy_param_unique_per_date",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["proposed", "approved", "rejected"]),
                name="policy_param_status_valid",
            ),
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


class FormSubmission(models.Model):
    """A counter form's one-time token: the form that writes is done once.

    Claimed (inserted, unique) before the work and completed after it, as
    the bank API's idempotency keys are; a second submission of the same
    form (Back and submit again, a double click) finds the token taken.
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    token = models.CharField(_("token"), max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("user"),
    )
    path = models.CharField(_("path"), max_length=300)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.IN_PROGRESS
    )
    result_message = models.CharField(_("result"), max_length=300, blank=True)
    result_url = models.CharField(_("result page"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")


class AuditRecord(models.Model):
    """One entry of the hash-chained audit log (``core.audit``); append-only.

    ``body`` is the canonical text the hash covers; the other columns repeat
    parts of it for searching, and ``verify_audit`` checks they agree.
    """

    stream = models.CharField(_("stream"), max_length=64)
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    actor_kind = models.CharField(
        _("actor kind"), max_length=10, choices=ActorKind.choices
    )
    actor_user_id = models.BigIntegerField(_("actor user id"), null=True, blank=True)
    actor_ref = models.CharField(_("actor reference"), max_length=64, blank=True)
    at = models.DateTimeField(_("at"))
    body = models.TextField(_("record"))
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        indexes = [
            models.Index(fields=["stream", "id"], name="audit_stream_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]


class Role(models.Model):
    """A counter role's English code and its group (``core.roles``)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    group = models.OneToOneField(
        "auth.Group", on_delete=models.PROTECT, related_name="role"
    )

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.code
