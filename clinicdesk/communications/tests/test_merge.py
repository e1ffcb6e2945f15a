from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from clinicdesk.core.tests.factories import LocationFactory, UserFactory
from clinicdesk.patients.models import Guarantor
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.tests.factories import AppointmentFactory, AppointmentTypeFactory

from .. import merge
from ..rendering import render
from .factories_letters import SignatureFactory

pytestmark = pytest.mark.django_db


def _plain(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    return isinstance(value, str)


def test_every_catalogued_field_is_in_the_context_as_plain_text(org):
    # given a patient with an appointment
    patient = PatientFactory(organization=org, first_name="Ana", preferred_name="Annie", last_name="Álvarez",
                             date_of_birth=date(1980, 3, 4), city="Springfield", state="IL", postal_code="62704")
    # when the context is built
    context = merge.merge_context(organization=org, patient=patient)
    # then every field exists, and nothing in it is a model instance
    for key in merge.CATALOGUE:
        namespace, _, name = key.partition(".")
        assert (context[namespace][name] if name else context[namespace]) is not None, key
    assert all(_plain(v) for v in context.values())
    assert context["patient"]["display_name"] == "Annie Álvarez"
    assert context["patient"]["date_of_birth"] == "March 4, 1980"
    assert context["patient"]["city_line"] == "Springfield, IL 62704"
    assert context["guarantor"]["relationship"] == "Self"


def test_appointment_fields_are_in_the_locations_time_zone_and_read_like_people_write(org):
    location = LocationFactory(organization=org, name="Harbor Office", time_zone="America/Los_Angeles", phone="555-0199")
    provider = UserFactory(organization=org, role="clinician", first_name="Maria", last_name="Chen", title="MD")
    kind = AppointmentTypeFactory(organization=org, name="Annual physical", duration_minutes=30)
    # 17:30 UTC on 10 March 2026 is 10:30 in Los Angeles (daylight time from 8 March)
    appointment = AppointmentFactory(organization=org, location=location, provider=provider, appointment_type=kind,
                                     starts_at=datetime(2026, 3, 10, 17, 30, tzinfo=UTC))
    context = merge.merge_context(organization=org, appointment=appointment)
    assert context["appointment"]["date"] == "Tuesday, March 10, 2026"
    assert context["appointment"]["time"] == "10:30 AM"
    assert context["appointment"]["duration"] == "30 minutes"
    assert context["appointment"]["provider"] == "Dr. Maria Chen"
    assert context["location"]["phone"] == "555-0199"
    assert context["patient"]["last_name"] == appointment.patient.last_name


def test_provider_full_name_comes_from_the_letter_signature(org):
    signature = SignatureFactory(user__organization=org, name_line="Maria Chen, MD, FAAFP")
    context = merge.merge_context(organization=org, provider=signature.user)
    assert context["provider"]["full_name"] == "Maria Chen, MD, FAAFP"


def test_guarantor_other_than_self(org):
    patient = PatientFactory(organization=org)
    Guarantor.objects.create(patient=patient, relationship="parent", name="Rosa Álvarez", city="Peoria", state="IL")
    context = merge.merge_context(organization=org, patient=patient)
    assert context["guarantor"]["name"] == "Rosa Álvarez" and context["guarantor"]["relationship"] == "Parent"


def test_balance_is_not_available_until_a_source_is_registered(org):
    patient = PatientFactory(organization=org)
    assert merge.merge_context(organization=org, patient=patient)["balance"]["amount_due"] == merge.NOT_AVAILABLE
    calls = []

    def provide(*, organization, patient, appointment, extra):
        calls.append(patient)
        return {"amount_due": Decimal("1234.5"), "due_date": date(2026, 4, 1), "invented": "ignored"}

    merge.register_merge_source("balance", {"amount_due": "Amount due", "due_date": "Pay by"}, provide)
    try:
        context = merge.merge_context(organization=org, patient=patient)
        assert context["balance"]["amount_due"] == "$1,234.50"
        assert context["balance"]["due_date"] == "April 1, 2026"
        assert "invented" not in context["balance"] and calls == [patient]
        rendered = render("Due: {{ balance.amount_due }}", context, kind="letter")
        assert rendered.text == "Due: $1,234.50" and rendered.html == "<p>Due: $1,234.50</p>"
    finally:
        merge.unregister_merge_source("balance")


def test_a_source_may_not_take_over_a_built_in_namespace():
    with pytest.raises(ValueError, match="patient"):
        merge.register_merge_source("patient", {"ssn": "SSN"}, lambda **kw: {})


def test_extra_values_fill_known_fields_and_refuse_unknown_namespaces(org):
    context = merge.merge_context(organization=org, extra={"claim": {"number": "CLM-9", "bogus": "x"}})
    assert context["claim"]["number"] == "CLM-9" and "bogus" not in context["claim"]
    with pytest.raises(ValueError, match="settings"):
        merge.merge_context(organization=org, extra={"settings": {"SECRET_KEY": "x"}})
    with pytest.raises(TypeError):
        merge.merge_context(organization=org, extra={"claim": {"number": object()}})


def test_sample_context_fills_every_field_and_names_the_practice(org):
    context = merge.sample_context(org)
    assert context["practice"]["name"] == org.name
    assert all(_plain(v) for v in context.values())
    assert {f"{ns}.{k}" for ns, v in context.items() if isinstance(v, dict) for k in v} | {"today"} == set(merge.CATALOGUE)


def test_sms_safe_fields_leave_out_what_a_lock_screen_should_not_show():
    unsafe = {"patient.date_of_birth", "patient.mrn", "appointment.type", "balance.amount_due", "claim.status",
              "patient.address_line1"}
    assert not unsafe & merge.SMS_SAFE_FIELDS
    assert {"patient.first_name", "appointment.time", "links.confirm_url", "practice.phone"} <= merge.SMS_SAFE_FIELDS
    assert "links" in merge.SMS_SAFE_NAMESPACES and "balance" not in merge.SMS_SAFE_NAMESPACES
