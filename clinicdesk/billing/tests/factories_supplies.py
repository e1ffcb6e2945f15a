"""A practice with a flu vaccine clinic, for the tests of supplies used in care: the vaccine's procedure codes
priced, an office with a vaccine fridge holding two lots, and a flu shot coded with its dose."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from clinicdesk.billing.models import Encounter, Fee, ProcedureCode
from clinicdesk.billing.services.charges import ServiceInput, encounter_code, encounter_submit
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.inventory.choices import ItemKind
from clinicdesk.inventory.services.stock import stock_receive
from clinicdesk.inventory.tests.factories import ItemFactory, StockLocationFactory

from .factories_encounters import coded

D = Decimal
FLU = (("90686", "", 1), ("90471", "", 1))


def add_flu_prices(schedule) -> None:
    for code, price in (("90686", "28.00"), ("90471", "25.00")):
        procedure = ProcedureCode.objects.create(organization=schedule.organization, code=code, code_system="CPT",
                                                 description=f"Service {code}")
        Fee.objects.create(organization=schedule.organization, schedule=schedule, procedure=procedure,
                           price=D(price), effective_from=date(2026, 1, 1))


class Clinic:
    """The office, its vaccine fridge, the flu vaccine and its lots by number."""

    def __init__(self, org):
        self.office = LocationFactory(organization=org, name="Main office")
        self.fridge = StockLocationFactory(organization=org, location=self.office, name="Vaccine fridge")
        self.vaccine = ItemFactory(organization=org, name="Flu vaccine (quadrivalent)", kind=ItemKind.VACCINE,
                                   cvx="150", tracks_lots=True, base_unit="dose", price=D("14.00"))
        # the later-expiring lot is received first (so first in is not first to expire)
        stock_receive(item=self.vaccine, stock_location=self.fridge, quantity=D("5"), actor=None, lot_number="LATE1",
                      expires_on=date(2027, 6, 30), unit_cost=D("15.00"))
        stock_receive(item=self.vaccine, stock_location=self.fridge, quantity=D("2"), actor=None, lot_number="SOON1",
                      expires_on=date(2027, 1, 31), unit_cost=D("12.00"))
        self.lots = {lot.number: lot for lot in self.vaccine.lots.all()}


def flu_shot(org, doctor, clinic: Clinic, *, supplies, submit=True) -> Encounter:
    """A flu shot (vaccine and its administration) at the clinic's office, with the supplies given."""
    encounter = coded(org, doctor, diagnoses=("Z23",), services=FLU, location=clinic.office, submit=False)
    encounter_code(encounter=encounter, actor=doctor, diagnoses=["Z23"], supplies=supplies, services=[
        ServiceInput(code=code, modifiers=mods, units=units, pointers="1") for code, mods, units in FLU])
    if submit:
        encounter_submit(encounter=encounter, actor=doctor)
    return Encounter.objects.get(pk=encounter.pk)
