"""The demo's flu vaccine clinic: its posted flu shots took doses of the current lot off the Main Street fridge for
their patients, so the lot recall names them; the lot expiring soon is left for the supply alerts."""

import pytest

from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.demo_charges import seed_charges
from clinicdesk.billing.models import EncounterSupply
from clinicdesk.core import demo as core_demo
from clinicdesk.inventory import demo as inventory_demo
from clinicdesk.inventory.choices import MovementKind
from clinicdesk.inventory.models import StockMovement
from clinicdesk.patients import demo as patient_demo
from clinicdesk.scheduling import demo as scheduling_demo

pytestmark = pytest.mark.django_db


def test_the_flu_clinic_uses_doses_of_the_current_lot_for_its_patients():
    # given the demo practice with its supplies
    ctx = core_demo.seed()
    patient_demo.seed(ctx, patients=200, seed=7)
    scheduling_demo.seed(ctx, patients=200, seed=7, stdout=None)
    inventory_demo.seed(ctx, patients=200, seed=7)
    # when its visits are coded and posted
    seed_charges(ctx, patients=200, seed=7, stdout=None)
    # then each posted flu shot with a dose took it off the shelf for its patient, from the current lot
    supplies = list(EncounterSupply.objects.select_related("encounter", "lot"))
    assert supplies and {s.lot.number for s in supplies} == {"FLU-B2702"}
    posted = [s.encounter for s in supplies if s.encounter.status == EncounterStatus.POSTED]
    uses = StockMovement.objects.filter(kind=MovementKind.CONSUMPTION, encounter_ref__in=[e.public_id for e in posted])
    assert sorted(u.patient_id for u in uses) == sorted(e.patient_id for e in posted)
    # and the lot expiring soon was not touched by the clinic
    assert not StockMovement.objects.filter(lot__number="FLU-A2611", encounter_ref__in=[e.public_id for e in posted]).exists()
