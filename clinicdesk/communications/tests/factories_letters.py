"""Factories for templates, letterheads, signatures and letters. Templates go through template_create (the
wording is checked like the office's would be); letterheads and signatures are plain rows."""

from __future__ import annotations

import factory

from clinicdesk.core.tests.factories import OrganizationFactory, UserFactory

from ..choices import TemplateKind
from ..models import Letterhead, Signature
from ..services.templates import template_create

LETTER_BODY = """<p>Dear {{ patient.display_name }},</p>
<p>Your results from {{ today }} are normal. Call {{ location.phone }} with any questions.</p>"""


def make_template(organization, *, code: str = "results-letter", kind: str = TemplateKind.LETTER,
                  subject: str = "Results for {{ patient.full_name }}", body: str = LETTER_BODY, name: str = ""):
    return template_create(actor=None, organization=organization, code=code, name=name or code.replace("-", " ").title(),
                           kind=kind, subject=subject, body=body)


class LetterheadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Letterhead

    organization = factory.SubFactory(OrganizationFactory)
    location = None
    practice_name = "Riverside Family Medicine"
    address = "100 Main Street\nSpringfield, IL 62701"
    phone = "(217) 555-0100"
    footer = "Confidential: for the addressee only."


class SignatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signature

    user = factory.SubFactory(UserFactory, role="clinician", title="MD")
    organization = factory.LazyAttribute(lambda s: s.user.organization)
    closing = "Kind regards,"
    name_line = factory.LazyAttribute(lambda s: f"{s.user.first_name} {s.user.last_name}, MD")
    credentials = "Board-certified in Family Medicine"
