from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import BankPartner, Depositor
from core.models import OutboxEvent


class IdempotencyKey(models.Model):
    """The first response to a bank's POST, replayed for the same key.

    The row is inserted (unique per bank and key) *before* the work starts, in
    state ``in_progress``; a racing duplicate finds it and waits for the stored
    response instead of doing the work again. ``body_sha256`` binds the key to
    the exact raw body: the same key with another body is refused (422).
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    bank = models.ForeignKey(
        BankPartner,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("partner bank"),
    )
    key = models.CharField(_("idempotency key"), max_length=64)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=300)
    # Hex SHA-256 of the raw request body, as signed.
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.IN_PROGRESS
    )
    response_status = models.PositiveSmallIntegerField(
        _("response status"), null=True, blank=True
    )
    # JSON text, not jsonb: jsonb reorders keys, a replay must be byte-identical.
    response_body = models.TextField(_("response body"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(
                fields=["bank", "key"], name="idempotency_key_unique_per_bank"
            ),
            models.CheckConstraint(
                condition=Q(state="in_progress")
                | Q(state="done", response_status__isnull=False),
                name="idempotency_done_has_response",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key


class ApiRequestLog(models.Model):
    """One row per bank API request. Never holds a signature or a secret,
    nor personal data: the body excerpt is masked field by field and the
    path by pattern (banks.services.request_log.request_log_row)."""

    bank = models.ForeignKey(
        BankPartner,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("partner bank"),
    )
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=300)
    status = models.PositiveSmallIntegerField(_("status"))
    latency_ms = models.PositiveIntegerField(_("latency (ms)"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, blank=True)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    replayed = models.BooleanField(_("replayed"), default=False)
    # Only kept for failed requests, to help a bank find its mistake: the
    # JSON body re-serialised with personal values masked, or a placeholder.
    body_excerpt = models.CharField(_("body excerpt"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("API request")
        verbose_name_plural = _("API request log")
        indexes = [
            models.Index(fields=["bank", "created_at"], name="apilog_bank_created_idx"),
            models.Index(fields=["created_at"], name="apilog_created_idx"),
        ]


class Consent(models.Model):
    """A depositor's consent that one bank may read the credit profile.

    Held per person, so it follows them to a new account. Valid from the
    business date of the grant until ``expires_on`` (exclusive), unless revoked.
    """

    depositor = models.ForeignKey(
        Depositor,
        on_delete=models.PROTECT,
        related_name="bank_consents",
        verbose_name=_("depositor"),
    )
    bank = models.ForeignKey(
        BankPartner,
        on_delete=models.PROTECT,
        related_name="consents",
        verbose_name=_("partner bank"),
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    granted_on = models.DateField(_("granted on (business date)"))
    expires_on = models.DateField(_("expires on"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("granted by"),
    )
    channel = models.CharField(_("channel"), max_length=10, default="counter")
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        verbose_name = _("credit-profile consent")
        verbose_name_plural = _("credit-profile consents")
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__gt=models.F("granted_on")),
                name="consent_expires_after_grant",
            ),
            # At most one live (unrevoked) consent per person and bank.
            models.UniqueConstraint(
                fields=["depositor", "bank"],
                condition=Q(revoked_at__isnull=True),
                name="one_live_consent_per_depositor_bank",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.depositor} -> {self.bank.code}"


class WebhookDelivery(models.Model):
    """One attempt to deliver an outbox event to a bank's webhook URL."""

    event = models.ForeignKey(
        OutboxEvent,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("event"),
    )
    bank = models.ForeignKey(
        BankPartner,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("partner bank"),
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    url = models.CharField(_("URL"), max_length=300)
    response_status = models.PositiveSmallIntegerField(
        _("response status"), null=True, blank=True
    )
    error = models.CharField(_("error"), max_length=300, blank=True)
    succeeded = models.BooleanField(_("succeeded"), default=False)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "attempt"], name="webhook_attempt_unique"
            )
        ]


class BankSigningPolicy(models.Model):
    """Per-bank signing requirements beyond contract v1.

    Kept here, beside the API that enforces it, rather than on BankPartner;
    a bank without a row keeps the v1 defaults. A change bumps the bank
    generation (banks.apps), so every worker applies it at once.
    """

    partner = models.OneToOneField(
        BankPartner,
        on_delete=models.CASCADE,
        related_name="signing_policy",
        verbose_name=_("partner bank"),
    )
    # Every POST must then be signed with X-Signature-Version: 2, which covers
    # the Idempotency-Key; a v1 signature on a POST is a 401.
    require_signed_idempotency_key = models.BooleanField(
        _("require a signed Idempotency-Key"), default=False
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("bank signing policy")
        verbose_name_plural = _("bank signing policies")

    def __str__(self) -> str:
        return str(self.partner_id)
