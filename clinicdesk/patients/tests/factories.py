"""Factories for patient records. Rows are saved directly (no service); Patient.save() fills the search columns."""

from datetime import date

import factory

from clinicdesk.core.tests.factories import OrganizationFactory
from clinicdesk.patients.choices import (
    AdministrativeSex,
    AlertKind,
    Channel,
    ConsentStatus,
    DocumentCategory,
    Relationship,
)
from clinicdesk.patients.models import CommunicationConsent, Document, EmergencyContact, Patient, PatientAlert

# The smallest valid PDF header: enough for content sniffing (filetype looks at the magic bytes).
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    organization = factory.SubFactory(OrganizationFactory)
    mrn = factory.Sequence(lambda n: f"F{n:07d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_between", start_date=date(1940, 1, 1), end_date=date(2015, 12, 31))
    sex = AdministrativeSex.FEMALE
    phone_mobile = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
    email = factory.LazyAttribute(lambda p: f"{p.first_name.lower()}.{p.mrn.lower()}@example.com")


class EmergencyContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmergencyContact

    patient = factory.SubFactory(PatientFactory)
    name = factory.Faker("name")
    relationship = Relationship.SPOUSE
    phone = factory.Sequence(lambda n: f"+1202555{(n + 5000) % 10000:04d}")


class PatientAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientAlert

    patient = factory.SubFactory(PatientFactory)
    kind = AlertKind.INTERPRETER
    note = "Spanish"


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommunicationConsent

    patient = factory.SubFactory(PatientFactory)
    channel = Channel.SMS
    status = ConsentStatus.OPTED_IN


class DocumentFactory(factory.django.DjangoModelFactory):
    """A stored PDF document; the file goes through default storage like a real upload."""

    class Meta:
        model = Document

    patient = factory.SubFactory(PatientFactory)
    organization = factory.LazyAttribute(lambda d: d.patient.organization)
    category = DocumentCategory.REFERRAL
    title = factory.Sequence(lambda n: f"Referral letter {n}")
    file = factory.django.FileField(filename="referral.pdf", data=PDF_BYTES)
    original_name = "referral.pdf"
    content_type = "application/pdf"
    size = len(PDF_BYTES)
    sha256 = "0" * 64
