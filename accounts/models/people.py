"""People and partner banks: depositors, credit records, ID disclosures."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


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


class Employer(models.Model):
    """An employer (缴存单位) whose employees hold fund accounts here, with
    the bank that collects its deposits. Identified by its unified social
    credit code (统一社会信用代码), whose check character is validated."""

    name = models.CharField(_("name"), max_length=100)
    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    bank = models.ForeignKey(
        BankPartner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="employers",
        verbose_name=_("servicing bank"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("employer")
        verbose_name_plural = _("employers")
        ordering = ["name"]
        constraints = [
            # Stored in canonical form: 18 characters, digits and capitals.
            models.CheckConstraint(
                condition=Q(uscc__regex=r"^[0-9A-Z]{18}$"),
                name="employer_uscc_canonical",
            ),
        ]

    def __str__(self) -> str:
        return self.name


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
