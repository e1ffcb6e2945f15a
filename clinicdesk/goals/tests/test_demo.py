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


def test_the_quarterly_review_shows_billing_over_its_postage_budget_and_why(db, django_capture_on_commit_callbacks):
    """Scenario 11: Billing's statement runs pass its postage budget (6600), its owner is told, its budget key
    result stands at risk on the dashboard, and the rows behind the variance are the postage lines."""
    from clinicdesk.communications.models import StaffTask
    from clinicdesk.goals import selectors
    from clinicdesk.goals.choices import KeyResultStatus
    from clinicdesk.goals.kpis.registry import Scope
    from clinicdesk.ledger import demo as ledger_demo
    from clinicdesk.ledger.budgets import budget_vs_actual
    from clinicdesk.ledger.models import BudgetAlert

    # given the demo practice's books and goals
    ctx = core_demo.seed()
    with django_capture_on_commit_callbacks(execute=True):
        ledger_demo.seed(ctx, patients=0, seed=2026)
    demo.seed(ctx, patients=0, seed=2026)
    org, billing, devon, priya = ctx.organization, ctx.departments["billing"], ctx.users["devon"], ctx.users["priya"]
    today = timezone.localdate()
    start, _end = selectors.quarter_of(today)

    # then Billing is over budget on postage and printing this quarter
    report = budget_vs_actual(user=priya, year=today.year, department_id=billing.pk)
    postage = next(line for line in report.lines if line.account.code == "6600")
    months = range(start.month - 1, today.month)
    assert sum(postage.actual[m] for m in months) > 2 * sum(postage.budget[m] for m in months) > 0
    # the daily check told its owner
    billing.refresh_from_db()
    assert billing.owner == devon
    alert = BudgetAlert.objects.get(organization=org, department=billing, month=today.replace(day=1), threshold=100)
    assert alert.actual > alert.budget
    assert StaffTask.objects.filter(assignee=devon, reference=f"budget-alert-{alert.pk}").exists()

    # the key result bound to the budget variance stands at risk, its card saying which account is most over
    board = selectors.dashboard(user=priya, on=today)
    card = next(c for c in board.cards if c.title == "Statements for less: Budget variance")
    assert card.status == KeyResultStatus.AT_RISK and card.figure.value < 0
    assert card.figure.note.startswith("Most over budget: 6600 Postage and printing")
    assert card.scope == Scope(department_id=billing.pk)
    # each department's objectives show no-show rate, days in A/R and clean-claim rate against a target
    bound = {c.kpi.code for c in board.cards if c.target is not None}
    assert {"no_show_rate", "days_in_ar", "clean_claim_rate"} <= bound

    # the rows behind the figure are Billing's expense lines, the statement runs and certified letters among them
    rows = registry.get("budget_variance").rows(org.pk, card.start, card.end, card.scope)
    cells = [rows.cells(line) for line in rows.items]
    postage_rows = [c for c in cells if c[2] == "6600 Postage and printing"]
    assert {c[3] for c in cells} == {"Billing"}
    assert any("statement run" in c[4] for c in postage_rows) and any("certified mail" in c[4] for c in postage_rows)
    spent = sum(c[5] for c in cells)
    assert card.figure.value == card.figure.numerator - spent
