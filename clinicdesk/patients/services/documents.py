"""Documents in the chart: uploads are checked by their content, not by their name or declared type."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from clinicdesk.core.models import User

from ..models import Document, Patient
from .records import _ensure_current, _ensure_same_org, acting_as

# Declared types that say nothing (some browsers and scanners send these); the content decides.
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/x-download"}
SNIFF_BYTES = 8192
DEFAULT_RETENTION_YEARS = 10


@dataclass(frozen=True)
class AllowedType:
    label: str
    extensions: tuple[str, ...]
    declared: tuple[str, ...]


ALLOWED_TYPES: dict[str, AllowedType] = {
    "application/pdf": AllowedType("PDF", (".pdf",), ("application/pdf", "application/x-pdf")),
    "image/png": AllowedType("PNG image", (".png",), ("image/png",)),
    "image/jpeg": AllowedType("JPEG image", (".jpg", ".jpeg", ".jpe", ".jfif"), ("image/jpeg", "image/pjpeg", "image/jpg")),
    "image/tiff": AllowedType("TIFF image", (".tif", ".tiff"), ("image/tiff", "image/tif")),
    "image/heic": AllowedType("HEIC image", (".heic", ".heif"), ("image/heic", "image/heif")),
}
ALLOWED_LABELS = ", ".join(t.label.split()[0] for t in ALLOWED_TYPES.values())


def sniff_content_type(upload: UploadedFile, *, declared_type: str | None = None) -> str:
    """The upload's real type from its first bytes; a ValidationError on 'file' if it is not allowed or
    if its name or declared type claims to be something else (a text file named .pdf, a PDF sent as PNG)."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    kind = filetype.guess(head)
    mime = kind.mime if kind is not None else None
    if mime not in ALLOWED_TYPES:
        found = f"its content is {mime}" if mime else "its content is not a recognised document"
        raise ValidationError({"file": f"Upload a {ALLOWED_LABELS} file; {found}."})
    allowed = ALLOWED_TYPES[mime]
    declared = (declared_type if declared_type is not None else getattr(upload, "content_type", "") or "").lower()
    declared = declared.split(";")[0].strip()
    if declared not in GENERIC_TYPES and declared not in allowed.declared:
        raise ValidationError({"file": f"The file says it is {declared} but its content is a {allowed.label}."})
    suffix = PurePosixPath(upload.name or "").suffix.lower()
    if suffix and suffix not in allowed.extensions:
        raise ValidationError({"file": f"The file is named {suffix} but its content is a {allowed.label}."})
    return mime


def _digest(upload: UploadedFile) -> str:
    sha = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        sha.update(chunk)
    upload.seek(0)
    return sha.hexdigest()


def default_retention(today: date | None = None) -> date:
    """How long a new document is kept by default (settings.DOCUMENT_RETENTION_YEARS, 10 years)."""
    today = today or timezone.localdate()
    years = getattr(settings, "DOCUMENT_RETENTION_YEARS", DEFAULT_RETENTION_YEARS)
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)


@transaction.atomic
def document_upload(
    *,
    patient: Patient,
    actor: User,
    file: UploadedFile,
    category: str,
    title: str = "",
    retain_until: date | None = None,
) -> Document:
    """File a scan, PDF or image in the patient's chart under a random name in the default storage."""
    _ensure_same_org(patient, actor)
    _ensure_current(patient)
    errors: dict[str, list[str]] = {}
    limit = settings.DOCUMENT_MAX_BYTES
    content_type = ""
    if file is None or not file.size:
        errors["file"] = ["Choose a file to upload; this one is empty."]
    elif file.size > limit:
        errors["file"] = [f"The file is {filesizeformat(file.size)}; the limit is {filesizeformat(limit)}."]
    else:
        try:
            content_type = sniff_content_type(file)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if retain_until is not None and retain_until < timezone.localdate():
        errors["retain_until"] = ["The retention date cannot be in the past."]
    original_name = PurePosixPath((file.name if file is not None else "") or "upload").name[:255]
    document = Document(
        organization_id=patient.organization_id,
        patient=patient,
        category=category,
        title=(title or "").strip() or PurePosixPath(original_name).stem[:200] or "Document",
        original_name=original_name,
        content_type=content_type,
        size=file.size if file is not None else 0,
        sha256="",
        retain_until=retain_until or default_retention(),
        uploaded_by=actor,
    )
    try:
        document.full_clean(exclude=["file", "sha256", *errors])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    document.sha256 = _digest(file)
    # Stored under the sniffed type's own extension; the name the user gave is kept only in the row.
    stored_name = "upload" + ALLOWED_TYPES[content_type].extensions[0]
    document.file.save(stored_name, file, save=False)
    try:
        with acting_as(actor):
            document.save()
    except Exception:
        document.file.storage.delete(document.file.name)
        raise
    return document
