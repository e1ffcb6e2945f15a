"""Encounters from coding to posted charges: diagnoses checked against ICD-10-CM, services priced from the fee
schedule, problems flagged for review, charges posted once, copay credit applied, voids."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.billing.choices import EncounterStatus, PaymentMethod
from clinicdesk.billing.services.accounts import account_for_patient
from clinicdesk.billing.services.charges import (
    ServiceInput,
    encounter_code,
    encounter_create,
    encounter_post,
    encounter_problems,
    encounter_submit,
    encounter_void,
    encounters_post,
)
from clinicdesk.billing.services.payments import payment_post
from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory, LocationFactory
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import JournalEntry, JournalLine
from clinicdesk.ledger.selectors import item_balances, patient_balance, patient_credit
from clinicdesk.patients.tests.factories import PatientFactory

D = Decimal
DAY = date(2026, 11, 2)


@pytest.fixture
def encounter(org, make_user, fee_schedule):
    department = DepartmentFactory(organization=org)
    doctor = make_user(Role.CLINICIAN, department=department)
    return encounter_create(patient=PatientFactory(organization=org), provider=doctor,
                            location=LocationFactory(organization=org), service_date=DAY, actor=doctor)


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER)


def test_coding_prices_services_from_the_fee_schedule(encounter, biller):
    encounter_code(encounter=encounter, actor=biller, diagnoses=["e119", "I10"], services=[
        ServiceInput(code="99214", modifiers="25", pointers="1,2"),
        ServiceInput(code="36415", pointers="1"),
        ServiceInput(code="93000", units=2, pointers="2"),
    ])
    lines = list(encounter.services.all())
    assert [(s.procedure_code, s.modifiers, s.unit_price, s.amount) for s in lines] == [
        ("99214", "25", D("170.00"), D("170.00")), ("36415", "", D("18.00"), D("18.00")),
        ("93000", "", D("45.00"), D("90.00")),
    ]
    assert [d.code for d in encounter.diagnoses.all()] == ["E11.9", "I10"]


def test_a_header_code_an_unknown_procedure_and_a_bad_pointer_are_refused_naming_the_line(encounter, biller):
    with pytest.raises(ValidationError) as refused:
        encounter_code(encounter=encounter, actor=biller, diagnoses=["E11", "I10"], services=[
            ServiceInput(code="99999", pointers="1"), ServiceInput(code="99213", pointers="3"),
        ])
    errors = refused.value.message_dict
    assert any(m.startswith("Diagnosis 1:") and "heading" in m and "E11.00" in m for m in errors["diagnoses"])
    assert any(m.startswith("Service 1:") and "99999" in m for m in errors["services"])
    assert any(m.startswith("Service 2:") and "pointer 3" in m for m in errors["services"])
    assert not encounter.services.exists() and not encounter.diagnoses.exists()


def test_posting_opens_an_item_per_service_and_books_revenue_to_the_department(encounter, biller):
    encounter_code(encounter=encounter, actor=biller, diagnoses=["J06.9"], services=[
        ServiceInput(code="99213"), ServiceInput(code="36415"), ServiceInput(code="99024"),
    ])
    encounter_submit(encounter=encounter, actor=biller)
    posted = encounter_post(encounter=encounter, actor=biller)
    assert posted.status == EncounterStatus.POSTED
    assert patient_balance(patient=encounter.patient) == D("128.00")
    revenue = JournalLine.objects.filter(account__role=AccountRole.SERVICE_REVENUE)
    assert {line.department_id for line in revenue} == {encounter.department_id}
    services = list(encounter.services.all())
    assert services[2].item_id is None  # a $0 service opens nothing
    assert item_balances(item_ids=[services[0].item_id]) == {services[0].item_id: D("110.00")}
    # posting again changes nothing
    encounter_post(encounter=encounter, actor=biller)
    assert JournalEntry.objects.filter(kind="charge").count() == 1


def test_a_copay_taken_at_check_in_is_applied_when_the_charges_post(encounter, biller):
    account = account_for_patient(patient=encounter.patient)
    payment_post(account=account, amount="30.00", method=PaymentMethod.CASH, idempotency_key="copay-1", actor=biller,
                 patient=encounter.patient, is_copay=True)
    encounter_code(encounter=encounter, actor=biller, diagnoses=["J06.9"], services=[ServiceInput(code="99213")])
    encounter_post(encounter=encounter, actor=biller)
    assert patient_credit(patient=encounter.patient) == 0
    assert patient_balance(patient=encounter.patient) == D("80.00")


def test_an_encounter_with_problems_refuses_the_batch(encounter, biller, org, make_user):
    review = encounter_problems(encounter)
    assert {p["field"] for p in review} == {"diagnoses", "services"}
    with pytest.raises(ValidationError, match="No diagnosis is coded"):
        encounters_post(encounters=[encounter], actor=biller)
    assert not JournalEntry.objects.exists()


def test_void_reverses_unpaid_charges_and_refuses_paid_ones(encounter, biller):
    encounter_code(encounter=encounter, actor=biller, diagnoses=["J06.9"], services=[ServiceInput(code="99213")])
    encounter_post(encounter=encounter, actor=biller)
    payment_post(account=account_for_patient(patient=encounter.patient), amount="10.00", method=PaymentMethod.CASH,
                 idempotency_key="p-void", actor=biller)
    with pytest.raises(ValidationError, match="adjust the balance instead"):
        encounter_void(encounter=encounter, reason="Wrong patient", actor=biller)
    other = encounter_create(patient=encounter.patient, provider=encounter.provider, location=encounter.location,
                             service_date=DAY, actor=biller)
    encounter_code(encounter=other, actor=biller, diagnoses=["J06.9"], services=[ServiceInput(code="36415")])
    encounter_post(encounter=other, actor=biller)
    encounter_void(encounter=other, reason="Duplicate visit", actor=biller)
    assert other.__class__.objects.get(pk=other.pk).status == EncounterStatus.VOID
    assert patient_balance(patient=encounter.patient) == D("100.00")
    with pytest.raises(ValidationError, match="cannot be changed"):
        encounter_code(encounter=other, actor=biller, diagnoses=["J06.9"], services=[])
