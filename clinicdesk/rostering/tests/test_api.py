from datetime import date

import pytest

from clinicdesk.core.choices import Role
from clinicdesk.rostering.choices import PeriodStatus
from clinicdesk.rostering.models import RosterAssignment, SolveRun, TimeOffRequest

from .factories import fill, make_period, make_unit, manager, rotation

pytestmark = pytest.mark.django_db
BASE = "/api/v1/roster"


@pytest.fixture
def unit(org):
    return make_unit(org, nurses=6)


def test_periods_detail_and_assignments(unit, client, org, other_org):
    period = make_period(unit)
    fill(period, rotation(6, 7))
    SolveRun.objects.create(period=period, status="done", result_status="feasible", objective=12,
                            cost_by_rule={"cover_over": 12}, gaps=[])
    elsewhere = make_period(make_unit(other_org, nurses=1), name="Other")
    client.force_login(manager(org))

    listed = client.get(f"{BASE}/periods").json()
    detail = client.get(f"{BASE}/periods/{period.pk}").json()
    cells = client.get(f"{BASE}/periods/{period.pk}/assignments").json()

    assert [p["id"] for p in listed["items"]] == [str(period.pk)]
    assert detail["latest_run"]["cost_by_rule"] == {"cover_over": 12}
    assert cells["count"] == 21
    assert client.get(f"{BASE}/periods/{elsewhere.pk}").status_code == 404
    assert client.get(f"{BASE}/periods/abc").status_code == 400


def test_set_a_cell_is_checked_like_the_grid(unit, client, org):
    period = make_period(unit)
    fill(period, rotation(6, 7))
    client.force_login(manager(org))
    nurse = unit.nurses[0]

    refused = client.put(f"{BASE}/periods/{period.pk}/assignments", {"staff_id": str(nurse.pk), "day": "2027-03-04", "shift": "D"},
                         content_type="application/json")
    unknown = client.put(f"{BASE}/periods/{period.pk}/assignments", {"staff_id": str(nurse.pk), "day": "2027-03-05", "shift": "X"},
                         content_type="application/json")
    typo = client.put(f"{BASE}/periods/{period.pk}/assignments", {"staff": "1", "day": "2027-03-05"},
                      content_type="application/json")
    accepted = client.put(f"{BASE}/periods/{period.pk}/assignments", {"staff_id": str(nurse.pk), "day": "2027-03-05", "shift": "D"},
                          content_type="application/json")

    assert refused.status_code == 400 and "day" in refused.json()["errors"]
    assert unknown.status_code == 400 and "shift" in unknown.json()["errors"]
    assert typo.status_code == 400
    assert accepted.status_code == 200 and "cost_change" in accepted.json()
    assert RosterAssignment.objects.get(period=period, staff=nurse, day=date(2027, 3, 5)).shift_type.code == "D"


def test_nurse_asks_for_time_off_and_sees_only_her_requests(unit, client, make_user):
    user = make_user(Role.NURSE, username="api-nurse")
    unit.nurses[1].user = user
    unit.nurses[1].save(update_fields=["user"])
    TimeOffRequest.objects.create(organization=unit.org, staff=unit.nurses[2], start=date(2027, 3, 1), end=date(2027, 3, 1))
    client.force_login(user)

    made = client.post(f"{BASE}/time-off", {"start": "2027-03-10", "end": "2027-03-11", "reason": "Course"},
                       content_type="application/json")
    backwards = client.post(f"{BASE}/time-off", {"start": "2027-03-10", "end": "2027-03-01"}, content_type="application/json")
    listed = client.get(f"{BASE}/requests").json()

    assert made.status_code == 201
    assert backwards.status_code == 400 and "end" in backwards.json()["errors"]
    assert [r["staff_id"] for r in listed["time_off"]] == [str(unit.nurses[1].pk)]
    assert client.get(f"{BASE}/periods").status_code == 403


def test_published_status_is_reported(unit, client, org):
    make_period(unit, status=PeriodStatus.PUBLISHED)
    client.force_login(manager(org))
    assert client.get(f"{BASE}/periods").json()["items"][0]["status"] == "published"
