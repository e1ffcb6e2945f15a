"""The audit log page and its CSV export: filters, organization scoping, who may see it, bad input."""

import csv
import io
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditOutcome, Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.tests.factories import PatientFactory

from .factories import UserFactory

pytestmark = pytest.mark.django_db

AUDIT = reverse("core:audit_log")
EXPORT = reverse("core:audit_log_export")


def shown(response) -> list[str]:
    return [e.summary for e in response.context["page"]]


TRAIL = {"desk viewed ada", "nurse updated grace", "nurse signed in", "nurse denied", "outsider event"}


@pytest.fixture
def trail(org, other_org, front_desk, make_user):
    """A few events of this organization and one of another."""
    nurse = make_user(Role.NURSE, username="nurse-a")
    patient = PatientFactory(organization=org, first_name="Ada", last_name="Lovelace", mrn="M100")
    other_patient = PatientFactory(organization=org, first_name="Grace", last_name="Hopper", mrn="M200")
    with freeze_time(timezone.make_aware(datetime(2026, 3, 2, 12, 0))):
        audit_event(action="patient.viewed", actor=front_desk, patient=patient, summary="desk viewed ada")
    with freeze_time(timezone.make_aware(datetime(2026, 3, 5, 12, 0))):
        audit_event(action="patient.updated", actor=nurse, patient=other_patient, summary="nurse updated grace")
        audit_event(action="auth.login", actor=nurse, summary="nurse signed in")
        audit_event(action="access.denied", actor=nurse, outcome=AuditOutcome.DENIED, summary="nurse denied")
    outsider = UserFactory(organization=other_org, username="outsider")
    audit_event(action="patient.viewed", actor=outsider, summary="outsider event")
    return {"nurse": nurse, "patient": patient, "other_patient": other_patient}


def test_auditor_sees_only_their_organization(client_as, auditor, trail):
    response = client_as(auditor).get(AUDIT)
    assert response.status_code == 200
    summaries = shown(response)
    assert "desk viewed ada" in summaries and "nurse signed in" in summaries
    assert "outsider event" not in summaries


@pytest.mark.parametrize("query, expected", [
    ({"user": "nurse-a"}, {"nurse updated grace", "nurse signed in", "nurse denied"}),
    ({"user": "NURSE-A", "action": "patient."}, {"nurse updated grace"}),
    ({"patient": "lovelace"}, {"desk viewed ada"}),
    ({"action": "auth."}, {"nurse signed in"}),
    ({"outcome": "denied"}, {"nurse denied"}),
    ({"date_from": "2026-03-01", "date_to": "2026-03-03"}, {"desk viewed ada"}),
    ({"date_from": "2026-03-04", "date_to": "2026-03-06", "action": "patient"}, {"nurse updated grace"}),
])
def test_filters(client_as, auditor, trail, query, expected):
    # (creating the fixtures and signing in write events of their own; only the trail's are compared)
    summaries = set(shown(client_as(auditor).get(AUDIT, query))) & TRAIL
    assert summaries == expected


def test_filter_by_user_id_and_patient_id(client_as, auditor, trail):
    client = client_as(auditor)
    assert set(shown(client.get(AUDIT, {"patient": str(trail["patient"].pk)}))) & TRAIL == {"desk viewed ada"}
    assert "nurse signed in" in shown(client.get(AUDIT, {"user": str(trail["nurse"].pk)}))


@pytest.mark.parametrize("query", [
    {"page": "abc"}, {"page": "999999"}, {"page": "-1"},
    {"user": "9" * 40}, {"patient": "9" * 40}, {"user": "²"}, {"patient": "٣"},
    {"date_from": "2026-02-30"}, {"date_to": "yesterday"}, {"outcome": "exploded"},
    {"action": "x" * 5000}, {"patient": "%_%"},
])
def test_bad_filters_never_break_the_page(client_as, auditor, trail, query):
    response = client_as(auditor).get(AUDIT, query)
    assert response.status_code == 200


def test_nul_in_a_filter_is_refused_before_the_database(client_as, auditor, trail):
    assert client_as(auditor).get(AUDIT, {"user": "a\x00b"}).status_code == 400
    assert client_as(auditor).get(EXPORT, {"patient": "\x00"}).status_code == 400


def test_the_selector_refuses_nul_itself(auditor):
    from django.core.exceptions import ValidationError

    from clinicdesk.core.selectors import audit_event_list

    with pytest.raises(ValidationError) as exc:
        audit_event_list(actor=auditor, filters={"action": "a\x00"})
    assert "action" in exc.value.message_dict


def test_invalid_filters_show_errors_and_no_rows(client_as, auditor, trail):
    response = client_as(auditor).get(AUDIT, {"date_from": "not a date"})
    assert response.status_code == 200
    assert "date_from" in response.context["form"].errors
    assert shown(response) == []


def test_export_is_filtered_scoped_and_audited(client_as, auditor, trail):
    response = client_as(auditor).get(EXPORT, {"user": "nurse-a"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "time (UTC)"
    summaries = {row[7] for row in rows[1:]}
    assert summaries == {"nurse updated grace", "nurse signed in", "nurse denied"}
    event = AuditEvent.objects.filter(action="audit.exported").get()
    assert event.actor == auditor and event.changes == {"filters": {"user": "nurse-a"}}
    assert event.channel == "export"


def test_export_with_bad_filters_is_a_400(client_as, auditor):
    response = client_as(auditor).get(EXPORT, {"date_from": "soon"})
    assert response.status_code == 400
    assert "date_from" in response.json()["errors"]
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_export_cells_cannot_run_as_spreadsheet_formulas(client_as, auditor, front_desk):
    audit_event(action="test.formula", actor=front_desk, summary="=HYPERLINK(\"http://evil\")")
    text = b"".join(client_as(auditor).get(EXPORT, {"action": "test."}).streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in text


@pytest.mark.parametrize("role, page, export", [
    (Role.AUDITOR, 200, 200),
    (Role.ADMINISTRATOR, 200, 200),
    (Role.OFFICE_MANAGER, 200, 403),
    (Role.FRONT_DESK, 403, 403),
    (Role.CLINICIAN, 403, 403),
    (Role.NURSE, 403, 403),
    (Role.BILLER, 403, 403),
])
def test_who_may_see_and_export(client_as, make_user, role, page, export):
    client = client_as(make_user(role, username=f"u-{role}"))
    assert client.get(AUDIT).status_code == page
    assert client.get(EXPORT).status_code == export


def test_refusals_are_audited(client_as, front_desk):
    client_as(front_desk).get(AUDIT)
    assert AuditEvent.objects.filter(action="access.denied", actor=front_desk, outcome=AuditOutcome.DENIED).exists()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(AUDIT)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_query_count_does_not_grow_with_rows(client_as, auditor, front_desk, org):
    client = client_as(auditor)
    patient = PatientFactory(organization=org)

    def count(params=None) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(AUDIT, params or {}).status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        audit_event(action="patient.viewed", actor=front_desk, patient=patient, summary=f"few {i}")
    count()  # the first request of a session also records the session
    few = count()
    for i in range(60):
        audit_event(action="patient.viewed", actor=front_desk, patient=patient, summary=f"many {i}")
    assert count() == few
    assert count({"page": "2"}) == few
