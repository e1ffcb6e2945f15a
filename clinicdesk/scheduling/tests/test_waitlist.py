"""The waitlist: entries and their rules, offers of freed time (ranked, at once), booking an offer by
staff or by the patient's reply, and what happens to everyone else's offers."""

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from freezegun import freeze_time

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory, UserFactory
from clinicdesk.patients.choices import PatientStatus
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus, OfferReply, OfferStatus, TimeOfDay, WaitlistStatus
from clinicdesk.scheduling.models import Appointment, WaitlistEntry, WaitlistOffer
from clinicdesk.scheduling.services.appointments import appointment_book, appointment_cancel, appointment_move
from clinicdesk.scheduling.services.waitlist import (
    OFFERS_PER_OPENING,
    waitlist_entry_add,
    waitlist_entry_remove,
    waitlist_expire,
    waitlist_offer_accept,
    waitlist_offer_book,
    waitlist_offer_decline,
    waitlist_offer_freed_time,
)

from .factories import AppointmentTypeFactory, AvailabilityTemplateFactory, Clinic, ProviderFactory

pytestmark = pytest.mark.django_db

NOW = "2027-03-10T15:00:00Z"  # Wednesday 10:00 in New York
IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _urls_loaded():
    """Load the URLconf (and the API's schemas) before a test freezes the clock: pydantic cannot build a
    schema for freezegun's fake date class."""
    assert get_resolver().url_patterns


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    settings.TASKS = IMMEDIATE


@pytest.fixture
def clinic(org):
    return Clinic.build(org)


@pytest.fixture
def frozen():
    with freeze_time(NOW) as clock:
        yield clock


def wait(clinic, frozen=None, **overrides):
    """A waitlist entry for a new patient (the clock moves a minute, so entries are added one after another)."""
    if frozen is not None:
        frozen.tick(timedelta(minutes=1))
    args = {"actor": clinic.actor, "patient": PatientFactory(organization=clinic.organization), "appointment_type": clinic.kind}
    args.update(overrides)
    return waitlist_entry_add(**args)


def book(clinic, *, patient=None, hour=14, minute=0, day=11):
    return appointment_book(actor=clinic.actor, patient=patient or PatientFactory(organization=clinic.organization),
                            provider=clinic.provider, location=clinic.location, appointment_type=clinic.kind,
                            starts_at=clinic.at(2027, 3, day, hour, minute))


def cancel(appointment, clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(actor=clinic.actor, appointment=appointment, reason="Patient is sick")


def offers_by_rank(**filters):
    return list(WaitlistOffer.objects.filter(**filters).select_related("entry").order_by("rank"))


# --- entries ------------------------------------------------------------------------------------------------


def test_adds_an_entry_with_its_constraints(clinic, frozen):
    entry = wait(clinic, providers=[clinic.provider], location=clinic.location, earliest_date=date(2027, 3, 11),
                 latest_date=date(2027, 4, 30), weekdays=[3, 1], time_of_day=TimeOfDay.AFTERNOON, priority=3, notes=" call first ")
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING and entry.weekdays == [1, 3] and entry.notes == "call first"
    assert list(entry.providers.all()) == [clinic.provider] and entry.added_by == clinic.actor
    assert AuditEvent.objects.filter(action="waitlistentry.created", patient_id=entry.patient_id).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"latest_date": date(2027, 3, 1)}, "latest_date"),
        ({"earliest_date": date(2027, 4, 2), "latest_date": date(2027, 4, 1)}, "latest_date"),
        ({"weekdays": [7]}, "weekdays"),
        ({"weekdays": [1, 1]}, "weekdays"),
        ({"time_of_day": "night"}, "time_of_day"),
        ({"priority": 11}, "priority"),
        ({"priority": -1}, "priority"),
        ({"notes": "x" * 301}, "notes"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(clinic, frozen, overrides, field):
    with pytest.raises(ValidationError) as caught:
        wait(clinic, **overrides)
    assert field in caught.value.message_dict
    assert not WaitlistEntry.objects.exists()


def test_records_of_another_practice_are_refused(clinic, frozen, other_org):
    elsewhere = Clinic.build(other_org)
    with pytest.raises(ValidationError) as caught:
        wait(clinic, patient=elsewhere.patient, appointment_type=elsewhere.kind, providers=[elsewhere.provider],
             location=elsewhere.location)
    assert {"patient", "appointment_type", "providers", "location"} <= set(caught.value.message_dict)
    assert not WaitlistEntry.objects.exists()


def test_current_appointment_must_be_the_patients_own_and_upcoming(clinic, frozen):
    theirs = book(clinic)
    with pytest.raises(ValidationError) as caught:
        wait(clinic, current_appointment=theirs)
    assert "current_appointment" in caught.value.message_dict
    appointment_cancel(actor=clinic.actor, appointment=theirs, reason="x")
    with pytest.raises(ValidationError) as caught:
        wait(clinic, patient=theirs.patient, current_appointment=theirs)
    assert "current_appointment" in caught.value.message_dict


def test_one_open_entry_per_patient_and_type_and_only_active_patients(clinic, frozen):
    entry = wait(clinic)
    with pytest.raises(ValidationError) as caught:
        wait(clinic, patient=entry.patient)
    assert "appointment_type" in caught.value.message_dict
    inactive = PatientFactory(organization=clinic.organization, status=PatientStatus.INACTIVE)
    with pytest.raises(ValidationError) as caught:
        wait(clinic, patient=inactive)
    assert "patient" in caught.value.message_dict
    waitlist_entry_remove(actor=clinic.actor, entry=entry)
    assert wait(clinic, patient=entry.patient).status == WaitlistStatus.WAITING


def test_a_user_limited_to_other_locations_cannot_use_this_one(clinic, frozen):
    elsewhere = LocationFactory(organization=clinic.organization)
    limited = UserFactory(organization=clinic.organization, role=Role.FRONT_DESK)
    limited.locations.set([elsewhere])
    with pytest.raises(ValidationError) as caught:
        wait(clinic, actor=limited, location=clinic.location)
    assert "location" in caught.value.message_dict


# --- the whole flow: cancel, offer at once, accept, everyone else withdrawn ------------------------------------


def test_cancelling_offers_the_time_at_once_ranked_and_the_first_yes_wins(clinic, frozen, django_capture_on_commit_callbacks):
    # given a booked Thursday 14:00 and a waitlist with fits and misfits
    appointment = book(clinic)
    first = wait(clinic, frozen)
    urgent = wait(clinic, frozen, priority=5)
    third = wait(clinic, frozen)
    fourth = wait(clinic, frozen)
    misfits = [
        wait(clinic, frozen, time_of_day=TimeOfDay.MORNING),
        wait(clinic, frozen, weekdays=[0]),
        wait(clinic, frozen, latest_date=date(2027, 3, 10)),
        wait(clinic, frozen, earliest_date=date(2027, 3, 12)),
        wait(clinic, frozen, location=LocationFactory(organization=clinic.organization)),
        wait(clinic, frozen, providers=[ProviderFactory(organization=clinic.organization)]),
    ]
    earlier = book(clinic, hour=9)
    misfits.append(wait(clinic, frozen, patient=earlier.patient, current_appointment=earlier))  # already earlier
    # when the appointment is cancelled (the task runs on commit with the immediate backend)
    cancel(appointment, clinic, django_capture_on_commit_callbacks)
    # then the best three are offered that time, at once, in rank order
    offers = offers_by_rank()
    assert [o.entry for o in offers] == [urgent, first, third][:OFFERS_PER_OPENING]
    assert all(o.starts_at == clinic.at(2027, 3, 11, 14) and o.provider == clinic.provider for o in offers)
    assert all(o.status == OfferStatus.PENDING and len(o.token) >= 40 and o.expires_at > o.created_at for o in offers)
    assert len({o.token for o in offers}) == len(offers)
    assert WaitlistEntry.objects.get(pk=urgent.pk).status == WaitlistStatus.OFFERED
    assert WaitlistEntry.objects.get(pk=fourth.pk).status == WaitlistStatus.WAITING
    assert not WaitlistOffer.objects.filter(entry__in=misfits).exists()
    assert AuditEvent.objects.filter(action="waitlist.offered").count() == 3
    # when the second-ranked patient replies first
    with django_capture_on_commit_callbacks(execute=True):
        assert waitlist_offer_accept(token=offers[1].token) == OfferReply.BOOKED
    # then the time is theirs and the others are withdrawn and waiting again
    booked = Appointment.objects.get(patient=first.patient, status=AppointmentStatus.SCHEDULED)
    assert booked.starts_at == clinic.at(2027, 3, 11, 14) and booked.provider == clinic.provider
    assert [o.status for o in offers_by_rank()] == [OfferStatus.WITHDRAWN, OfferStatus.ACCEPTED, OfferStatus.WITHDRAWN]
    assert WaitlistOffer.objects.get(pk=offers[1].pk).appointment == booked
    assert WaitlistEntry.objects.get(pk=first.pk).status == WaitlistStatus.BOOKED
    assert {e.status for e in WaitlistEntry.objects.filter(pk__in=[urgent.pk, third.pk])} == {WaitlistStatus.WAITING}
    # and a later yes gets a clear answer, not a booking
    assert waitlist_offer_accept(token=offers[0].token) == OfferReply.TAKEN
    assert waitlist_offer_accept(token=offers[1].token) == OfferReply.ALREADY_BOOKED
    assert waitlist_offer_accept(token="no-such-token") == OfferReply.UNKNOWN
    assert Appointment.objects.filter(starts_at=clinic.at(2027, 3, 11, 14), status=AppointmentStatus.SCHEDULED).count() == 1


def test_moving_an_appointment_offers_the_time_it_left(clinic, frozen, django_capture_on_commit_callbacks):
    appointment = book(clinic)
    entry = wait(clinic, frozen)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_move(actor=clinic.actor, appointment=appointment, starts_at=clinic.at(2027, 3, 12, 9))
    offer = WaitlistOffer.objects.get(entry=entry)
    assert offer.starts_at == clinic.at(2027, 3, 11, 14)


def test_offering_twice_for_the_same_time_offers_nobody_twice(clinic, frozen):
    entry = wait(clinic, frozen)
    kwargs = {"provider_id": clinic.provider.pk, "location_id": clinic.location.pk,
                  "starts_at": clinic.at(2027, 3, 11, 14), "ends_at": clinic.at(2027, 3, 11, 14, 15)}
    assert len(waitlist_offer_freed_time(**kwargs)) == 1
    assert waitlist_offer_freed_time(**kwargs) == []
    assert WaitlistOffer.objects.filter(entry=entry).count() == 1


def test_past_time_or_a_patient_busy_then_gets_no_offer(clinic, frozen):
    entry = wait(clinic, frozen)
    book(clinic, patient=entry.patient, hour=14, day=11)  # the patient already comes then
    colleague = AvailabilityTemplateFactory(provider=ProviderFactory(organization=clinic.organization),
                                            location=clinic.location).provider
    assert waitlist_offer_freed_time(provider_id=colleague.pk, location_id=clinic.location.pk,
                                     starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15)) == []
    assert waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                     starts_at=clinic.at(2027, 3, 9, 14), ends_at=clinic.at(2027, 3, 9, 14, 15)) == []


def test_fit_breaks_ties_between_equal_priority_and_age(clinic, frozen):
    # given two entries added in the same instant with the same priority
    any_provider = wait(clinic)
    this_provider = wait(clinic, providers=[clinic.provider])
    assert any_provider.created_at == this_provider.created_at
    # when time frees up
    offers = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                       starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15))
    # then the patient who asked for this provider is first
    assert [o.entry for o in offers] == [this_provider, any_provider]


def test_a_longer_visit_that_uses_more_of_the_freed_time_fits_better(clinic, frozen):
    half_hour = AppointmentTypeFactory(organization=clinic.organization, duration_minutes=30)
    short = wait(clinic)
    long = wait(clinic, appointment_type=half_hour)
    offers = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                       starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 30))
    assert [o.entry for o in offers] == [long, short]
    assert offers[0].ends_at == clinic.at(2027, 3, 11, 14, 30)


def test_staff_book_a_move_earlier_with_one_click_and_the_later_time_goes_on(clinic, frozen, django_capture_on_commit_callbacks):
    # given a patient booked on Friday who wants earlier, and another patient waiting
    appointment = book(clinic)
    friday = book(clinic, day=12, hour=15)
    mover = wait(clinic, frozen, patient=friday.patient, current_appointment=friday)
    later_patient = wait(clinic, frozen, earliest_date=date(2027, 3, 12))
    cancel(appointment, clinic, django_capture_on_commit_callbacks)
    offer = WaitlistOffer.objects.get(entry=mover)
    # when the front desk books the offer
    with django_capture_on_commit_callbacks(execute=True):
        waitlist_offer_book(actor=clinic.actor, offer=offer)
    # then the patient has Thursday 14:00, Friday is cancelled, and Friday's time is offered on
    friday.refresh_from_db()
    assert friday.status == AppointmentStatus.CANCELLED
    assert Appointment.objects.get(patient=mover.patient, status=AppointmentStatus.SCHEDULED).starts_at == clinic.at(2027, 3, 11, 14)
    assert WaitlistOffer.objects.get(entry=later_patient).starts_at == clinic.at(2027, 3, 12, 15)
    assert AuditEvent.objects.filter(action="waitlist.booked", actor_id=clinic.actor.pk).exists()
    # and booking it again is refused on the offer field
    with pytest.raises(ValidationError) as caught:
        waitlist_offer_book(actor=clinic.actor, offer=offer)
    assert "offer" in caught.value.message_dict


def test_booking_a_time_taken_meanwhile_is_refused_and_the_offer_withdrawn(clinic, frozen):
    entry = wait(clinic, frozen)
    [offer] = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                        starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15))
    book(clinic, hour=14, day=11)  # someone at the desk was quicker
    with pytest.raises(ValidationError) as caught:
        waitlist_offer_book(actor=clinic.actor, offer=offer)
    assert "offer" in caught.value.message_dict
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert offer.status == OfferStatus.WITHDRAWN and entry.status == WaitlistStatus.WAITING
    assert waitlist_offer_accept(token=offer.token) == OfferReply.TAKEN


def test_a_decline_offers_the_time_to_the_next_in_line(clinic, frozen, django_capture_on_commit_callbacks):
    entries = [wait(clinic, frozen) for _ in range(OFFERS_PER_OPENING + 2)]
    offers = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                       starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15))
    assert [o.entry for o in offers] == entries[:OFFERS_PER_OPENING]
    # when the first patient says no
    with django_capture_on_commit_callbacks(execute=True):
        assert waitlist_offer_decline(token=offers[0].token) == OfferReply.DECLINED
    # then the next in line is offered the time, and never more than three hold it at once
    fourth = WaitlistOffer.objects.get(entry=entries[OFFERS_PER_OPENING])
    assert (fourth.status, fourth.rank) == (OfferStatus.PENDING, OFFERS_PER_OPENING)
    assert not WaitlistOffer.objects.filter(entry=entries[-1]).exists()
    assert WaitlistOffer.objects.filter(status=OfferStatus.PENDING).count() == OFFERS_PER_OPENING
    assert WaitlistEntry.objects.get(pk=entries[0].pk).status == WaitlistStatus.WAITING
    # and asking again changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert waitlist_offer_decline(token=offers[0].token) == OfferReply.DECLINED
    assert WaitlistOffer.objects.filter(status=OfferStatus.PENDING).count() == OFFERS_PER_OPENING


def test_once_booked_nobody_else_is_offered_the_time(clinic, frozen, django_capture_on_commit_callbacks):
    [wait(clinic, frozen) for _ in range(OFFERS_PER_OPENING + 1)]
    offers = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                       starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15))
    assert waitlist_offer_accept(token=offers[0].token) == OfferReply.BOOKED
    assert waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                     starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15)) == []


def test_lapsed_offers_expire_and_the_time_goes_on(clinic, frozen, django_capture_on_commit_callbacks):
    entries = [wait(clinic, frozen) for _ in range(OFFERS_PER_OPENING + 1)]
    offers = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                       starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15))
    frozen.tick(timedelta(hours=3))
    assert waitlist_offer_accept(token=offers[0].token) == OfferReply.EXPIRED
    with django_capture_on_commit_callbacks(execute=True):
        result = waitlist_expire()
    assert result["offers_expired"] == OFFERS_PER_OPENING - 1
    assert {o.status for o in WaitlistOffer.objects.filter(pk__in=[o.pk for o in offers])} == {OfferStatus.EXPIRED}
    assert WaitlistOffer.objects.get(entry=entries[-1]).status == OfferStatus.PENDING
    assert {WaitlistEntry.objects.get(pk=o.entry_id).status for o in offers} == {WaitlistStatus.WAITING}


def test_entries_past_their_latest_date_expire(clinic, frozen):
    entry = wait(clinic, latest_date=date(2027, 3, 11))
    frozen.move_to("2027-03-12T15:00:00Z")
    assert waitlist_expire()["entries_expired"] == 1
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.EXPIRED


def test_removing_an_entry_withdraws_its_offers(clinic, frozen):
    entry = wait(clinic, frozen)
    [offer] = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                        starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15))
    waitlist_entry_remove(actor=clinic.actor, entry=entry, notes="Found another practice")
    offer.refresh_from_db()
    assert offer.status == OfferStatus.WITHDRAWN
    assert waitlist_offer_accept(token=offer.token) == OfferReply.TAKEN
    with pytest.raises(ValidationError) as caught:
        waitlist_entry_remove(actor=clinic.actor, entry=entry)
    assert "status" in caught.value.message_dict


# --- pages ------------------------------------------------------------------------------------------------------


def _offer(clinic, frozen):
    entry = wait(clinic, frozen)
    [offer] = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                        starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15))
    return entry, offer


def test_waitlist_page_shows_offers_and_books_with_one_click(client, clinic, frozen):
    entry, offer = _offer(clinic, frozen)
    client.force_login(clinic.actor)
    html = client.get(reverse("scheduling:waitlist")).content.decode()
    assert entry.patient.last_name in html and "Thu 11 Mar 14:00" in html
    response = client.post(reverse("scheduling:waitlist_offer_book", args=[offer.pk]))
    assert response.status_code == 302
    assert Appointment.objects.filter(patient=entry.patient, status=AppointmentStatus.SCHEDULED).exists()
    follow = client.get(reverse("scheduling:waitlist")).content.decode()
    assert "Booked" in follow


def test_add_page_finds_the_patient_then_takes_the_constraints(client, clinic, frozen):
    patient = PatientFactory(organization=clinic.organization, last_name="Quigley")
    client.force_login(clinic.actor)
    found = client.get(reverse("scheduling:waitlist_add") + "?q=quigley").content.decode()
    assert f"?patient={patient.public_id}" in found
    url = reverse("scheduling:waitlist_add") + f"?patient={patient.public_id}"
    assert client.get(url).status_code == 200
    response = client.post(url, {"appointment_type": clinic.kind.pk, "time_of_day": "afternoon", "priority": "2",
                                 "weekdays": ["1", "3"], "providers": [clinic.provider.pk]})
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get(patient=patient)
    assert entry.weekdays == [1, 3] and entry.priority == 2
    bad = client.post(url, {"appointment_type": clinic.kind.pk, "time_of_day": "any", "priority": "2"})
    assert bad.status_code == 400 and "already waiting" in bad.content.decode()


def test_waitlist_pages_need_the_permissions(client, clinic, frozen, make_user):
    entry, offer = _offer(clinic, frozen)
    biller = make_user(Role.BILLER)
    client.force_login(biller)
    assert client.get(reverse("scheduling:waitlist")).status_code == 403
    assert client.post(reverse("scheduling:waitlist_offer_book", args=[offer.pk])).status_code == 403
    assert client.post(reverse("scheduling:waitlist_remove", args=[entry.pk])).status_code == 403


def test_another_practices_offer_and_entry_are_not_found(client, clinic, frozen, other_org):
    elsewhere = Clinic.build(other_org)
    entry, offer = _offer(elsewhere, frozen)
    client.force_login(clinic.actor)
    assert client.post(reverse("scheduling:waitlist_offer_book", args=[offer.pk])).status_code == 404
    assert client.post(reverse("scheduling:waitlist_offer_decline", args=[offer.pk])).status_code == 404
    assert client.post(reverse("scheduling:waitlist_remove", args=[entry.pk])).status_code == 404
    entry.patient.last_name = "Quaxworth-Elsewhere"  # a name no page holds by chance
    entry.patient.save(update_fields=["last_name"])
    assert "Quaxworth-Elsewhere" not in client.get(reverse("scheduling:waitlist")).content.decode()
    offer.refresh_from_db()
    assert offer.status == OfferStatus.PENDING


def test_waitlist_page_query_count_does_not_grow_with_rows(client, clinic, frozen):
    client.force_login(clinic.actor)
    _offer(clinic, frozen)
    client.get(reverse("scheduling:waitlist"))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("scheduling:waitlist")).status_code == 200
    for hour in (9, 10, 11):
        for _ in range(3):
            wait(clinic, frozen, providers=[clinic.provider], weekdays=[2, 3])
        waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                  starts_at=clinic.at(2027, 3, 11, hour), ends_at=clinic.at(2027, 3, 11, hour, 15))
    assert WaitlistOffer.objects.count() == 1 + 3 * 3
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("scheduling:waitlist")).status_code == 200
    assert len(many) == len(few)


# --- the patient's reply link --------------------------------------------------------------------------------------


def test_reply_page_shows_the_time_without_patient_data_and_books_on_yes(client, clinic, frozen):
    # Names that cannot occur in the page by chance, unlike a random "Day" or "Mark".
    patient = PatientFactory(organization=clinic.organization, first_name="Zebulonia", last_name="Quaxworth")
    clinic.provider.last_name = "Vexmoorland"
    clinic.provider.save(update_fields=["last_name"])
    entry = wait(clinic, frozen, patient=patient)
    [offer] = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                        starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15))
    url = reverse("scheduling_public:waitlist_offer_reply", args=[offer.token])
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "14:00" in html and clinic.location.name in html
    for private in (entry.patient.last_name, entry.patient.first_name, clinic.kind.name, clinic.provider.last_name):
        assert private not in html
    assert page["Cache-Control"] == "private, no-store" and page["Referrer-Policy"] == "same-origin"
    assert not Appointment.objects.filter(patient=entry.patient).exists()  # opening the link books nothing
    answered = client.post(url, {"answer": "yes"})
    assert answered.status_code == 200 and OfferReply.BOOKED.label in answered.content.decode()
    assert Appointment.objects.filter(patient=entry.patient, booked_by__isnull=True).exists()
    again = client.get(url).content.decode()
    assert OfferReply.ALREADY_BOOKED.label in again


def test_reply_page_for_a_taken_time_and_an_unknown_token(client, clinic, frozen):
    wait(clinic, frozen)
    wait(clinic, frozen)
    offers = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                       starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15))
    client.post(reverse("scheduling_public:waitlist_offer_reply", args=[offers[0].token]), {"answer": "yes"})
    late = client.post(reverse("scheduling_public:waitlist_offer_reply", args=[offers[1].token]), {"answer": "yes"})
    assert OfferReply.TAKEN.label in late.content.decode()
    unknown = client.get(reverse("scheduling_public:waitlist_offer_reply", args=["x" * 43]))
    assert unknown.status_code == 404 and OfferReply.UNKNOWN.label in unknown.content.decode()
    assert client.post(reverse("scheduling_public:waitlist_offer_reply", args=[offers[1].token]), {"answer": "maybe"}).status_code == 400


def test_reply_page_is_throttled(client, clinic, frozen, settings):
    settings.ONLINE_BOOKING_RATE_LIMITS = {"verify_ip": "3/m"}
    cache.clear()
    _, offer = _offer(clinic, frozen)
    url = reverse("scheduling_public:waitlist_offer_reply", args=[offer.token])
    statuses = [client.get(url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    cache.clear()


# --- the tasks ------------------------------------------------------------------------------------------------------


def test_tasks_are_thin_and_run_on_the_task_backend(clinic, frozen):
    from clinicdesk.scheduling.tasks import waitlist_expire_offers
    from clinicdesk.scheduling.tasks import waitlist_offer_freed_time as offer_task

    entry = wait(clinic, frozen)
    result = offer_task.enqueue(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                starts_at=clinic.at(2027, 3, 11, 14).isoformat(), ends_at=clinic.at(2027, 3, 11, 14, 15).isoformat())
    assert result.return_value == 1
    assert WaitlistOffer.objects.get(entry=entry).starts_at == clinic.at(2027, 3, 11, 14)
    frozen.tick(timedelta(hours=3))
    assert waitlist_expire_offers.enqueue().return_value == {"offers_expired": 1, "entries_expired": 0}


def test_a_patient_who_books_one_offer_frees_their_other_offers_for_the_next(clinic, frozen, django_capture_on_commit_callbacks):
    # given one patient offered two different times, and another patient waiting
    busy = wait(clinic, frozen)
    at_two = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                       starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15))
    at_three = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                         starts_at=clinic.at(2027, 3, 11, 15), ends_at=clinic.at(2027, 3, 11, 15, 15))
    patient_next = wait(clinic, frozen)
    # when the patient takes 14:00
    with django_capture_on_commit_callbacks(execute=True):
        assert waitlist_offer_accept(token=at_two[0].token) == OfferReply.BOOKED
    # then 15:00 is withdrawn from them and offered to the next patient
    assert WaitlistOffer.objects.get(pk=at_three[0].pk).status == OfferStatus.WITHDRAWN
    assert WaitlistOffer.objects.get(entry=patient_next).starts_at == clinic.at(2027, 3, 11, 15)
    assert busy.offers.count() == 2
