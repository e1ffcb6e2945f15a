"""The demo's charges: an encounter for the completed visits, most posted, the last day waiting for review with
two flags; the superbills; a second run changes nothing."""

import pytest

from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.demo_charges import seed_charges
from clinicdesk.billing.models import Encounter, SuperbillTemplate
from clinicdesk.billing.services.charges import encounter_problems
from clinicdesk.core import demo as core_demo
from clinicdesk.ledger.models import JournalEntry
from clinicdesk.patients import demo as patient_demo
from clinicdesk.scheduling import demo as scheduling_demo

pytestmark = pytest.mark.django_db


def test_seed_charges_codes_the_past_weeks_and_leaves_a_flagged_queue():
    ctx = core_demo.seed()
    patient_demo.seed(ctx, patients=200, seed=7)
    scheduling_demo.seed(ctx, patients=200, seed=7, stdout=None)
    made = seed_charges(ctx, patients=200, seed=7, stdout=None)
    assert made > 50
    encounters = list(Encounter.objects.filter(organization=ctx.organization).prefetch_related("diagnoses", "services"))
    statuses = [e.status for e in encounters]
    assert statuses.count(EncounterStatus.POSTED) > statuses.count(EncounterStatus.IN_REVIEW) > 2
    waiting = [e for e in encounters if e.status == EncounterStatus.IN_REVIEW]
    problems = [p["message"] for e in waiting for p in encounter_problems(e)]
    assert any("M54.5 (" in m and "heading" in m for m in problems)
    assert any("missing modifier 25" in m for m in problems)
    assert len({e.pk for e in waiting if encounter_problems(e)}) == 2
    assert JournalEntry.objects.filter(kind="charge").count() == statuses.count(EncounterStatus.POSTED)
    assert set(SuperbillTemplate.objects.values_list("name", flat=True)) == {"Family medicine", "Chiropractic and massage"}
    # idempotent
    assert seed_charges(ctx, patients=200, seed=7, stdout=None) == 0
    assert Encounter.objects.count() == len(encounters)
