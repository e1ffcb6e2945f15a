"""The demo practice's goals for this quarter: fewer no-shows and shorter waits at the front desk, a cleaner claim
stream in billing, and staying within the budget in the clinic. Idempotent: an objective of the same title and
quarter is left as it is."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from .choices import Direction, PeriodKind
from .models import KeyResult, Objective
from .services import period_bounds

D = Decimal
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
            KeyResult.objects.create(organization=org, objective=objective, kpi_code=code, direction=direction,
                                     baseline=baseline, target=target, position=position, **scope)
    return added
