"""The demo practice's goals: one objective per department this quarter, each key result bound to a KPI, made once."""

from django.utils import timezone

from clinicdesk.core import demo as core_demo
from clinicdesk.goals import demo
from clinicdesk.goals.kpis import registry
from clinicdesk.goals.models import KeyResult, Objective


def test_the_demo_goals_are_set_once_for_this_quarter(db):
    ctx = core_demo.seed()
    assert demo.seed(ctx, patients=0, seed=2026) == len(demo.OBJECTIVES)
    today = timezone.localdate()
    objectives = Objective.objects.filter(organization=ctx.organization)
    assert all(o.start <= today <= o.end for o in objectives)
    codes = set(KeyResult.objects.filter(organization=ctx.organization).values_list("kpi_code", flat=True))
    assert codes <= {k.code for k in registry.all_kpis()} and len(codes) == 12
    for kr in KeyResult.objects.filter(organization=ctx.organization).select_related("objective__department"):
        kr.full_clean()
    assert demo.seed(ctx, patients=0, seed=2026) == 0
