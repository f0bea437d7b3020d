"""What the national platforms report about people (by ID hash only), and
the messages exchanged with them.

The supervision platform (全国住房公积金监管服务平台) reports accounts and
loans a person holds in other cities; opening and loan approval read these
records so that one person never holds two accounts or two loans. The
transfer platform carries cross-city transfers (异地转移接续). This app sits
just above ``core``: it knows no fund account, only hashes of canonical
resident IDs, and the messages themselves.

Messages go through a durable outbox and inbox (``NationalMessage``), which
travel as signed JSON-lines files (``ExchangeFile``) when no live link
exists; a duplicate check (``DuplicateCheck``) waits visibly until its
answer is imported. A resident ID number in a payload is stored encrypted
(key ``id_number_encrypted``) and in clear only in an exported file.
"""

import datetime as dt
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import decrypt_text

ID_NUMBER_KEY = "id_number"
ID_NUMBER_ENCRYPTED_KEY = "id_number_encrypted"


class NationalRecord(models.Model):
    class Kind(models.TextChoices):
        ACCOUNT = "account", _("Account")
        LOAN = "loan", _("Loan")

    id_number_hash = models.CharField(
        _("resident ID hash"), max_length=64, db_index=True
    )
    city = models.CharField(_("city"), max_length=50)
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.ACCOUNT
    )
    is_active = models.BooleanField(_("active"), default=True)
    reported_on = models.DateField(_("reported on"))

    class Meta:
        db_table = "accounts_nationalaccountrecord"
        verbose_name = _("national platform record")
        verbose_name_plural = _("national platform records")


class Platform(models.TextChoices):
    SUPERVISION = "supervision", _("Supervision platform")
    TRANSFER = "transfer", _("Transfer platform")


class Direction(models.TextChoices):
    OUT = "out", _("Outbound")
    IN = "in", _("Inbound")


class ExchangeFile(models.Model):
    """One exported or imported file; a refused file is kept with its reason."""

    class Status(models.TextChoices):
        EXPORTED = "exported", _("Exported")
        # Verified and being applied line by line; a file left here was
        # interrupted, and importing it again resumes it.
        IMPORTING = "importing", _("Importing")
        APPLIED = "applied", _("Applied")
        REFUSED = "refused", _("Refused")

    direction = models.CharField(
        _("direction"), max_length=3, choices=Direction.choices
    )
    platform = models.CharField(
        _("platform"), max_length=20, choices=Platform.choices, blank=True
    )
    name = models.CharField(_("file name"), max_length=255)
    # The id in the file's header; empty when a refused file had none.
    file_id = models.CharField(_("file id"), max_length=100, blank=True)
    sha256 = models.CharField(_("SHA-256 of the whole file"), max_length=64)
    line_count = models.PositiveIntegerField(_("messages"), default=0)
    applied_count = models.PositiveIntegerField(_("applied"), default=0)
    refused_count = models.PositiveIntegerField(_("refused"), default=0)
    # Messages applied by an earlier file (a replay), skipped here.
    skipped_count = models.PositiveIntegerField(_("already applied"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    result = models.TextField(_("result"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("exchange file")
        verbose_name_plural = _("exchange files")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A refused file may come again, corrected, under the same id.
            models.UniqueConstraint(
                fields=["direction", "file_id"],
                condition=~Q(status="refused"),
                name="national_file_id_once_per_direction",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["exported", "importing", "applied", "refused"]),
                name="national_file_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class NationalMessage(models.Model):
    """One message to or from a national platform.

    Outbound: ``pending`` until written to a file, ``exported``, then
    ``answered`` when the platform's answer or acknowledgement is applied.
    Inbound: ``applied``, or ``refused`` with the reason in ``result`` (a
    refused message is tried again when the platform sends it again).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending export")
        EXPORTED = "exported", _("Exported, awaiting answer")
        ANSWERED = "answered", _("Answered")
        APPLIED = "applied", _("Applied")
        REFUSED = "refused", _("Refused")

    # The timestamps (exported_at, answered_at) are the trail of an outbound
    # message; a loopback answer skips the export.
    TRANSITIONS: dict[str, set[str]] = {
        Status.PENDING: {Status.EXPORTED, Status.ANSWERED},
        Status.EXPORTED: {Status.ANSWERED},
        Status.ANSWERED: set(),
        Status.REFUSED: {Status.APPLIED, Status.REFUSED},
        Status.APPLIED: set(),
    }

    message_id = models.UUIDField(_("message id"), unique=True)
    direction = models.CharField(
        _("direction"), max_length=3, choices=Direction.choices
    )
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    kind = models.CharField(_("kind"), max_length=40, db_index=True)
    # The message this one answers.
    correlation_id = models.UUIDField(
        _("correlation id"), null=True, blank=True, db_index=True
    )
    # Never holds a resident ID in clear: see ``clear_payload``.
    payload = models.JSONField(_("payload"), default=dict, encoder=DjangoJSONEncoder)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    result = models.TextField(_("result"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    exported_at = models.DateTimeField(_("exported at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    file = models.ForeignKey(
        ExchangeFile,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
        verbose_name=_("file"),
    )

    class Meta:
        verbose_name = _("national platform message")
        verbose_name_plural = _("national platform messages")
        ordering = ["-created_at", "-pk"]
        permissions = [("export_nationalmessage", _("Can export the pending outbox"))]
        indexes = [
            models.Index(
                fields=["direction", "status", "created_at"],
                name="national_msg_waiting_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(direction="out", status__in=["pending", "exported", "answered"])
                    | Q(direction="in", status__in=["applied", "refused"])
                ),
                name="national_msg_status_per_direction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id}"

    def clear_payload(self) -> dict[str, Any]:
        """The payload as the platform reads it, with ``id_number`` in clear."""
        payload = dict(self.payload or {})
        token = payload.pop(ID_NUMBER_ENCRYPTED_KEY, None)
        if token is not None:
            payload[ID_NUMBER_KEY] = decrypt_text(token)
        return payload

    def age(self, now: dt.datetime | None = None) -> dt.timedelta:
        return (now or timezone.now()) - self.created_at


class DuplicateCheck(models.Model):
    """One question to the supervision platform: does this person hold an
    account (or a loan) elsewhere? Asked once per purpose and subject."""

    class Purpose(models.TextChoices):
        ACCOUNT = "account", _("Account opening")
        LOAN = "loan", _("Loan")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the answer")
        CLEAR = "clear", _("Clear")
        HIT = "hit", _("Hit: held elsewhere")

    id_number_hash = models.CharField(
        _("resident ID hash"), max_length=64, db_index=True
    )
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    # Who asked, e.g. "loan:L20260115000001" or "account:370600000012".
    subject = models.CharField(_("subject"), max_length=64)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # The cities a hit answer names, joined by "、".
    cities = models.TextField(_("cities"), blank=True)
    request = models.ForeignKey(
        NationalMessage,
        on_delete=models.PROTECT,
        related_name="duplicate_checks",
        verbose_name=_("request message"),
    )
    asked_at = models.DateTimeField(_("asked at"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("national duplicate check")
        verbose_name_plural = _("national duplicate checks")
        ordering = ["-asked_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_hash", "purpose", "subject"],
                name="national_check_once_per_subject",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "clear", "hit"]),
                name="national_check_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.subject}"
