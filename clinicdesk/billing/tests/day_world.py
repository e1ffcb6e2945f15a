"""A small hand-worked business day for the day close and report tests (figures worked out in test_reports.py):

at one location (float 100.00), on 11/20/2026:
- charges: A 99213 120.00 (Dr Ames, Family medicine); B 80053 45.00 + 36415 15.00 (Dr Baker, Laboratory);
  C 99214 180.00 (Dr Ames) = 360.00
- payments: A cash 50.00 and B check #1001 60.00 (taken by Dee); C card (Visa) 100.00 and D cash copay 40.00
  held as credit (taken by Eli) = 250.00
- a cash refund of 15.00 to D from the drawer; a courtesy adjustment of 20.00 on C's 99214
- expected cash 100 + 90 - 15 = 175.00; the drawer counts 174.75 (0.25 short); checks in hand 60.00.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from freezegun import freeze_time

from clinicdesk.billing.choices import EncounterStatus, PaymentMethod, RefundMethod
from clinicdesk.billing.models import Encounter, EncounterDiagnosis, ServiceLine
from clinicdesk.billing.services.accounts import account_for_patient
from clinicdesk.billing.services.charges import encounters_post
from clinicdesk.billing.services.dayclose import drawer_save
from clinicdesk.billing.services.payments import adjustment_post, payment_post, refund_post
from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory, LocationFactory, UserFactory
from clinicdesk.patients.tests.factories import PatientFactory

DAY = date(2026, 11, 20)
NOON = "2026-11-20 17:00:00"  # noon in New York
COUNT_SHORT = {"100": 1, "20": 3, "10": 1, "1": 4, "0.25": 3}  # 174.75


@dataclass
class CardCharge:
    id: str
    status: str
    amount: Decimal
    brand: str
    last4: str


class _FakeProcessor:
    """Stands in for the card processor when the card module is not installed: every card is a Visa that pays."""

    def charge(self, *, amount, payment_method_id, idempotency_key, description="", metadata=None):
        return CardCharge(id=f"pi_{idempotency_key}", status="succeeded", amount=amount, brand="Visa", last4="4242")

    def refund(self, *, intent_id, amount, idempotency_key):
        return CardCharge(id=f"re_{idempotency_key}", status="succeeded", amount=amount, brand="Visa", last4="4242")


@pytest.fixture(name="fake_cards")
def fake_cards_fixture(monkeypatch):
    """A card processor that always approves, whether or not the card module is installed."""
    try:
        import clinicdesk.billing.cards as cards  # noqa: F401

        monkeypatch.setattr("clinicdesk.billing.cards.card_processor", lambda: _FakeProcessor())
    except ImportError:
        module = types.ModuleType("clinicdesk.billing.cards")

        class CardDeclined(Exception):
            pass

        module.CardDeclined = CardDeclined
        module.TemporaryFailure = type("TemporaryFailure", (Exception,), {})
        module.PermanentFailure = type("PermanentFailure", (Exception,), {})
        module.card_processor = lambda: _FakeProcessor()
        monkeypatch.setitem(sys.modules, "clinicdesk.billing.cards", module)


def post_encounter(*, patient, provider, location, department, on: date, services, dx=("I10",), actor):
    """An encounter coded by hand (code, amount) and posted through `encounters_post`."""
    encounter = Encounter.objects.create(organization=patient.organization, patient=patient, provider=provider,
                                         location=location, department=department, service_date=on,
                                         status=EncounterStatus.IN_REVIEW)
    EncounterDiagnosis.objects.bulk_create([EncounterDiagnosis(encounter=encounter, sequence=n, code=c, description=c)
                                            for n, c in enumerate(dx, start=1)])
    ServiceLine.objects.bulk_create([
        ServiceLine(encounter=encounter, sequence=n, procedure_code=code, description=f"Service {code}", units=1,
                    unit_price=Decimal(amount), amount=Decimal(amount), diagnosis_pointers="1")
        for n, (code, amount) in enumerate(services, start=1)
    ])
    encounters_post(encounters=[encounter], actor=actor)
    return encounter


@dataclass
class HandDay:
    org: object
    location: object
    drawer: object
    manager: object
    dee: object
    eli: object
    ames: object
    baker: object
    family: object
    lab: object
    patients: dict
    encounters: dict
    payments: dict
    refund: object
    adjustment: object


@pytest.fixture(name="hand_day")
def hand_day_fixture(org, fake_cards) -> HandDay:
    with freeze_time(NOON):
        location = LocationFactory(organization=org, name="Main street", time_zone="America/New_York")
        family = DepartmentFactory(organization=org, name="Family medicine")
        lab = DepartmentFactory(organization=org, name="Laboratory")
        manager = UserFactory(organization=org, role=Role.OFFICE_MANAGER, username="manager")
        dee = UserFactory(organization=org, role=Role.FRONT_DESK, username="dee", first_name="Dee", last_name="Desk")
        eli = UserFactory(organization=org, role=Role.FRONT_DESK, username="eli", first_name="Eli", last_name="Front")
        ames = UserFactory(organization=org, role=Role.CLINICIAN, username="ames", first_name="Ann", last_name="Ames",
                           department=family)
        baker = UserFactory(organization=org, role=Role.CLINICIAN, username="baker", first_name="Bo", last_name="Baker",
                            department=lab)
        drawer = drawer_save(location=location, opening_float="100.00", actor=manager)
        patients = {k: PatientFactory(organization=org, last_name=f"Patient{k}", first_name=k) for k in "ABCD"}
        encounters = {
            "A": post_encounter(patient=patients["A"], provider=ames, location=location, department=family, on=DAY,
                                services=[("99213", "120.00")], actor=manager),
            "B": post_encounter(patient=patients["B"], provider=baker, location=location, department=lab, on=DAY,
                                services=[("80053", "45.00"), ("36415", "15.00")], dx=("Z00.00",), actor=manager),
            "C": post_encounter(patient=patients["C"], provider=ames, location=location, department=family, on=DAY,
                                services=[("99214", "180.00")], dx=("E11.9",), actor=manager),
        }
        account = {k: account_for_patient(patient=p) for k, p in patients.items()}
        payments = {
            "A": payment_post(account=account["A"], amount="50.00", method=PaymentMethod.CASH, idempotency_key="a-cash",
                              actor=dee, location=location, patient=patients["A"]),
            "B": payment_post(account=account["B"], amount="60.00", method=PaymentMethod.CHECK, check_number="1001",
                              idempotency_key="b-check", actor=dee, location=location, patient=patients["B"]),
            "C": payment_post(account=account["C"], amount="100.00", method=PaymentMethod.CARD, idempotency_key="c-card",
                              card_payment_method_id="pm_card_visa", actor=eli, location=location, patient=patients["C"]),
            "D": payment_post(account=account["D"], amount="40.00", method=PaymentMethod.CASH, idempotency_key="d-copay",
                              is_copay=True, actor=eli, location=location, patient=patients["D"]),
        }
        refund = refund_post(patient=patients["D"], amount="15.00", method=RefundMethod.CASH, reason="Copay too high",
                             idempotency_key="d-refund", actor=manager, location=location)
        item_c = encounters["C"].services.get().item
        adjustment = adjustment_post(item=item_c, amount="20.00", kind="courtesy", reason="Long wait", actor=manager)
    return HandDay(org=org, location=location, drawer=drawer, manager=manager, dee=dee, eli=eli, ames=ames,
                   baker=baker, family=family, lab=lab, patients=patients, encounters=encounters, payments=payments,
                   refund=refund, adjustment=adjustment)
