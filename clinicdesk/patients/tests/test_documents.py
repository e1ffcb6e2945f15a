import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clinicdesk.core.models import AuditEvent
from clinicdesk.patients import services
from clinicdesk.patients.models import Document
from clinicdesk.patients.services.documents import default_retention
from clinicdesk.patients.tests.factories import PDF_BYTES, PNG_BYTES, PatientFactory

pytestmark = pytest.mark.django_db

JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
TIFF_BYTES = b"II*\x00\x08\x00\x00\x00" + b"\x00" * 64
HEIC_BYTES = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


@pytest.fixture(autouse=True)
def temporary_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    return tmp_path


@pytest.fixture
def patient(org):
    return PatientFactory(organization=org)


def upload(patient, actor, name, data, content_type, **kwargs):
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return services.document_upload(patient=patient, actor=actor, file=file, category=kwargs.pop("category", "referral"), **kwargs)


def test_upload_stores_the_file_under_a_random_name_with_its_hash(patient, front_desk, temporary_media):
    # when
    document = upload(patient, front_desk, "Dr Smith referral.pdf", PDF_BYTES, "application/pdf")
    # then
    assert document.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert document.size == len(PDF_BYTES)
    assert document.content_type == "application/pdf"
    assert document.original_name == "Dr Smith referral.pdf"
    assert document.title == "Dr Smith referral"
    assert "Smith" not in document.file.name and document.file.name.endswith(".pdf")
    assert document.file.name.startswith(f"documents/{patient.organization_id}/")
    assert default_storage.open(document.file.name).read() == PDF_BYTES
    assert (temporary_media / document.file.name).is_file()
    assert document.retain_until == default_retention()
    assert document.uploaded_by == front_desk
    event = AuditEvent.objects.get(action="document.created")
    assert event.patient_id == patient.pk and event.actor_id == front_desk.pk


@pytest.mark.parametrize(
    ("name", "data", "content_type", "stored"),
    [
        ("card.png", PNG_BYTES, "image/png", "image/png"),
        ("id.jpg", JPEG_BYTES, "image/jpeg", "image/jpeg"),
        ("fax.tiff", TIFF_BYTES, "image/tiff", "image/tiff"),
        ("photo.heic", HEIC_BYTES, "image/heic", "image/heic"),
        ("scan", PDF_BYTES, "application/octet-stream", "application/pdf"),
    ],
)
def test_allowed_types_are_recognised_by_content(patient, front_desk, name, data, content_type, stored):
    assert upload(patient, front_desk, name, data, content_type).content_type == stored


@pytest.mark.parametrize(
    ("name", "data", "content_type", "message"),
    [
        ("letter.pdf", b"Dear doctor, this is plain text.", "application/pdf", "not a recognised document"),
        ("card.png", PDF_BYTES, "image/png", "says it is image/png but its content is a PDF"),
        ("card.png", PDF_BYTES, "application/octet-stream", "named .png but its content is a PDF"),
        ("page.html", b"<html><script>alert(1)</script></html>", "text/html", "not a recognised document"),
        ("archive.pdf", b"PK\x03\x04" + b"\x00" * 100, "application/pdf", "application/zip"),
    ],
)
def test_mislabelled_or_unsupported_upload_is_refused_on_the_file_field(patient, front_desk, name, data, content_type, message):
    with pytest.raises(ValidationError) as exc:
        upload(patient, front_desk, name, data, content_type)
    assert message in " ".join(exc.value.message_dict["file"])
    assert not Document.objects.exists()


def test_oversize_upload_names_the_limit_and_stores_nothing(patient, front_desk, settings, temporary_media):
    settings.DOCUMENT_MAX_BYTES = 1024
    with pytest.raises(ValidationError) as exc:
        upload(patient, front_desk, "big.pdf", PDF_BYTES + b"\x00" * 2048, "application/pdf")
    assert "the limit is 1.0\xa0KB" in exc.value.message_dict["file"][0]
    assert not Document.objects.exists()
    assert not any(temporary_media.rglob("*.pdf"))


def test_empty_upload_is_refused(patient, front_desk):
    with pytest.raises(ValidationError) as exc:
        upload(patient, front_desk, "empty.pdf", b"", "application/pdf")
    assert "file" in exc.value.message_dict


def test_unknown_category_and_past_retention_are_refused(patient, front_desk):
    with pytest.raises(ValidationError) as exc:
        upload(patient, front_desk, "a.pdf", PDF_BYTES, "application/pdf", category="selfie",
               retain_until=timezone.localdate() - timedelta(days=1))
    assert {"category", "retain_until"} <= set(exc.value.message_dict)
    assert not Document.objects.exists()


def test_explicit_retention_date_is_kept(patient, front_desk):
    keep = timezone.localdate() + timedelta(days=365 * 30)
    assert upload(patient, front_desk, "a.pdf", PDF_BYTES, "application/pdf", retain_until=keep).retain_until == keep


def test_upload_to_another_practices_patient_is_refused(front_desk, other_org):
    stranger = PatientFactory(organization=other_org)
    with pytest.raises(ValidationError):
        upload(stranger, front_desk, "a.pdf", PDF_BYTES, "application/pdf")
    assert not Document.objects.exists()
