"""The demo practice's goals for this quarter: fewer no-shows and shorter waits at the front desk, a cleaner claim
stream and fewer days in A/R in billing, and staying within the budget in the clinic and in billing, where this
quarter's statement runs have passed the postage budget (scenario 11: the quarterly review). Idempotent: an
objective of the same title and quarter is left as it is."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from .choices import Direction, PeriodKind
from .kpis import registry
from .kpis.registry import Scope
from .models import KeyResult, Objective
from .services import period_bounds
from .status import TOLERANCE, elapsed

D = Decimal
AT_RISK = None  # a baseline set so that the key result stands at risk today (see _at_risk_baseline)
# department code, title, description, [(kpi, direction, baseline, target)]
OBJECTIVES = [
    ("front", "Fewer empty chairs", "Reminder calls and a waitlist that fills the gaps.",
     [("no_show_rate", Direction.AT_MOST, D("9.00"), D("6.00")), ("wait_time", Direction.AT_MOST, D("18.0"), D("12.0")),
      ("time_of_service", Direction.AT_LEAST, D("45.00"), D("60.00"))]),
    ("billing", "Paid the first time", "Scrub before sending; work denials within a week.",
     [("clean_claim_rate", Direction.AT_LEAST, D("88.00"), D("95.00")), ("denial_rate", Direction.AT_MOST, D("8.00"),
                                                                          D("5.00")),
      ("days_in_ar", Direction.AT_MOST, D("42.0"), D("35.0")), ("net_collection_rate", Direction.AT_LEAST, D("92.00"),
                                                                D("96.00"))]),
    ("billing", "Statements for less", "Move statements to the portal and e-mail; paper only on request.",
     [("budget_variance", Direction.AT_LEAST, AT_RISK, D("0.00"))]),
    ("clinical", "Grow the panel within budget", "Open two evening sessions a week.",
     [("new_patients", Direction.AT_LEAST, D("0"), D("60")), ("budget_variance", Direction.AT_LEAST, D("-2000.00"),
                                                             D("0.00"))]),
    ("nursing", "A safe, rested team", "Keep every licence current and overtime low.",
     [("credential_compliance", Direction.AT_LEAST, D("90.00"), D("100.00")),
      ("training_compliance", Direction.AT_LEAST, D("80.00"), D("95.00")), ("overtime", Direction.AT_MOST, D("6.00"),
                                                                            D("3.00"))]),
]


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    org = ctx.organization
    start, end = period_bounds(kind=PeriodKind.QUARTER, start=timezone.localdate(), end=None)
    owner = next(iter(ctx.users.values()), None)
    added = 0
    for dept_code, title, description, key_results in OBJECTIVES:
        department = ctx.departments.get(dept_code)
        if department is None or owner is None:
            continue
        objective, created = Objective.objects.get_or_create(
            organization=org, title=title, start=start,
            defaults={"department": department, "owner": department.owner or owner, "description": description,
                      "period_kind": PeriodKind.QUARTER, "end": end})
        if not created:
            continue
        added += 1
        for position, (code, direction, baseline, target) in enumerate(key_results):
            scope = {"department": department} if code in ("budget_variance", "credential_compliance",
                                                           "training_compliance", "overtime") else {}
            if baseline is AT_RISK:
                baseline = _at_risk_baseline(org.pk, code, Scope(department_id=department.pk), start, end, target)
            KeyResult.objects.create(organization=org, objective=objective, kpi_code=code, direction=direction,
                                     baseline=baseline, target=target, position=position, **scope)
    return added


def _at_risk_baseline(org_id: int, code: str, scope: Scope, start, end, target: D) -> D:
    """The quarter's budget variance was planned from a baseline; the demo picks the one that leaves today's value
    half the tolerance short of the line from baseline to target, so the key result stands at risk whatever the day
    of the quarter (value = baseline + (target − baseline) × (elapsed − tolerance / 2), see status.py)."""
    today = timezone.localdate()
    value = registry.get(code).compute(org_id, start, min(end, today), scope).value
    if value is None or value >= target:
        return target - D("1000.00")  # no overspending (the books are not seeded): a plain plan
    share = elapsed(start=start, end=end, on=today) - TOLERANCE / 2
    baseline = ((value - target * share) / (1 - share)).quantize(D("1"))
    return baseline if baseline != target else target - D("1")
