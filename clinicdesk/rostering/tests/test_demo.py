import pytest

from clinicdesk.core import demo as core_demo
from clinicdesk.rostering import demo as roster_demo
from clinicdesk.rostering.choices import PeriodStatus, RequestStatus
from clinicdesk.rostering.models import RosterPeriod, ShiftType, TimeOffRequest
from clinicdesk.staff import demo as staff_demo

pytestmark = pytest.mark.django_db


def test_demo_unit_has_its_shifts_requests_and_a_published_month_and_runs_twice_without_adding():
    ctx = core_demo.seed()
    staff_demo.seed(ctx, patients=0, seed=2026)

    added = roster_demo.seed(ctx, patients=0, seed=2026)

    nursing = ctx.departments["nursing"]
    assert added > 0
    assert sorted(ShiftType.objects.filter(department=nursing).values_list("code", flat=True)) == ["D", "E", "N"]
    periods = list(RosterPeriod.objects.filter(department=nursing).order_by("start"))
    assert [p.status for p in periods] == [PeriodStatus.PUBLISHED, PeriodStatus.DRAFT]
    assert periods[0].assignments.filter(shift_type__isnull=False).count() > 300
    following = periods[1]
    requests = TimeOffRequest.objects.filter(start__gte=following.start, start__lte=following.end)
    assert requests.count() == 23
    assert requests.filter(status=RequestStatus.PENDING).count() == 7
    assert roster_demo.seed(ctx, patients=0, seed=2026) == 0
