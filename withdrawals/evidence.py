"""Evidence files: what is accepted, checked by content, never by name.

A file is a PDF, a JPEG or a PNG when its bytes say so (the signature at the
start and the end marker of the format), whatever its name or the type the
browser claimed; it is at most ``EVIDENCE_MAX_BYTES`` long and not empty.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from core.exceptions import field_error


@dataclass(frozen=True)
class EvidenceUpload:
    """One uploaded file as the faces hand it to the services."""

    kind: str
    name: str
    data: bytes


def _is_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]


def _is_jpeg(data: bytes) -> bool:
    return data.startswith(b"\xff\xd8\xff") and data.rstrip(b"\x00").endswith(
        b"\xff\xd9"
    )


def _is_png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in data[-64:]


_SNIFFERS = (
    ("application/pdf", _is_pdf),
    ("image/jpeg", _is_jpeg),
    ("image/png", _is_png),
)


@dataclass(frozen=True)
class CheckedEvidence:
    kind: str
    name: str
    data: bytes
    content_type: str
    sha256: str


def evidence_check(
    upload: EvidenceUpload, *, field: str = "evidence"
) -> CheckedEvidence:
    from withdrawals.models import Evidence

    if upload.kind not in Evidence.Kind.values:
        raise field_error(
            field, _("Unknown kind of evidence."), "evidence_kind_unknown"
        )
    size = len(upload.data)
    if size == 0:
        raise field_error(
            field,
            _("The file %(name)s is empty.") % {"name": upload.name},
            "evidence_empty",
        )
    limit = settings.EVIDENCE_MAX_BYTES
    if size > limit:
        raise field_error(
            field,
            _("The file %(name)s is larger than %(mb)s MB.")
            % {"name": upload.name, "mb": limit // (1024 * 1024)},
            "evidence_too_large",
        )
    for content_type, sniff in _SNIFFERS:
        if sniff(upload.data):
            return CheckedEvidence(
                kind=upload.kind,
                name=(upload.name or "file")[-120:],
                data=upload.data,
                content_type=content_type,
                sha256=hashlib.sha256(upload.data).hexdigest(),
            )
    raise field_error(
        field,
        _("The file %(name)s is not a PDF, JPEG or PNG document.")
        % {"name": upload.name},
        "evidence_type_refused",
    )
