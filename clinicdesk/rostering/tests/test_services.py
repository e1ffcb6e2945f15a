from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.communications.models import Message
from clinicdesk.core.models import AuditEvent
from clinicdesk.rostering.choices import ChangeKind, ChangeStatus, PeriodStatus, RequestStatus
from clinicdesk.rostering.models import RosterAssignment, RosterPeriod, ShiftChangeRequest, TimeOffRequest
from clinicdesk.rostering.services import requests as request_services
from clinicdesk.rostering.services import rosters
from clinicdesk.rostering.services.feeds import feed_by_token, feed_fetch, feed_for, feed_rotate, feed_token
from clinicdesk.staff.models import Credential

from .factories import fill, make_period, make_unit, manager, rotation

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit(org):
    return make_unit(org, nurses=6)


@pytest.fixture
def boss(org):
    return manager(org)


def test_an_edit_that_breaks_the_rest_rule_is_refused_naming_person_day_and_nothing_changes(unit, boss):
    period = make_period(unit)
    fill(period, rotation(6, 7))
    nurse = unit.nurses[0]  # D E N - - - D
    before = set(RosterAssignment.objects.filter(period=period).values_list("staff_id", "day", "shift_type__code"))

    with pytest.raises(ValidationError) as caught:
        rosters.assignment_set(actor=boss, period=period, staff=nurse, day=date(2027, 3, 4), shift_type=unit.shifts["D"])

    message = " ".join(caught.value.messages)
    assert "Nurse0 Unit00 on Thu 2027-03-04" in message
    assert set(RosterAssignment.objects.filter(period=period).values_list("staff_id", "day", "shift_type__code")) == before


def test_an_allowed_edit_is_saved_with_its_cost_change(unit, boss):
    period = make_period(unit)
    fill(period, rotation(6, 7))
    nurse = unit.nurses[0]

    # day 4 (Fri) is a day off after N on Wed and off on Thu: a day shift there keeps every rule
    result = rosters.assignment_set(actor=boss, period=period, staff=nurse, day=date(2027, 3, 5), shift_type=unit.shifts["D"])

    assert RosterAssignment.objects.get(period=period, staff=nurse, day=date(2027, 3, 5)).shift_type.code == "D"
    assert isinstance(result.cost_change, int)
    assert AuditEvent.objects.filter(action="roster.cell_changed").count() == 1


def test_putting_a_nurse_with_a_lapsed_licence_on_the_roster_warns(unit, boss):
    period = make_period(unit)
    nurse = unit.nurses[3]
    Credential.objects.create(organization=unit.org, staff=nurse, kind="state_license", name="RN licence NY", state="NY", required=True,
                              expires_on=date(2027, 2, 1))

    result = rosters.assignment_set(actor=boss, period=period, staff=nurse, day=date(2027, 3, 1), shift_type=unit.shifts["D"])

    assert any("expired 2027-02-01" in w for w in result.warnings)


def test_locked_cells_cannot_be_edited_until_unlocked(unit, boss):
    period = make_period(unit)
    nurse = unit.nurses[1]
    rosters.assignment_lock(actor=boss, period=period, staff=nurse, day=date(2027, 3, 2), locked=True)
    assert RosterAssignment.objects.get(period=period, staff=nurse).shift_type is None  # a locked day off

    with pytest.raises(ValidationError, match="locked"):
        rosters.assignment_set(actor=boss, period=period, staff=nurse, day=date(2027, 3, 2), shift_type=unit.shifts["D"])

    rosters.assignment_lock(actor=boss, period=period, staff=nurse, day=date(2027, 3, 2), locked=False)
    assert not RosterAssignment.objects.filter(period=period, staff=nurse).exists()


def test_publish_freezes_the_roster_and_tells_everyone_their_shifts_and_calendar_link(unit, boss, django_capture_on_commit_callbacks):
    period = make_period(unit)
    fill(period, rotation(6, 7))

    with django_capture_on_commit_callbacks(execute=True):
        rosters.period_publish(actor=boss, period=period)

    period.refresh_from_db()
    assert period.status == PeriodStatus.PUBLISHED and period.published_by == boss
    assert sum(len(days) for days in period.snapshot.values()) == 21
    messages = Message.objects.filter(idempotency_key__startswith=f"roster:{period.pk}:")
    assert messages.count() == 6
    first = messages.get(to_address=unit.nurses[0].email)
    assert "/roster-feeds/" in first.body and ".ics" in first.body
    assert "Mon 01 Mar: Day 07:00-15:00" in first.body
    with pytest.raises(ValidationError, match="new version"):
        rosters.assignment_set(actor=boss, period=period, staff=unit.nurses[0], day=date(2027, 3, 5), shift_type=None)


def test_publish_refuses_a_roster_that_breaks_a_rule_and_publishes_nothing(unit, boss):
    period = make_period(unit)
    rows = rotation(6, 7)
    rows[(0, 3)] = "D"  # after a night: no rest
    fill(period, rows)

    with pytest.raises(ValidationError, match="Not published"):
        rosters.period_publish(actor=boss, period=period)

    period.refresh_from_db()
    assert period.status == PeriodStatus.DRAFT and period.snapshot == {}
    assert not Message.objects.exists()


def test_publish_refuses_an_empty_roster(unit, boss):
    with pytest.raises(ValidationError, match="empty"):
        rosters.period_publish(actor=boss, period=make_period(unit))


def test_a_new_version_copies_the_published_roster_as_a_draft(unit, boss):
    period = make_period(unit, status=PeriodStatus.PUBLISHED)
    fill(period, rotation(6, 7))

    copy = rosters.period_new_version(actor=boss, period=period)

    assert (copy.version, copy.status) == (2, PeriodStatus.DRAFT)
    assert copy.assignments.count() == period.assignments.count() == 21
    with pytest.raises(ValidationError, match="already exists"):
        rosters.period_new_version(actor=boss, period=period)


def test_period_dates_are_checked(unit, boss):
    with pytest.raises(ValidationError) as caught:
        rosters.period_create(actor=boss, department=unit.department, location=unit.location, name="X",
                              start=date(2027, 3, 1), end=date(2027, 6, 1))
    assert "end" in caught.value.message_dict


# --- time off ------------------------------------------------------------------------------------------------


def test_time_off_that_breaks_minimum_cover_is_refused_naming_day_and_shift(org, boss):
    # given: three nurses and one person needed on each of three shifts a day; one charge nurse for nights
    unit = make_unit(org, nurses=3, charge=1)
    unit.shifts["N"].skills.add(unit.charge)
    request = request_services.time_off_request_create(actor=boss, staff=unit.nurses[0], start=date(2027, 3, 1),
                                                       end=date(2027, 3, 1), reason="Wedding")

    with pytest.raises(ValidationError) as caught:
        request_services.time_off_decide(actor=boss, request=request, approve=True)

    text = " ".join(caught.value.messages)
    assert "Mon 2027-03-01 Night shift: 0 could work, the minimum is 1." in text
    assert "Mon 2027-03-01: 2 people could work, the day's shifts need 3." in text
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_time_off_approved_when_cover_holds_and_then_a_day_off_for_the_solver(unit, boss):
    request = request_services.time_off_request_create(actor=boss, staff=unit.nurses[4], start=date(2027, 3, 2),
                                                       end=date(2027, 3, 3))

    request_services.time_off_decide(actor=boss, request=request, approve=True, note="Enjoy")

    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_note) == (RequestStatus.APPROVED, boss, "Enjoy")
    with pytest.raises(ValidationError, match="already approved"):
        request_services.time_off_decide(actor=boss, request=request, approve=False)


def test_time_off_cannot_overlap_and_a_nurse_asks_only_for_herself(unit, boss, make_user):
    request_services.time_off_request_create(actor=boss, staff=unit.nurses[0], start=date(2027, 3, 2), end=date(2027, 3, 4))
    with pytest.raises(ValidationError, match="overlap"):
        request_services.time_off_request_create(actor=boss, staff=unit.nurses[0], start=date(2027, 3, 4), end=date(2027, 3, 5))
    nurse_user = make_user("nurse", username="nurse-x")
    with pytest.raises(ValidationError, match="yourself"):
        request_services.time_off_request_create(actor=nurse_user, staff=unit.nurses[1], start=date(2027, 3, 2),
                                                 end=date(2027, 3, 2))
    with pytest.raises(ValidationError) as caught:
        request_services.time_off_request_create(actor=boss, staff=unit.nurses[2], start=date(2027, 3, 5), end=date(2027, 3, 1))
    assert "end" in caught.value.message_dict


# --- give-aways and swaps ---------------------------------------------------------------------------------------


@pytest.fixture
def published(unit):
    period = make_period(unit, status=PeriodStatus.PUBLISHED)
    fill(period, rotation(6, 7))
    return period


def test_giveaway_accepted_and_approved_moves_the_shift(unit, boss, published):
    giver, taker = unit.nurses[0], unit.nurses[4]  # nurse 4 is off on Monday and Tuesday
    day = date(2027, 3, 1)
    assert not RosterAssignment.objects.filter(period=published, staff=taker, day=day).exists()
    change = request_services.change_offer(actor=boss, period=published, requester=giver, day=day, colleague=taker,
                                           kind=ChangeKind.GIVEAWAY)
    with pytest.raises(ValidationError, match="not accepted"):
        request_services.change_decide(actor=boss, change=change, approve=True)
    request_services.change_accept(actor=boss, change=change)

    request_services.change_decide(actor=boss, change=change, approve=True)

    change.refresh_from_db()
    assert change.status == ChangeStatus.APPROVED
    assert RosterAssignment.objects.get(period=published, staff=taker, day=day).shift_type.code == "D"
    assert not RosterAssignment.objects.filter(period=published, staff=giver, day=day).exists()


def test_a_shift_cannot_go_to_someone_already_working_that_day(unit, boss, published):
    with pytest.raises(ValidationError) as caught:
        request_services.change_offer(actor=boss, period=published, requester=unit.nurses[2], day=date(2027, 3, 1),
                                      colleague=unit.nurses[1], kind=ChangeKind.GIVEAWAY)
    assert "already works" in " ".join(caught.value.message_dict["colleague"])
    assert not ShiftChangeRequest.objects.exists()


def test_a_swap_of_a_night_onto_a_day_after_it_is_refused_naming_the_rule(unit, boss, published):
    # nurse 5 is at position 5 (off) on Mon and 0 (D) on Tue; taking nurse 2's Monday night puts N then D
    change = request_services.change_offer(actor=boss, period=published, requester=unit.nurses[2], day=date(2027, 3, 1),
                                           colleague=unit.nurses[5], kind=ChangeKind.GIVEAWAY)
    request_services.change_accept(actor=boss, change=change)

    with pytest.raises(ValidationError) as caught:
        request_services.change_decide(actor=boss, change=change, approve=True)

    text = " ".join(caught.value.messages)
    assert "Cannot approve: the roster would break a rule." in text
    assert len(caught.value.messages) >= 2


def test_swap_trades_two_shifts(unit, boss, published):
    # Monday: nurse 0 works the day, nurse 1 the evening; they trade
    monday = date(2027, 3, 1)
    change = request_services.change_offer(actor=boss, period=published, requester=unit.nurses[0], day=monday,
                                           colleague=unit.nurses[1], kind=ChangeKind.SWAP, colleague_day=monday)
    request_services.change_accept(actor=boss, change=change)
    request_services.change_decide(actor=boss, change=change, approve=True)

    codes = dict(RosterAssignment.objects.filter(period=published, day=monday, staff__in=unit.nurses[:2])
                 .values_list("staff_id", "shift_type__code"))
    assert codes == {unit.nurses[0].pk: "E", unit.nurses[1].pk: "D"}


def test_offers_are_checked(unit, boss, published):
    with pytest.raises(ValidationError) as caught:
        request_services.change_offer(actor=boss, period=published, requester=unit.nurses[3], day=date(2027, 3, 1),
                                      colleague=unit.nurses[4], kind=ChangeKind.GIVEAWAY)
    assert "day" in caught.value.message_dict  # nurse 3 is off that day
    with pytest.raises(ValidationError) as caught:
        request_services.change_offer(actor=boss, period=published, requester=unit.nurses[0], day=date(2027, 3, 1),
                                      colleague=unit.nurses[3], kind=ChangeKind.SWAP)
    assert "colleague_day" in caught.value.message_dict
    draft = make_period(unit, start=date(2027, 5, 1))
    with pytest.raises(ValidationError, match="published"):
        request_services.change_offer(actor=boss, period=draft, requester=unit.nurses[0], day=date(2027, 5, 1),
                                      colleague=unit.nurses[3], kind=ChangeKind.GIVEAWAY)


# --- calendar feeds -------------------------------------------------------------------------------------------


def test_feed_lists_published_shifts_in_local_time_and_nights_end_next_day(unit, boss, published):
    nurse = unit.nurses[2]  # N on Mon 1 Mar
    feed = feed_for(staff=nurse)

    text = feed_fetch(feed=feed, now=datetime(2027, 2, 20, 12, tzinfo=UTC)).decode()

    assert "DTSTART;TZID=America/New_York:20270301T230000" in text
    assert "DTEND;TZID=America/New_York:20270302T070000" in text
    assert "Night shift" in text


def test_feed_token_is_checked_and_rotation_revokes_the_old_address(unit, boss):
    nurse = unit.nurses[0]
    feed = feed_for(staff=nurse)
    token = feed_token(feed)
    assert feed_by_token(token=token) == feed
    assert feed_by_token(token=feed.key + ".0000") is None
    assert feed_by_token(token="") is None

    new = feed_rotate(actor=boss, staff=nurse)

    assert feed_by_token(token=token) is None
    assert feed_by_token(token=feed_token(new)) == new


def test_period_outside_days_are_refused(unit, boss):
    period = make_period(unit)
    with pytest.raises(ValidationError) as caught:
        rosters.assignment_set(actor=boss, period=period, staff=unit.nurses[0], day=period.end + timedelta(days=1),
                               shift_type=unit.shifts["D"])
    assert "day" in caught.value.message_dict
    assert RosterPeriod.objects.count() == 1
    assert TimeOffRequest.objects.count() == 0
