"""The insurance booking advisory: it warns (never refuses) when the visit's codes need a prior authorisation the
patient lacks on the day, or has used up, and when no coverage is in force on the day."""

from __future__ import annotations

from datetime import date

import pytest

from clinicdesk.insurance.selectors.coverage import booking_advisory
from clinicdesk.scheduling.booking_advisories import BOOKING_ADVISORIES, booking_advisories

from .booking_world import BookingWorld

pytestmark = pytest.mark.django_db
DAY = date(2027, 3, 15)


@pytest.fixture
def w(org):
    return BookingWorld(org)


def _warnings(w, appointment_type=None, on=DAY):
    return booking_advisory(patient=w.patient, appointment_type=appointment_type or w.therapy, on=on)


def test_it_is_registered_with_scheduling(w):
    assert booking_advisory in BOOKING_ADVISORIES
    assert booking_advisories(patient=w.patient, appointment_type=w.therapy, on=DAY) == _warnings(w)


def test_therapy_without_an_authorisation_is_warned(w):
    first, second = _warnings(w)
    assert "Acme Health needs a prior authorisation for 97110 on 03/15/2027" in first
    assert "for 97140" in second


def test_an_authorisation_covering_the_day_quiets_it(w):
    w.authorize()
    assert _warnings(w) == []


@pytest.mark.parametrize("auth", [
    {"used": 12},  # used up
    {"starts_on": date(2027, 4, 1)},  # starts after the visit
    {"ends_on": date(2027, 3, 14)},  # ended the day before
])
def test_an_authorisation_used_up_or_not_covering_the_day_warns(w, auth):
    w.authorize(**auth)
    assert any("needs a prior authorisation" in m for m in _warnings(w))


def test_a_visit_type_no_rule_names_is_not_warned(w):
    assert _warnings(w, w.clinic.kind) == []


def test_no_coverage_on_the_day_is_warned_for_any_visit(w):
    w.coverage.effective_to = date(2027, 2, 28)
    w.coverage.save(update_fields=["effective_to"])
    [warning] = _warnings(w, w.clinic.kind)
    assert warning.startswith("No active insurance coverage on 03/15/2027")


def test_the_booking_page_shows_the_warning(w, client_as):
    page = client_as(w.clinic.actor).get(w.book_url())
    assert page.status_code == 200 and "needs a prior authorisation for 97110" in page.content.decode()
