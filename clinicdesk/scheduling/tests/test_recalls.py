"""Recalls: rules, who becomes due (from completed visits, with dates worked out by hand), the list,
its CSV, and a booked visit of the recall type booking the recall."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from freezegun import freeze_time

from clinicdesk.core.choices import AuditChannel, Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.choices import PatientStatus
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus, RecallStatus
from clinicdesk.scheduling.models import Recall, RecallRule
from clinicdesk.scheduling.services.appointments import appointment_book
from clinicdesk.scheduling.services.recalls import (
    recall_dismiss,
    recall_due_date,
    recall_mark_contacted,
    recall_rule_create,
    recall_rule_update,
    recalls_refresh,
)

from .factories import AppointmentFactory, AppointmentTypeFactory, Clinic

pytestmark = pytest.mark.django_db

NOW = "2027-03-10T15:00:00Z"  # Wednesday 10:00 in New York; recalls due by 2027-04-09 are listed
TODAY = date(2027, 3, 10)


@pytest.fixture(autouse=True)
def _urls_loaded():
    """Load the URLconf (and the API's schemas) before a test freezes the clock: pydantic cannot build a
    schema for freezegun's fake date class."""
    assert get_resolver().url_patterns


@pytest.fixture
def clinic(org):
    return Clinic.build(org)


@pytest.fixture
def physical(clinic):
    return AppointmentTypeFactory(organization=clinic.organization, name="Physical", code="physical", duration_minutes=30)


@pytest.fixture
def annual(clinic, physical):
    return recall_rule_create(actor=clinic.actor, name="Annual physical", after_type=physical, interval_months=12,
                              recall_type=physical)


def visit(clinic, kind, when, *, patient=None, status=AppointmentStatus.COMPLETED):
    """A visit at `when` (an aware datetime), saved as is."""
    return AppointmentFactory(
        organization=clinic.organization, patient=patient or PatientFactory(organization=clinic.organization),
        provider=clinic.provider, location=clinic.location, appointment_type=kind, starts_at=when, status=status,
    )


# --- dates, by hand ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "months", "due"),
    [
        (date(2026, 3, 5), 12, date(2027, 3, 5)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # 30 Feb does not exist: the month's last day
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2027, 12, 31), 2, date(2028, 2, 29)),  # a leap year
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 8, 15), 6, date(2027, 2, 15)),
    ],
)
def test_due_date_counts_calendar_months(last, months, due):
    assert recall_due_date(last, months) == due


# --- rules ------------------------------------------------------------------------------------------------------


def test_rule_is_created_and_audited(clinic, physical, annual):
    assert (annual.name, annual.interval_months, annual.after_type, annual.recall_type) == (
        "Annual physical", 12, physical, physical)
    assert AuditEvent.objects.filter(action="recall_rule.created", actor_id=clinic.actor.pk).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "annual PHYSICAL"}, "name"),
        ({"interval_months": 0}, "interval_months"),
        ({"interval_months": 121}, "interval_months"),
        ({"interval_months": "12"}, "interval_months"),
        ({"after_type": None}, "after_type"),
        ({"name": "x" * 81}, "name"),
    ],
)
def test_bad_rule_names_the_field_and_saves_nothing(clinic, physical, annual, overrides, field):
    args = {"actor": clinic.actor, "name": "Six-monthly", "after_type": physical, "interval_months": 6, "recall_type": physical}
    args.update(overrides)
    with pytest.raises(ValidationError) as caught:
        recall_rule_create(**args)
    assert field in caught.value.message_dict
    assert RecallRule.objects.count() == 1


def test_a_type_of_another_practice_is_refused(clinic, physical, other_org):
    theirs = AppointmentTypeFactory(organization=other_org)
    with pytest.raises(ValidationError) as caught:
        recall_rule_create(actor=clinic.actor, name="X", after_type=theirs, interval_months=6, recall_type=theirs)
    assert {"after_type", "recall_type"} == set(caught.value.message_dict)


def test_rule_update_changes_only_known_fields(clinic, annual):
    recall_rule_update(actor=clinic.actor, rule=annual, interval_months=24, is_active=False)
    annual.refresh_from_db()
    assert (annual.interval_months, annual.is_active) == (24, False)
    event = AuditEvent.objects.get(action="recall_rule.updated")
    assert event.changes["interval_months"] == ["12", "24"]
    with pytest.raises(ValidationError) as caught:
        recall_rule_update(actor=clinic.actor, rule=annual, organization_id=99)
    assert "organization_id" in caught.value.message_dict


# --- who is due ----------------------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_recalls_come_from_the_last_completed_visit(clinic, physical, annual):
    ny = clinic.at
    # given
    overdue = visit(clinic, physical, ny(2026, 3, 5, 10)).patient                     # due 2027-03-05
    soon = visit(clinic, physical, ny(2026, 4, 1, 9)).patient                         # due 2027-04-01, inside 30 days
    visit(clinic, physical, ny(2026, 5, 20, 9))                                       # due 2027-05-20: not yet listed
    twice = visit(clinic, physical, ny(2025, 2, 10, 9)).patient
    visit(clinic, physical, ny(2026, 2, 28, 9), patient=twice)                        # the later one counts: 2027-02-28
    late_evening = visit(clinic, physical, datetime(2026, 3, 6, 2, 30, tzinfo=UTC)).patient  # 21:30 on 5 Mar in NY
    booked_again = visit(clinic, physical, ny(2026, 3, 1, 9)).patient
    visit(clinic, physical, ny(2027, 3, 20, 9), patient=booked_again, status=AppointmentStatus.SCHEDULED)
    cancelled_again = visit(clinic, physical, ny(2026, 3, 1, 10)).patient
    visit(clinic, physical, ny(2027, 3, 2, 9), patient=cancelled_again, status=AppointmentStatus.CANCELLED)
    no_show = visit(clinic, physical, ny(2026, 3, 1, 11), status=AppointmentStatus.NO_SHOW).patient
    inactive = visit(clinic, physical, ny(2026, 3, 1, 12)).patient
    inactive.status = PatientStatus.INACTIVE
    inactive.save(update_fields=["status"])
    other_type = visit(clinic, clinic.kind, ny(2026, 3, 1, 13)).patient
    # when
    assert recalls_refresh(organization=clinic.organization) == 5
    # then
    due = {r.patient_id: (r.last_visit, r.due_date, r.status) for r in Recall.objects.all()}
    assert due == {
        overdue.pk: (date(2026, 3, 5), date(2027, 3, 5), RecallStatus.DUE),
        soon.pk: (date(2026, 4, 1), date(2027, 4, 1), RecallStatus.DUE),
        twice.pk: (date(2026, 2, 28), date(2027, 2, 28), RecallStatus.DUE),
        late_evening.pk: (date(2026, 3, 5), date(2027, 3, 5), RecallStatus.DUE),
        cancelled_again.pk: (date(2026, 3, 1), date(2027, 3, 1), RecallStatus.DUE),
    }
    assert not {booked_again.pk, no_show.pk, inactive.pk, other_type.pk} & set(due)
    # and running again adds nothing
    assert recalls_refresh(organization=clinic.organization) == 0
    assert Recall.objects.count() == 5
    assert AuditEvent.objects.filter(action="recalls.refreshed", channel=AuditChannel.SYSTEM).count() == 2


@freeze_time(NOW)
def test_a_rule_with_a_different_recall_type(clinic):
    diabetes = AppointmentTypeFactory(organization=clinic.organization, name="Diabetes visit")
    hba1c = AppointmentTypeFactory(organization=clinic.organization, name="HbA1c check")
    recall_rule_create(actor=clinic.actor, name="Quarterly HbA1c", after_type=diabetes, interval_months=3, recall_type=hba1c)
    due = visit(clinic, diabetes, clinic.at(2026, 11, 30, 9)).patient                # 30 Nov + 3 months = 28 Feb
    checked = visit(clinic, diabetes, clinic.at(2026, 11, 30, 10)).patient
    visit(clinic, hba1c, clinic.at(2027, 1, 5, 9), patient=checked)                   # already came for the check
    assert recalls_refresh(organization=clinic.organization) == 1
    recall = Recall.objects.get()
    assert (recall.patient_id, recall.due_date) == (due.pk, date(2027, 2, 28))


@freeze_time(NOW)
def test_inactive_rules_and_other_practices_are_left_alone(clinic, physical, annual, other_org):
    elsewhere = Clinic.build(other_org)
    visit(elsewhere, elsewhere.kind, elsewhere.at(2026, 3, 1, 9))
    recall_rule_update(actor=clinic.actor, rule=annual, is_active=False)
    visit(clinic, physical, clinic.at(2026, 3, 1, 9))
    assert recalls_refresh(organization=clinic.organization) == 0


@freeze_time(NOW)
def test_a_newer_visit_supersedes_an_open_recall(clinic, physical, annual):
    patient = visit(clinic, physical, clinic.at(2026, 3, 1, 9)).patient
    recalls_refresh(organization=clinic.organization)
    old = Recall.objects.get()
    visit(clinic, physical, clinic.at(2027, 3, 8, 9), patient=patient)  # came in without booking a recall
    assert recalls_refresh(organization=clinic.organization) == 0
    old.refresh_from_db()
    assert old.status == RecallStatus.DISMISSED


@freeze_time(NOW)
def test_booking_the_recall_type_books_the_recall(clinic, physical, annual, django_capture_on_commit_callbacks):
    patient = visit(clinic, physical, clinic.at(2026, 3, 1, 9)).patient
    recalls_refresh(organization=clinic.organization)
    recall = Recall.objects.get()
    recall_mark_contacted(actor=clinic.actor, recall=recall, notes="Left a voicemail")
    # a visit of another type leaves it open
    with django_capture_on_commit_callbacks(execute=True):
        appointment_book(actor=clinic.actor, patient=patient, provider=clinic.provider, location=clinic.location,
                         appointment_type=clinic.kind, starts_at=clinic.at(2027, 3, 15, 9))
    recall.refresh_from_db()
    assert recall.status == RecallStatus.CONTACTED
    with django_capture_on_commit_callbacks(execute=True):
        appointment = appointment_book(actor=clinic.actor, patient=patient, provider=clinic.provider,
                                       location=clinic.location, appointment_type=physical,
                                       starts_at=clinic.at(2027, 3, 16, 9))
    recall.refresh_from_db()
    assert (recall.status, recall.booked_appointment) == (RecallStatus.BOOKED, appointment)
    assert AuditEvent.objects.filter(action="recall.updated", patient_id=patient.pk).count() == 2


@freeze_time(NOW)
def test_contacted_and_dismissed(clinic, physical, annual):
    visit(clinic, physical, clinic.at(2026, 3, 1, 9))
    recalls_refresh(organization=clinic.organization)
    recall = Recall.objects.get()
    contacted = recall_mark_contacted(actor=clinic.actor, recall=recall, notes="Mailed a card")
    assert contacted.status == RecallStatus.CONTACTED and contacted.contacted_at is not None
    assert contacted.notes == "Mailed a card"
    dismissed = recall_dismiss(actor=clinic.actor, recall=recall, notes="Moved away")
    assert dismissed.status == RecallStatus.DISMISSED and dismissed.notes == "Mailed a card · Moved away"
    for service in (recall_mark_contacted, recall_dismiss):
        with pytest.raises(ValidationError) as caught:
            service(actor=clinic.actor, recall=recall)
        assert "status" in caught.value.message_dict


# --- pages ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def due_list(clinic, physical, annual):
    with freeze_time(NOW):
        visit(clinic, physical, clinic.at(2026, 2, 1, 9), patient=PatientFactory(organization=clinic.organization, last_name="Overdue"))
        visit(clinic, physical, clinic.at(2026, 4, 1, 9), patient=PatientFactory(organization=clinic.organization, last_name="Soonish"))
        recalls_refresh(organization=clinic.organization)


@freeze_time(NOW)
def test_list_filters_overdue(client, clinic, due_list):
    client.force_login(clinic.actor)
    everything = client.get(reverse("scheduling:recalls")).content.decode()
    assert "Overdue," in everything and "Soonish," in everything
    overdue = client.get(reverse("scheduling:recalls") + "?when=overdue").content.decode()
    assert "Overdue," in overdue and "Soonish," not in overdue
    assert client.get(reverse("scheduling:recalls") + "?when=someday").status_code == 400


@freeze_time(NOW)
def test_list_actions_mark_contacted_and_dismiss(client, clinic, due_list):
    client.force_login(clinic.actor)
    first, second = Recall.objects.order_by("due_date")
    assert client.post(reverse("scheduling:recall_contacted", args=[first.pk]), {"notes": "Spoke to her"}).status_code == 302
    assert client.post(reverse("scheduling:recall_dismiss", args=[second.pk]), {"back": "when=overdue"})["Location"].endswith("?when=overdue")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (RecallStatus.CONTACTED, RecallStatus.DISMISSED)
    listed = client.get(reverse("scheduling:recalls")).content.decode()
    assert f'id="recall-{first.pk}"' in listed and f'id="recall-{second.pk}"' not in listed


@freeze_time(NOW)
def test_csv_export_lists_the_filtered_recalls_and_audits_each_patient(client, clinic, due_list):
    client.force_login(clinic.actor)
    response = client.get(reverse("scheduling:recalls_export") + "?when=overdue")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["MRN", "last name", "first name"]
    assert [r[1] for r in rows[1:]] == ["Overdue"]
    assert rows[1][10:12] == ["2026-02-01", "2027-02-01"]
    overdue = Recall.objects.get(due_date=date(2027, 2, 1))
    assert list(AuditEvent.objects.filter(action="patient.exported").values_list("patient_id", flat=True)) == [overdue.patient_id]
    assert AuditEvent.objects.filter(action="recalls.exported", actor_id=clinic.actor.pk).exists()


@freeze_time(NOW)
def test_refresh_now_button(client, clinic, physical, annual):
    visit(clinic, physical, clinic.at(2026, 3, 1, 9))
    client.force_login(clinic.actor)
    assert client.post(reverse("scheduling:recalls_refresh")).status_code == 302
    assert Recall.objects.count() == 1


def test_rules_are_managed_by_the_office_manager(client, clinic, physical, make_user):
    client.force_login(clinic.actor)  # front desk: sees the rules, cannot change them
    assert client.get(reverse("scheduling:recall_rules")).status_code == 200
    assert client.get(reverse("scheduling:recall_rule_add")).status_code == 403
    manager = make_user(Role.OFFICE_MANAGER)
    client.force_login(manager)
    data = {"name": "Annual physical", "after_type": physical.pk, "interval_months": "12", "recall_type": physical.pk, "is_active": "on"}
    assert client.post(reverse("scheduling:recall_rule_add"), data).status_code == 302
    rule = RecallRule.objects.get()
    bad = client.post(reverse("scheduling:recall_rule_edit", args=[rule.pk]), {**data, "interval_months": "0"})
    assert bad.status_code == 400 and "from 1 to 120" in bad.content.decode()
    assert client.post(reverse("scheduling:recall_rule_edit", args=[rule.pk]), {**data, "interval_months": "24"}).status_code == 302
    rule.refresh_from_db()
    assert rule.interval_months == 24


@freeze_time(NOW)
def test_another_practices_recalls_and_rules_are_not_found(client, clinic, other_org, make_user):
    elsewhere = Clinic.build(other_org)
    rule = recall_rule_create(actor=elsewhere.actor, name="Theirs", after_type=elsewhere.kind, interval_months=12,
                              recall_type=elsewhere.kind)
    visit(elsewhere, elsewhere.kind, elsewhere.at(2026, 3, 1, 9), patient=PatientFactory(organization=other_org, last_name="Faraway"))
    recalls_refresh(organization=other_org)
    recall = Recall.objects.get()
    client.force_login(make_user(Role.OFFICE_MANAGER))
    assert client.post(reverse("scheduling:recall_contacted", args=[recall.pk])).status_code == 404
    assert client.post(reverse("scheduling:recall_dismiss", args=[recall.pk])).status_code == 404
    assert client.get(reverse("scheduling:recall_rule_edit", args=[rule.pk])).status_code == 404
    assert "Faraway" not in client.get(reverse("scheduling:recalls")).content.decode()
    assert "Faraway" not in b"".join(client.get(reverse("scheduling:recalls_export")).streaming_content).decode()


def test_recall_pages_need_the_permission(client, make_user):
    client.force_login(make_user(Role.BILLER))
    for name in ("scheduling:recalls", "scheduling:recalls_export", "scheduling:recall_rules"):
        assert client.get(reverse(name)).status_code == 403


@freeze_time(NOW)
def test_list_query_count_does_not_grow_with_rows(client, clinic, physical, annual):
    client.force_login(clinic.actor)
    visit(clinic, physical, clinic.at(2026, 3, 1, 9))
    recalls_refresh(organization=clinic.organization)
    client.get(reverse("scheduling:recalls"))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("scheduling:recalls")).status_code == 200
    for day in range(2, 14):
        visit(clinic, physical, clinic.at(2026, 3, day, 9))
    recalls_refresh(organization=clinic.organization)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("scheduling:recalls")).status_code == 200
    assert Recall.objects.count() == 13
    assert len(many) == len(few)


# --- the demo practice ------------------------------------------------------------------------------------------------


def test_demo_practice_has_front_desk_queues_ready():
    from clinicdesk.core import demo as core_demo
    from clinicdesk.patients import demo as patients_demo
    from clinicdesk.scheduling import demo
    from clinicdesk.scheduling.demo_front_desk import seed_front_desk
    from clinicdesk.scheduling.models import PhoneCall, WaitlistEntry
    from clinicdesk.scheduling.selectors.front_desk import callback_counts

    # given the demo practice with its schedule
    ctx = core_demo.seed()
    patients_demo.seed(ctx, patients=250, seed=7)
    demo.seed(ctx, patients=250, seed=7)
    org = ctx.organization
    # then
    counts = callback_counts(actor=ctx.users["maria"])
    assert PhoneCall.objects.filter(organization=org).count() == 8
    assert (counts["open"], counts["overdue"]) == (4, 1)
    assert WaitlistEntry.objects.filter(organization=org).count() == 5
    assert set(RecallRule.objects.filter(organization=org).values_list("name", flat=True)) == {"Annual physical", "Yearly flu shot"}
    assert Recall.objects.filter(organization=org, status=RecallStatus.DUE).count() >= 8
    # and a second run adds nothing
    assert seed_front_desk(ctx, seed=7) == 0


@freeze_time(NOW)
def test_daily_task_refreshes_every_practice_with_rules(clinic, physical, annual, settings):
    from clinicdesk.scheduling.tasks import recalls_refresh_daily

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    visit(clinic, physical, clinic.at(2026, 3, 1, 9))
    assert recalls_refresh_daily.enqueue().return_value == {clinic.organization.slug: 1}
    assert recalls_refresh_daily.enqueue().return_value == {clinic.organization.slug: 0}
