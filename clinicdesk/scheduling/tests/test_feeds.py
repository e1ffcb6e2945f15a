"""Providers' calendar feeds: a secret URL (only its hash stored), the events it carries (times in UTC,
type and initials only, stable UIDs, cancellations marked), revocation, auditing and who manages them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import CalendarFeed
from clinicdesk.scheduling.services.feeds import calendar_feed_create, calendar_feed_fetch, calendar_feed_revoke

from .factories import AppointmentFactory, AppointmentTypeFactory, ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _urls_loaded():
    get_resolver().url_patterns  # noqa: B018


@pytest.fixture
def provider(org):
    return ProviderFactory(organization=org, first_name="Wei", last_name="Chen", username="drchen")


@pytest.fixture
def kind(org):
    return AppointmentTypeFactory(organization=org, name="Annual physical", duration_minutes=30)


def appointment(provider, kind, *, days: float, first="Harriet", last="Quenby", **extra):
    starts_at = (timezone.now() + timedelta(days=days)).replace(second=0, microsecond=0)
    patient = PatientFactory(organization=provider.organization, first_name=first, last_name=last)
    return AppointmentFactory(
        organization=provider.organization, provider=provider, patient=patient, appointment_type=kind, starts_at=starts_at, **extra
    )


def feed_url(token: str) -> str:
    return reverse("scheduling_public:calendar_feed", kwargs={"token": token})


def events_of(body: bytes) -> list:
    calendar = icalendar.Calendar.from_ical(body)
    return list(calendar.walk("VEVENT"))


def test_a_feed_keeps_only_the_hash_of_its_token(provider):
    feed, token = calendar_feed_create(actor=provider, provider=provider)
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert feed.prefix == token[:8]
    assert len(token) >= 40
    assert not CalendarFeed.objects.filter(token_hash=token).exists()
    assert AuditEvent.objects.filter(action="calendar_feed.created").count() == 1


def test_a_new_feed_replaces_the_old_one(provider, client):
    old, old_token = calendar_feed_create(actor=provider, provider=provider)
    _, new_token = calendar_feed_create(actor=provider, provider=provider)
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert client.get(feed_url(old_token)).status_code == 404
    assert client.get(feed_url(new_token)).status_code == 200


def test_the_feed_carries_the_window_with_initials_only(provider, kind, client):
    # given appointments before, inside and after the 30-days-back / 90-days-ahead window
    appointment(provider, kind, days=-40)
    past = appointment(provider, kind, days=-10)
    soon = appointment(provider, kind, days=2, first="Harriet", last="Quenby")
    cancelled = appointment(provider, kind, days=5, status=AppointmentStatus.CANCELLED)
    appointment(provider, kind, days=100)
    other_provider = ProviderFactory(organization=provider.organization)
    appointment(other_provider, kind, days=3, first="Nobody", last="Elsewhere")
    _, token = calendar_feed_create(actor=provider, provider=provider)
    # when the calendar app fetches it
    response = client.get(feed_url(token))
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "no-store" in response["Cache-Control"]
    events = {str(e["UID"]): e for e in events_of(response.content)}
    assert set(events) == {f"appointment-{a.public_id}@clinicdesk" for a in (past, soon, cancelled)}
    event = events[f"appointment-{soon.public_id}@clinicdesk"]
    assert str(event["SUMMARY"]) == "Annual physical · H.Q."
    assert event.decoded("DTSTART") == soon.starts_at
    assert event.decoded("DTSTART").tzinfo is not None and event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == soon.ends_at
    assert str(events[f"appointment-{cancelled.public_id}@clinicdesk"]["STATUS"]) == "CANCELLED"
    assert str(event["STATUS"]) == "CONFIRMED"
    body = response.content.decode()
    for text in ("Harriet", "Quenby", soon.patient.mrn, soon.patient.email, "Nobody", "Elsewhere"):
        assert text not in body
    assert b"Z\r\n" in response.content  # UTC times


def test_uids_are_stable_across_fetches(provider, kind):
    appointment(provider, kind, days=1)
    feed, _ = calendar_feed_create(actor=provider, provider=provider)
    first = [str(e["UID"]) for e in events_of(calendar_feed_fetch(feed=feed))]
    second = [str(e["UID"]) for e in events_of(calendar_feed_fetch(feed=feed, now=timezone.now() + timedelta(minutes=5)))]
    assert first == second and len(first) == 1


def test_a_revoked_or_unknown_feed_is_a_404(provider, client):
    feed, token = calendar_feed_create(actor=provider, provider=provider)
    assert client.get(feed_url(token)).status_code == 200
    calendar_feed_revoke(actor=provider, feed=feed)
    assert client.get(feed_url(token)).status_code == 404
    assert client.get(feed_url("x" * 43)).status_code == 404


def test_a_deactivated_provider_s_feed_stops(provider, client):
    _, token = calendar_feed_create(actor=provider, provider=provider)
    provider.is_active = False
    provider.save(update_fields=["is_active"])
    assert client.get(feed_url(token)).status_code == 404


def test_each_fetch_is_audited_once_without_patient_rows(provider, kind, client):
    for days in (1, 2, 3):
        appointment(provider, kind, days=days)
    feed, token = calendar_feed_create(actor=provider, provider=provider)
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    client.get(feed_url(token))
    added = AuditEvent.objects.filter(pk__gt=last_id)
    assert [e.action for e in added] == ["calendar_feed.fetched"]
    event = added.get()
    assert event.patient_id is None
    assert event.organization_id == provider.organization_id
    assert event.target_id == str(feed.pk)
    assert "3 appointments" in event.summary
    feed.refresh_from_db()
    assert feed.last_accessed_at is not None


def test_the_feed_query_count_does_not_grow_with_appointments(provider, kind, client):
    _, token = calendar_feed_create(actor=provider, provider=provider)
    appointment(provider, kind, days=1)
    client.get(feed_url(token))
    with CaptureQueriesContext(connection) as few:
        client.get(feed_url(token))
    for days in range(2, 22):
        appointment(provider, kind, days=days)
    with CaptureQueriesContext(connection) as many:
        client.get(feed_url(token))
    assert len(many) == len(few)


def test_the_feed_is_throttled_per_address(provider, client, settings):
    settings.ONLINE_BOOKING_RATE_LIMITS = {"feed_ip": "2/h"}
    _, token = calendar_feed_create(actor=provider, provider=provider)
    assert [client.get(feed_url(token)).status_code for _ in range(3)] == [200, 200, 429]


# --- who manages feeds ---------------------------------------------------------------------------------------


def test_a_provider_manages_only_their_own_feed(provider, client_as):
    colleague = ProviderFactory(organization=provider.organization)
    colleague_feed, _ = calendar_feed_create(actor=colleague, provider=colleague)
    client = client_as(provider)
    page = client.get(reverse("scheduling:calendar_feeds")).content.decode()
    assert colleague_feed.prefix not in page
    response = client.post(reverse("scheduling:calendar_feed_create"), {"provider": colleague.pk})
    assert response.status_code == 400
    assert not CalendarFeed.objects.filter(provider=colleague, revoked_at__isnull=True).exclude(pk=colleague_feed.pk).exists()
    assert client.post(reverse("scheduling:calendar_feed_revoke", args=[colleague_feed.pk])).status_code == 404
    colleague_feed.refresh_from_db()
    assert colleague_feed.revoked_at is None


def test_the_url_is_shown_once(provider, client_as):
    client = client_as(provider)
    response = client.post(reverse("scheduling:calendar_feed_create"), {"provider": provider.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="new-feed-url"' in html
    feed = CalendarFeed.objects.get(provider=provider)
    url = html.split('id="new-feed-url">', 1)[1].split("<", 1)[0]
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert hashlib.sha256(token.encode()).hexdigest() == feed.token_hash
    assert Client().get(url.split("testserver", 1)[1]).status_code == 200
    again = client.get(reverse("scheduling:calendar_feeds")).content.decode()
    assert token not in again and 'id="new-feed-url"' not in again
    assert feed.prefix in again


def test_office_managers_manage_anyone_s_feed(provider, make_user, client_as):
    manager = make_user(Role.OFFICE_MANAGER, username="manager")
    client = client_as(manager)
    assert client.post(reverse("scheduling:calendar_feed_create"), {"provider": provider.pk}).status_code == 200
    feed = CalendarFeed.objects.get(provider=provider)
    assert client.post(reverse("scheduling:calendar_feed_revoke", args=[feed.pk])).status_code == 302
    feed.refresh_from_db()
    assert feed.revoked_at is not None
    assert AuditEvent.objects.filter(action="calendar_feed.revoked", actor_id=manager.pk).exists()


def test_front_desk_has_no_feed_and_cannot_make_one_for_a_provider(provider, front_desk, client_as):
    client = client_as(front_desk)
    assert "for providers" in client.get(reverse("scheduling:calendar_feeds")).content.decode()
    assert client.post(reverse("scheduling:calendar_feed_create"), {"provider": provider.pk}).status_code == 400
    assert not CalendarFeed.objects.exists()


def test_another_practice_cannot_touch_a_feed(provider, other_org, client_as):
    feed, _ = calendar_feed_create(actor=provider, provider=provider)
    outsider = UserFactory(organization=other_org, role=Role.OFFICE_MANAGER)
    client = client_as(outsider)
    assert client.post(reverse("scheduling:calendar_feed_revoke", args=[feed.pk])).status_code == 404
    assert client.post(reverse("scheduling:calendar_feed_create"), {"provider": provider.pk}).status_code == 400
    assert feed.prefix not in client.get(reverse("scheduling:calendar_feeds")).content.decode()
    feed.refresh_from_db()
    assert feed.revoked_at is None


def test_times_are_utc_even_across_the_dst_change(provider, kind):
    # 09:00 in New York on both sides of the March 2027 change
    winter = datetime(2027, 3, 12, 14, 0, tzinfo=UTC)
    summer = datetime(2027, 3, 15, 13, 0, tzinfo=UTC)
    for starts_at in (winter, summer):
        AppointmentFactory(organization=provider.organization, provider=provider, appointment_type=kind, starts_at=starts_at,
                           patient=PatientFactory(organization=provider.organization))
    feed, _ = calendar_feed_create(actor=provider, provider=provider)
    events = events_of(calendar_feed_fetch(feed=feed, now=datetime(2027, 3, 10, tzinfo=UTC)))
    assert sorted(e.decoded("DTSTART") for e in events) == [winter, summer]


def test_the_feeds_page_query_count_does_not_grow_with_feeds(make_user, client_as):
    manager = make_user(Role.OFFICE_MANAGER, username="manager")
    client = client_as(manager)
    calendar_feed_create(actor=manager, provider=ProviderFactory(organization=manager.organization))
    client.get(reverse("scheduling:calendar_feeds"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("scheduling:calendar_feeds"))
    for _ in range(5):
        other = ProviderFactory(organization=manager.organization)
        calendar_feed_create(actor=manager, provider=other)
        calendar_feed_create(actor=manager, provider=other)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("scheduling:calendar_feeds"))
    assert len(many) == len(few)
