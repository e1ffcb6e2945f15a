"""Encounters made from completed visits (the receiver of the schedule's signal), and the scrubber checks the
review queue shows: a visit billed with a procedure but no modifier 25, a pointer at a heading code, a repeated
line, too many units, an inactive provider; a batch holding a flagged encounter posts nothing."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.models import Encounter
from clinicdesk.billing.receivers import encounter_for_completed_visit
from clinicdesk.billing.services.charges import ServiceInput, encounter_code, encounter_problems, encounters_post
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.models import JournalEntry
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.services.appointments import appointment_set_status
from clinicdesk.scheduling.signals import appointment_status_changed
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from .factories_encounters import add_line, add_procedures, coded, new_encounter, with_header_code


@pytest.fixture
def doctor(make_user):
    return make_user(Role.CLINICIAN, username="drlee")


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="devon")


@pytest.fixture
def prices(fee_schedule):
    add_procedures(fee_schedule)
    return fee_schedule


def messages_of(encounter) -> list[str]:
    encounter = Encounter.objects.get(pk=encounter.pk)
    return [p["message"] for p in encounter_problems(encounter)]


# --- the receiver ------------------------------------------------------------------------------------------


def test_checking_out_a_visit_makes_its_encounter_once(org, doctor, front_desk, django_capture_on_commit_callbacks):
    # given a visit with the doctor that has reached the exam room
    appointment = AppointmentFactory(organization=org, provider=doctor, status=AppointmentStatus.WITH_PROVIDER,
                                     starts_at=timezone.now() - timedelta(minutes=30))
    # when the desk checks the patient out
    with django_capture_on_commit_callbacks(execute=True):
        appointment_set_status(actor=front_desk, appointment=appointment, status=AppointmentStatus.COMPLETED)
    # then the visit has one draft encounter for the doctor, on the visit's day
    encounter = Encounter.objects.get(appointment=appointment)
    assert (encounter.status, encounter.provider_id, encounter.patient_id) == (
        EncounterStatus.DRAFT, doctor.pk, appointment.patient_id)
    assert AuditEvent.objects.filter(action="encounter.created", target_id=str(encounter.pk)).count() == 1
    # and hearing the signal again changes nothing
    appointment_status_changed.send(sender=type(appointment), appointment=appointment, previous_status="with_provider")
    assert Encounter.objects.filter(appointment=appointment).count() == 1


def test_only_a_completed_visit_gets_an_encounter(org, doctor, front_desk, django_capture_on_commit_callbacks):
    appointment = AppointmentFactory(organization=org, provider=doctor, status=AppointmentStatus.SCHEDULED,
                                     starts_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        appointment_set_status(actor=front_desk, appointment=appointment, status=AppointmentStatus.ARRIVED)
    assert not Encounter.objects.exists()
    # a no-show that somehow reports completed is refused by the service and leaves no encounter
    appointment.status = AppointmentStatus.NO_SHOW
    encounter_for_completed_visit(sender=None, appointment=appointment)
    assert not Encounter.objects.exists()


# --- the scrubber ------------------------------------------------------------------------------------------


def test_a_visit_billed_with_an_injection_needs_modifier_25(org, doctor, prices):
    missing = coded(org, doctor, services=(("99213", "", 1), ("96372", "", 1)))
    assert messages_of(missing) == ["Service 1: missing modifier 25: 99213 is billed with 96372 the same day."]
    with_25 = coded(org, doctor, services=(("99214", "25", 1), ("96372", "", 1)))
    assert messages_of(with_25) == []


def test_a_visit_with_a_lab_or_an_ecg_needs_no_modifier(org, doctor, prices):
    encounter = coded(org, doctor, services=(("99214", "", 1), ("36415", "", 1), ("93000", "", 1)))
    assert messages_of(encounter) == []


def test_a_pointer_at_a_heading_code_is_flagged(org, doctor, prices):
    encounter = with_header_code(org, doctor)
    found = messages_of(encounter)
    assert found[0].startswith("Diagnosis 1: M54.5 (") and "heading" in found[0] and "M54.50" in found[0]
    assert found[1] == "Service 1: points at diagnosis 1 (M54.5), a heading."


def test_a_repeated_line_and_too_many_units_are_flagged(org, doctor, prices):
    encounter = coded(org, doctor, services=(("99213", "", 2), ("36415", "", 1), ("36415", "", 13), ("J1100", "", 40)))
    assert messages_of(encounter) == [
        "Service 1: 2 units of 99213 is more than 1; check the units.",
        "Service 3: repeats service 2 (36415 × 13); bill one line with more units.",
        "Service 3: 13 units of 36415 is more than 12; check the units.",
    ]


def test_an_inactive_provider_is_flagged(org, doctor, prices, make_user):
    colleague = make_user(Role.CLINICIAN, username="drgone")
    encounter = coded(org, doctor)
    encounter.services.update(rendering_provider=colleague)
    type(colleague).objects.filter(pk__in=[colleague.pk, doctor.pk]).update(is_active=False)
    found = messages_of(encounter)
    assert any(m.startswith("Service 1: the rendering provider") and "no longer active" in m for m in found)
    assert any(m.startswith("The provider") and "no longer active" in m for m in found)


def test_a_line_straight_on_the_table_is_checked_like_any_other(org, doctor, prices):
    encounter = coded(org, doctor)
    add_line(encounter, "20610", pointers="1,3")
    found = messages_of(encounter)
    assert "Service 2: a pointer names no diagnosis." in found
    assert "Service 1: missing modifier 25: 99213 is billed with 20610 the same day." in found


def test_a_batch_with_a_flagged_encounter_posts_nothing_and_names_it(org, doctor, biller, prices):
    clean = coded(org, doctor)
    flagged = coded(org, doctor, services=(("99213", "", 1), ("96372", "", 1)))
    with pytest.raises(ValidationError) as refused:
        encounters_post(encounters=[clean, flagged], actor=biller)
    message = " ".join(refused.value.messages)
    assert str(flagged.patient) in message and "missing modifier 25" in message
    assert str(clean.patient) not in message
    assert not JournalEntry.objects.exists()
    assert Encounter.objects.get(pk=clean.pk).status == EncounterStatus.IN_REVIEW
    # once fixed the batch posts
    encounter_code(encounter=flagged, actor=biller, diagnoses=["J06.9"], services=[
        ServiceInput(code="99214", modifiers="25"), ServiceInput(code="96372")])
    encounters_post(encounters=[clean, flagged], actor=biller)
    assert set(Encounter.objects.values_list("status", flat=True)) == {EncounterStatus.POSTED}


def test_a_rendering_provider_of_another_practice_is_refused(org, doctor, prices, other_org):
    from clinicdesk.core.tests.factories import UserFactory

    stranger = UserFactory(organization=other_org, role=Role.CLINICIAN)
    encounter = new_encounter(org, doctor)
    with pytest.raises(ValidationError, match="Service 1: no such rendering provider"):
        encounter_code(encounter=encounter, actor=doctor, diagnoses=["J06.9"],
                       services=[ServiceInput(code="99213", rendering_provider_id=stranger.pk)])
    assert not encounter.services.exists()
