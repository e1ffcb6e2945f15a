from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.rostering.choices import ChangeKind, ChangeStatus, PeriodStatus, RequestStatus
from clinicdesk.rostering.models import RosterAssignment, RosterPeriod, ShiftChangeRequest, TimeOffRequest
from clinicdesk.rostering.services.feeds import feed_for, feed_token

from .factories import fill, make_period, make_unit, manager, rotation

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit(org):
    return make_unit(org, nurses=6)


@pytest.fixture
def boss_client(client, org):
    client.force_login(manager(org))
    return client


def test_grid_shows_people_days_codes_and_coverage(unit, boss_client):
    period = make_period(unit)
    fill(period, rotation(6, 7))

    response = boss_client.get(reverse("rostering:period_detail", args=[period.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Nurse0 Unit00" in html and 'data-code="N"' in html
    assert 'class="weekend"' in html  # Sat 6 March
    assert "1/1" in html  # coverage: assigned / minimum


def test_grid_queries_do_not_grow_with_people(org, boss_client):
    small = make_unit(org, nurses=6)
    first = make_period(small, name="Small")
    fill(first, rotation(6, 7))
    boss_client.get(reverse("rostering:period_detail", args=[first.pk]))  # the session's first page loads the user once
    with CaptureQueriesContext(connection) as few:
        assert boss_client.get(reverse("rostering:period_detail", args=[first.pk])).status_code == 200
    big = make_unit(org, nurses=18)
    second = make_period(big, name="Big", start=date(2027, 3, 1))
    fill(second, rotation(18, 7))
    with CaptureQueriesContext(connection) as many:
        assert boss_client.get(reverse("rostering:period_detail", args=[second.pk])).status_code == 200
    assert len(many) == len(few)


def test_period_list_queries_do_not_grow_and_csv(unit, boss_client):
    make_period(unit, name="One")
    boss_client.get(reverse("rostering:period_list"))
    with CaptureQueriesContext(connection) as few:
        boss_client.get(reverse("rostering:period_list"))
    for n in range(2, 6):
        make_period(unit, name=f"P{n}", start=date(2027, n + 3, 1))
    with CaptureQueriesContext(connection) as many:
        response = boss_client.get(reverse("rostering:period_list"))
    assert len(many) == len(few)
    assert b"P5" in response.content
    csv = boss_client.get(reverse("rostering:period_list") + "?format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    assert b"Nursing" in b"".join(csv.streaming_content)


def test_cell_edit_refused_live_with_the_rule_and_accepted_with_cost(unit, boss_client):
    period = make_period(unit)
    fill(period, rotation(6, 7))
    url = reverse("rostering:cell_edit", args=[period.pk])
    nurse = unit.nurses[0]

    refused = boss_client.post(url, {"staff": nurse.pk, "day": "2027-03-04", "shift": "D"}, HTTP_HX_REQUEST="true")
    accepted = boss_client.post(url, {"staff": nurse.pk, "day": "2027-03-05", "shift": "D"}, HTTP_HX_REQUEST="true")
    malformed = boss_client.post(url, {"staff": nurse.pk, "day": "2027-13-05", "shift": "Q"}, HTTP_HX_REQUEST="true")

    assert refused.status_code == 409 and b"Thu 2027-03-04" in refused.content
    assert not RosterAssignment.objects.filter(period=period, staff=nurse, day=date(2027, 3, 4)).exists()
    assert accepted.status_code == 200 and b"Cost" in accepted.content
    assert malformed.status_code == 400
    assert b"day:" in malformed.content and b"No shift" in malformed.content


def test_lock_then_publish_then_hours_export(unit, boss_client, django_capture_on_commit_callbacks):
    period = make_period(unit)
    fill(period, rotation(6, 7))
    nurse = unit.nurses[2]
    boss_client.post(reverse("rostering:cell_lock", args=[period.pk]), {"staff": nurse.pk, "day": "2027-03-01", "lock": "1"})
    assert RosterAssignment.objects.get(period=period, staff=nurse, day=date(2027, 3, 1)).locked

    with django_capture_on_commit_callbacks(execute=True):
        response = boss_client.post(reverse("rostering:period_publish", args=[period.pk]), follow=True)

    assert b"published" in response.content
    period.refresh_from_db()
    assert period.status == PeriodStatus.PUBLISHED
    export = boss_client.get(reverse("rostering:hours_export", args=[period.pk]))
    rows = b"".join(export.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert rows[0] == "staff id,name,period start,period end,shifts,hours,night hours,weekend hours,holiday hours"
    # nurse 2 works N Mon, D Fri, E Sat and N Sun: 32 h; nights 23:00-07:00 16 h; Saturday 8 h and Sunday 23-24 h
    line = next(r for r in rows if "Nurse2 Unit02" in r).split(",")
    assert line[4:] == ["4", "32.00", "16.00", "9.00", "0.00"]


def test_publishing_a_broken_roster_shows_the_rules_and_publishes_nothing(unit, boss_client):
    period = make_period(unit)
    rows = rotation(6, 7)
    rows[(0, 3)] = "D"
    fill(period, rows)

    response = boss_client.post(reverse("rostering:period_publish", args=[period.pk]), follow=True)

    assert response.status_code == 200 and b"Not published" in response.content
    period.refresh_from_db()
    assert period.status == PeriodStatus.DRAFT


def test_period_form_names_the_field(boss_client, unit):
    response = boss_client.post(reverse("rostering:period_create"), {
        "name": "April", "department": unit.department.pk, "location": unit.location.pk,
        "start": "2027-04-10", "end": "2027-04-01", "night_weight": 10, "weekend_weight": 10, "holiday_weight": 10,
    })
    assert response.status_code == 400
    assert "The last day cannot be before the first." in response.content.decode()
    assert not RosterPeriod.objects.exists()


def test_feed_is_public_and_secret(unit, client):
    period = make_period(unit, status=PeriodStatus.PUBLISHED)
    fill(period, rotation(6, 7))
    feed = feed_for(staff=unit.nurses[0])

    good = client.get(reverse("rostering_public:feed", args=[feed_token(feed)]))
    forged = client.get(reverse("rostering_public:feed", args=[feed.key + ".deadbeef"]))

    assert good.status_code == 200 and good["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VCALENDAR" in good.content
    assert forged.status_code == 404


def test_nurse_sees_own_shifts_asks_time_off_and_accepts_a_giveaway(unit, client, make_user):
    user = make_user(Role.NURSE, username="nurse-own")
    mine = unit.nurses[4]
    mine.user = user
    mine.save(update_fields=["user"])
    period = make_period(unit, status=PeriodStatus.PUBLISHED)
    fill(period, rotation(6, 7))
    client.force_login(user)

    page = client.get(reverse("rostering:my_shifts"))
    assert page.status_code == 200 and b"/roster-feeds/" in page.content
    bad = client.post(reverse("rostering:time_off_new"), {"start": "2027-03-09", "end": "2027-03-08"})
    assert bad.status_code == 400 and "The last day off cannot be before the first." in bad.content.decode()
    client.post(reverse("rostering:time_off_new"), {"start": "2027-03-08", "end": "2027-03-09", "reason": "Course"})
    assert TimeOffRequest.objects.get(staff=mine).status == RequestStatus.PENDING
    change = ShiftChangeRequest.objects.create(organization=unit.org, period=period, kind=ChangeKind.GIVEAWAY,
                                               requester=unit.nurses[0], day=date(2027, 3, 1), colleague=mine)
    client.post(reverse("rostering:change_accept", args=[change.pk]))
    change.refresh_from_db()
    assert change.status == ChangeStatus.ACCEPTED
    assert client.get(reverse("rostering:period_list")).status_code == 403


def test_manager_decides_time_off_and_a_refusal_names_the_day(org, client):
    unit = make_unit(org, nurses=3, charge=1)
    boss = manager(org)
    client.force_login(boss)
    request = TimeOffRequest.objects.create(organization=org, staff=unit.nurses[0], start=date(2027, 3, 1), end=date(2027, 3, 1))

    response = client.post(reverse("rostering:time_off_decide", args=[request.pk]), {"decision": "approve"}, follow=True)

    assert "Mon 2027-03-01" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_requests_page_queries_do_not_grow_with_requests(unit, boss_client):
    period = make_period(unit, status=PeriodStatus.PUBLISHED)
    fill(period, rotation(6, 7))

    def add(n):
        for i in range(n):
            TimeOffRequest.objects.create(organization=unit.org, staff=unit.nurses[i % 6], start=date(2027, 5, 1 + 2 * i),
                                          end=date(2027, 5, 1 + 2 * i))
            ShiftChangeRequest.objects.create(organization=unit.org, period=period, kind=ChangeKind.GIVEAWAY,
                                              requester=unit.nurses[0], day=date(2027, 3, 1), colleague=unit.nurses[3 + i % 3])

    add(1)
    boss_client.get(reverse("rostering:requests"))
    with CaptureQueriesContext(connection) as few:
        boss_client.get(reverse("rostering:requests"))
    add(5)
    with CaptureQueriesContext(connection) as many:
        response = boss_client.get(reverse("rostering:requests"))
    assert len(many) == len(few)
    assert response.content.count(b'value="approve"') == 6  # pending time off; give-aways wait for the colleague
    csv = b"".join(boss_client.get(reverse("rostering:requests") + "?format=csv").streaming_content).decode()
    assert csv.count("Pending") == 6


def test_my_shifts_queries_do_not_grow_with_shifts(unit, client, make_user):
    user = make_user(Role.NURSE, username="nurse-count")
    unit.nurses[0].user = user
    unit.nurses[0].save(update_fields=["user"])
    client.force_login(user)
    today = date.today()
    first = make_period(unit, start=today, days=2, status=PeriodStatus.PUBLISHED, name="Now")
    fill(first, {(0, 0): "D"})
    client.get(reverse("rostering:my_shifts"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("rostering:my_shifts"))
    second = make_period(unit, start=today + timedelta(days=10), days=14, status=PeriodStatus.PUBLISHED, name="Later")
    fill(second, rotation(6, 14))
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("rostering:my_shifts"))
    assert len(many) == len(few)
    assert response.content.count(b"<td>Day</td>") >= 3


def test_gaps_and_progress_are_shown_and_polling_stops_with_a_refresh(unit, boss_client):
    from clinicdesk.rostering.models import SolveProgress, SolveRun

    period = make_period(unit)
    run = SolveRun.objects.create(period=period, status="running", time_limit_seconds=30)
    SolveProgress.objects.create(run=run, seconds=1.5, objective=900, bound=100)
    progress_url = reverse("rostering:solve_progress", args=[period.pk, run.pk])

    running = boss_client.get(progress_url, HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 1s"' in running.content and b"1.5 of 30 s" in running.content

    SolveRun.objects.filter(pk=run.pk).update(
        status="done", result_status="infeasible", objective=None,
        gaps=[{"day": "2027-03-03", "weekday": "Wed", "shift": "Night", "skill": "charge", "needed": 1, "possible": 0,
               "reasons": ["Nurse1 Unit01: lacks charge"]}])
    finished = boss_client.get(progress_url + "?was=active", HTTP_HX_REQUEST="true")
    page = boss_client.get(reverse("rostering:period_detail", args=[period.pk]))

    assert finished["HX-Refresh"] == "true"
    html = page.content.decode()
    assert "No roster meets the minimum cover" in html
    assert "Wed 2027-03-03 · Night (charge)" in html and "Nurse1 Unit01: lacks charge" in html


def test_stop_the_solver_from_the_page_asks_the_run_to_stop_and_says_so(unit, boss_client):
    from clinicdesk.core.models import AuditEvent
    from clinicdesk.rostering.models import SolveRun

    period = make_period(unit)
    other = make_period(unit, start=period.end + timedelta(days=1), name="Nursing April")
    run = SolveRun.objects.create(period=period, status="running", time_limit_seconds=60)
    progress = boss_client.get(reverse("rostering:solve_progress", args=[period.pk, run.pk]), HTTP_HX_REQUEST="true")
    cancel_url = reverse("rostering:solve_cancel", args=[period.pk, run.pk])
    assert cancel_url.encode() in progress.content and b"Stop the solver" in progress.content

    assert boss_client.get(cancel_url).status_code == 405  # only a form post stops it
    wrong = boss_client.post(reverse("rostering:solve_cancel", args=[other.pk, run.pk]))
    assert wrong.status_code == 404  # a run is stopped only through its own period
    run.refresh_from_db()
    assert not run.cancel_requested

    response = boss_client.post(cancel_url, follow=True)
    run.refresh_from_db()
    assert run.cancel_requested
    assert "Stopping the solver; the best roster so far is kept." in response.content.decode()
    assert AuditEvent.objects.filter(action="roster.solve_cancelled").count() == 1

    SolveRun.objects.filter(pk=run.pk).update(status="cancelled")
    boss_client.post(cancel_url)  # a finished run: nothing more to stop, nothing audited
    assert AuditEvent.objects.filter(action="roster.solve_cancelled").count() == 1
    finished = boss_client.get(reverse("rostering:solve_progress", args=[period.pk, run.pk]), HTTP_HX_REQUEST="true")
    assert b"Stop the solver" not in finished.content
