"""ChargeItem, Account and Invoice: an encounter's service lines, patient accounts and patient statements, read-only.
Validated against the R4B models; money exactly the product's (the statement's figures and its PDF, to the cent);
searched by their parameters with paging; each row returned audited as a read of its patient's data; another
practice's rows never seen; a role without billing or a token without the scope refused; exported in bulk."""

from __future__ import annotations

import json
import subprocess  # noqa: S404  (pdftotext, a fixed command)
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.account import Account as FhirAccount
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.chargeitem import ChargeItem as FhirChargeItem
from fhir.resources.R4B.invoice import Invoice as FhirInvoice
from freezegun import freeze_time

from clinicdesk.billing.choices import AdjustmentKind, PaymentMethod
from clinicdesk.billing.models import AccountMember, Fee, FeeSchedule, PatientAccount, ProcedureCode, Statement
from clinicdesk.billing.services.accounts import account_for_patient, account_member_move
from clinicdesk.billing.services.charges import (
    ServiceInput,
    encounter_code,
    encounter_create,
    encounter_post,
    encounter_submit,
    encounter_void,
)
from clinicdesk.billing.services.payments import adjustment_post, payment_post
from clinicdesk.billing.services.statements import (
    statement_pdf_read,
    statement_run_create,
    statement_run_execute,
    statement_run_start,
)
from clinicdesk.core.choices import AuditChannel, Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.fhir.bindings import code_issues
from clinicdesk.fhir.exporting import fhir_export
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.tests.factories import Clinic

from .conftest import expressions, issues, valid

pytestmark = pytest.mark.django_db
D = Decimal
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
PRICES = {("99213", ""): "110.00", ("99214", ""): "165.00", ("99214", "25"): "170.00", ("J1100", ""): "6.50",
          ("99024", ""): "0.00"}


def ids(response) -> list[str]:
    return [e["resource"]["id"] for e in valid(Bundle, response).get("entry", [])]


def exact(response) -> dict:
    """The body with every JSON number read as a Decimal, as it was written (no float in between)."""
    return json.loads(response.content, parse_float=Decimal)


def fhir_id(public_id: str) -> str:
    return public_id.replace("_", ".")


def prices(organization) -> None:
    schedule = FeeSchedule.objects.create(organization=organization, name="Standard", is_default=True)
    for (code, modifiers), price in PRICES.items():
        procedure, _ = ProcedureCode.objects.get_or_create(
            organization=organization, code=code, defaults={"description": f"Service {code}",
                                                            "code_system": "HCPCS" if code[0] == "J" else "CPT"})
        Fee.objects.create(organization=organization, schedule=schedule, procedure=procedure, modifiers=modifiers,
                           price=D(price), effective_from=date(2026, 1, 1))


def visit(clinic: Clinic, patient=None, *, day=date(2027, 3, 1), services=(("99213", "", 1, "1"),),
          diagnoses=("E11.9",), post: bool = True):
    """An encounter coded, sent to review and (unless told) posted through the billing services."""
    encounter = encounter_create(patient=patient or clinic.patient, provider=clinic.provider, location=clinic.location,
                                 service_date=day, actor=clinic.provider)
    encounter_code(encounter=encounter, actor=clinic.provider, diagnoses=list(diagnoses), services=[
        ServiceInput(code=code, modifiers=mods, units=units, pointers=pointers) for code, mods, units, pointers in services])
    if post:
        encounter_submit(encounter=encounter, actor=clinic.provider)
        encounter_post(encounter=encounter, actor=clinic.actor)
    encounter.refresh_from_db()
    return encounter


@pytest.fixture
def priced(clinic):
    prices(clinic.organization)
    return clinic


# --- ChargeItem ----------------------------------------------------------------------------------------------------


def test_a_posted_charge_with_modifier_units_and_diagnoses(fhir, priced):
    # given a posted visit: 99214-25 pointing at both diagnoses, three units of J1100 pointing at the second
    clinic = priced
    account = account_for_patient(patient=clinic.patient)
    encounter = visit(clinic, services=(("99214", "25", 1, "1,2"), ("J1100", "", 3, "2")), diagnoses=("E11.9", "J06.9"))
    # when
    response = fhir.get(f"ChargeItem/{encounter.public_id}-1")
    body = valid(FhirChargeItem, response)
    # then
    slug = clinic.organization.slug
    assert body["status"] == "billed"
    assert body["code"]["coding"] == [{"system": CPT, "code": "99214", "display": "Service 99214"}]
    assert body["extension"] == [{"url": "urn:clinicdesk:fhir:extension:procedure-modifier",
                                  "valueCoding": {"system": CPT, "code": "25"}}]
    assert body["subject"]["reference"] == f"Patient/{clinic.patient.public_id}"
    assert body["context"] == {"type": "Encounter", "identifier": {"system": f"urn:clinicdesk:{slug}:encounter",
                                                                   "value": encounter.public_id}}
    assert body["occurrenceDateTime"] == "2027-03-01"
    assert body["performer"][0]["actor"]["reference"] == f"Practitioner/{clinic.provider.pk}"
    assert body["performingOrganization"]["reference"] == f"Organization/{clinic.organization.pk}"
    assert body["quantity"] == {"value": 1}
    assert [r["coding"][0]["code"] for r in body["reason"]] == ["E11.9", "J06.9"]
    assert body["reason"][0]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10-cm"
    assert body["account"] == [{"reference": f"Account/{fhir_id(account.public_id)}"}]
    assert body["enteredDate"].startswith("2027-03-10T12:00:00")
    lines = {line.sequence: line for line in encounter.services.all()}
    assert exact(response)["priceOverride"] == {"value": lines[1].amount, "currency": "USD"}
    assert lines[1].amount == D("170.00")
    # the drug: HCPCS, three units at 6.50
    second = fhir.get(f"ChargeItem/{encounter.public_id}-2")
    drug = valid(FhirChargeItem, second)
    assert drug["code"]["coding"][0] == {"system": HCPCS, "code": "J1100", "display": "Service J1100"}
    assert "extension" not in drug and drug["quantity"] == {"value": 3}
    assert exact(second)["priceOverride"]["value"] == lines[2].amount == D("19.50")
    assert [r["coding"][0]["code"] for r in drug["reason"]] == ["J06.9"]
    assert "6.50" in drug["overrideReason"]


def test_charge_statuses_follow_the_encounter(fhir, priced):
    clinic = priced
    draft = visit(clinic, post=False)
    free = visit(clinic, services=(("99024", "", 1, "1"),))
    voided = visit(clinic)
    encounter_void(encounter=voided, reason="Wrong patient", actor=clinic.actor)
    dropped = visit(clinic, post=False)
    encounter_void(encounter=dropped, reason="Not seen", actor=clinic.actor)
    status = {e: valid(FhirChargeItem, fhir.get(f"ChargeItem/{e.public_id}-1"))["status"]
              for e in (draft, free, voided, dropped)}
    assert status == {draft: "planned", free: "not-billable", voided: "entered-in-error", dropped: "aborted"}


def test_charge_reads_and_search_pages_are_audited_with_the_patient(fhir, priced):
    clinic = priced
    other = PatientFactory(organization=clinic.organization)
    encounter = visit(clinic)
    visit(clinic, other)
    visit(clinic, other, day=date(2027, 3, 2))
    fhir.get(f"ChargeItem/{encounter.public_id}-1")
    viewed = AuditEvent.objects.get(action="billing.charge_viewed")
    assert viewed.patient_id == clinic.patient.pk and viewed.channel == AuditChannel.API
    assert viewed.target_type == "billing.serviceline" and viewed.actor_id == clinic.actor.pk
    # a page of two out of three
    body = valid(Bundle, fhir.get("ChargeItem", {"_count": 2}))
    assert body["total"] == 3 and len(body["entry"]) == 2
    assert {link["relation"] for link in body["link"]} >= {"next", "last"}
    listed = AuditEvent.objects.filter(action="billing.charge_listed")
    assert listed.count() == 2 and {e.patient_id for e in listed} == {clinic.patient.pk, other.pk}
    page_two = valid(Bundle, fhir.get("ChargeItem", {"_count": 2, "_page": 2}))
    assert len(page_two["entry"]) == 1 and AuditEvent.objects.filter(action="billing.charge_listed").count() == 3


def test_charge_search_parameters(fhir, priced):
    clinic = priced
    other = PatientFactory(organization=clinic.organization)
    account = account_for_patient(patient=other)
    march1 = visit(clinic, services=(("99214", "25", 1, "1"), ("J1100", "", 2, "1")))
    with freeze_time("2027-03-12T15:00:00Z"):
        march5 = visit(clinic, other, day=date(2027, 3, 5))
    first, drug, later = f"{march1.public_id}-1", f"{march1.public_id}-2", f"{march5.public_id}-1"
    assert ids(fhir.get("ChargeItem")) == [first, drug, later]
    assert ids(fhir.get("ChargeItem", {"patient": f"Patient/{other.public_id}"})) == [later]
    assert ids(fhir.get("ChargeItem", {"code": "99214"})) == [first]
    assert ids(fhir.get("ChargeItem", {"code": f"{HCPCS}|J1100"})) == [drug]
    assert ids(fhir.get("ChargeItem", {"code": f"{CPT}|J1100"})) == []
    assert ids(fhir.get("ChargeItem", {"code": "99213,j1100"})) == [drug, later]
    assert ids(fhir.get("ChargeItem", {"occurrence": "ge2027-03-02"})) == [later]
    assert ids(fhir.get("ChargeItem", {"occurrence": ["ge2027-03-01", "lt2027-03-05"]})) == [first, drug]
    assert ids(fhir.get("ChargeItem", {"entered-date": "gt2027-03-10"})) == [later]
    assert ids(fhir.get("ChargeItem", {"entered-date": "2027-03-10"})) == [first, drug]
    assert ids(fhir.get("ChargeItem", {"account": f"Account/{fhir_id(account.public_id)}"})) == [later]
    assert ids(fhir.get("ChargeItem", {"_id": f"{later},{drug},nonsense"})) == [drug, later]
    assert fhir.get("ChargeItem/nonsense").status_code == 404


@pytest.mark.parametrize(("resource", "params", "name"), [
    ("ChargeItem", {"code": f"{CPT}|"}, "code"), ("ChargeItem", {"patient": "Practitioner/1"}, "patient"),
    ("ChargeItem", {"occurrence": "sa2027"}, "occurrence"), ("ChargeItem", {"status": "billed"}, "status"),
    ("ChargeItem", {"account": "Patient/x"}, "account"), ("Account", {"status": "closed"}, "status"),
    ("Account", {"name": "x"}, "name"), ("Invoice", {"date": "March"}, "date"), ("Invoice", {"status": "paid"}, "status"),
    ("Invoice", {"account": "Organization/1"}, "account"), ("Invoice", {"_count": "500"}, "_count"),
])
def test_bad_parameters_are_named(fhir, clinic, resource, params, name):
    response = fhir.get(resource, params)
    assert response.status_code == 400 and expressions(response) == [name]


# --- Account -------------------------------------------------------------------------------------------------------


def test_a_family_account_held_by_a_patient(fhir, clinic):
    parent = clinic.patient
    child = PatientFactory(organization=clinic.organization, first_name="Ana")
    account = account_for_patient(patient=parent)
    account_member_move(patient=child, account=account, actor=None)
    response = fhir.get(f"Account/{fhir_id(account.public_id)}")
    body = valid(FhirAccount, response)
    assert body["id"] == fhir_id(account.public_id) and "_" not in body["id"]
    assert body["status"] == "active"
    assert body["type"]["coding"] == [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PBILLACCT",
                                       "display": "patient billing account"}]
    assert body["identifier"] == [{"use": "usual", "system": f"urn:clinicdesk:{clinic.organization.slug}:account-number",
                                   "value": account.number}]
    assert [s["reference"] for s in body["subject"]] == [f"Patient/{parent.public_id}", f"Patient/{child.public_id}"]
    assert body["guarantor"] == [{"party": {"reference": f"Patient/{parent.public_id}", "display": parent.display_name}}]
    assert body["owner"]["reference"] == f"Organization/{clinic.organization.pk}"
    assert body["servicePeriod"] == {"start": "2027-03-10"}
    assert "contained" not in body and "description" not in body  # balances are the statements' (Invoice)
    event = AuditEvent.objects.get(action="billing.account_viewed")
    assert event.patient_id == parent.pk and event.channel == AuditChannel.API


def test_an_outside_guarantor_is_a_contained_related_person_and_a_hold_is_on_hold(fhir, clinic):
    account = PatientAccount.objects.create(organization=clinic.organization, number="G-77", guarantor_name="John Roe",
                                            address_line1="1 Elm St", city="Riverside", state="NY", postal_code="10001",
                                            phone="212-555-0100", collections_hold=True)
    AccountMember.objects.create(account=account, patient=clinic.patient)
    body = valid(FhirAccount, fhir.get(f"Account/{fhir_id(account.public_id)}"))
    assert body["status"] == "on-hold"
    assert body["guarantor"] == [{"party": {"reference": "#guarantor", "display": "John Roe"}}]
    (person,) = body["contained"]
    assert person["resourceType"] == "RelatedPerson" and person["id"] == "guarantor"
    assert person["patient"] == {"reference": f"Patient/{clinic.patient.public_id}"}
    assert person["name"] == [{"text": "John Roe"}] and person["address"][0]["postalCode"] == "10001"
    assert person["telecom"] == [{"system": "phone", "value": "212-555-0100"}]
    # the account's patient in the audit is the first patient on it
    assert AuditEvent.objects.get(action="billing.account_viewed").patient_id == clinic.patient.pk


def test_account_search_by_patient_status_and_id(fhir, clinic):
    child = PatientFactory(organization=clinic.organization)
    family = account_for_patient(patient=clinic.patient)
    account_member_move(patient=child, account=family, actor=None)
    held_patient = PatientFactory(organization=clinic.organization, last_name="Zeta")
    held = account_for_patient(patient=held_patient)
    PatientAccount.objects.filter(pk=held.pk).update(collections_hold=True)
    empty = PatientAccount.objects.create(organization=clinic.organization, number="E-1", guarantor_name="Nobody")
    found = {"family": fhir_id(family.public_id), "held": fhir_id(held.public_id), "empty": fhir_id(empty.public_id)}
    assert set(ids(fhir.get("Account"))) == set(found.values())
    assert ids(fhir.get("Account", {"patient": f"Patient/{child.public_id}"})) == [found["family"]]
    assert ids(fhir.get("Account", {"patient": f"{child.public_id},{clinic.patient.public_id}"})) == [found["family"]]
    assert ids(fhir.get("Account", {"status": "on-hold"})) == [found["held"]]
    assert ids(fhir.get("Account", {"status": "active"})) == [found["family"]]
    assert ids(fhir.get("Account", {"status": "inactive"})) == [found["empty"]]
    assert ids(fhir.get("Account", {"status": "entered-in-error"})) == []
    assert ids(fhir.get("Account", {"_id": found["held"]})) == [found["held"]]
    listed = AuditEvent.objects.filter(action="billing.account_listed")
    assert listed.exists() and all(e.channel == AuditChannel.API for e in listed)


# --- Invoice -------------------------------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)  # noqa: S607
    return " ".join(done.stdout.decode().split())


@pytest.fixture
def stated(priced, settings, tmp_path):
    """A family's statement of March 9, 2027: the mother's visit (110.00, 50.00 paid, 10.00 courtesy) and her
    daughter's (165.00 + 2 × 6.50), on one account, made by the product's statement run (printed, not e-mailed)."""
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None}}}
    clinic = priced
    mother = clinic.patient
    mother.email, mother.address_line1, mother.city, mother.state, mother.postal_code = "", "12 Elm St", "Riverside", "NY", "10001"
    mother.save()
    daughter = PatientFactory(organization=clinic.organization, first_name="Ana", last_name=mother.last_name)
    account = account_for_patient(patient=mother)
    account_member_move(patient=daughter, account=account, actor=None)
    hers = visit(clinic, mother, day=date(2027, 2, 1))
    visit(clinic, daughter, day=date(2027, 2, 15), services=(("99214", "", 1, "1"), ("J1100", "", 2, "1")))
    payment_post(account=account, amount="50.00", method=PaymentMethod.CASH, idempotency_key="p1", actor=clinic.actor,
                 received_on=date(2027, 2, 20))
    item = hers.services.get(sequence=1).item
    adjustment_post(item=item, amount="10.00", kind=AdjustmentKind.COURTESY, reason="Courtesy", actor=clinic.actor,
                    entry_date=date(2027, 2, 21))
    biller = UserFactory(organization=clinic.organization, role=Role.BILLER)
    run = statement_run_create(actor=biller, organization=clinic.organization, statement_date=date(2027, 3, 9))
    statement_run_start(actor=biller, run=run)
    statement_run_execute(run_id=run.pk)
    clinic.account, clinic.daughter, clinic.statement = account, daughter, Statement.objects.get(run=run, account=account)
    return clinic


def money(component) -> tuple:
    return component["type"], component["code"]["coding"][0]["code"], component["amount"]["value"]


def test_an_invoice_carries_the_statements_figures_to_the_cent(fhir, stated):
    # given the product's statement and its PDF
    statement = stated.statement
    text = pdf_text(statement_pdf_read(statement=statement))
    mother_name = f"{stated.patient.first_name} {stated.patient.last_name}"
    # when
    response = fhir.get(f"Invoice/{fhir_id(statement.public_id)}")
    valid(FhirInvoice, response)
    body = exact(response)
    # then the totals are the statement's amount due, and the PDF prints that amount
    assert body["totalNet"] == body["totalGross"] == {"value": statement.amount_due, "currency": "USD"}
    assert statement.amount_due == D("228.00") and "Amount due: $228.00" in text
    assert [money(c) for c in body["totalPriceComponent"]] == [
        ("informational", "previous_balance", statement.previous_balance), ("base", "new_charges", statement.new_charges),
        ("deduction", "insurance_adjusted", statement.insurance_adjusted), ("deduction", "payments", statement.payments),
        ("discount", "adjustments", statement.adjustments)]
    assert "$0.00 $288.00 $0.00 $50.00 $10.00 $228.00" in text  # the summary row of the PDF
    # one line per service row of the PDF, each column a price component
    rows = [row for group in statement.figures["patients"] for row in group["rows"]]
    assert len(body["lineItem"]) == len(rows) == 3
    assert [line["sequence"] for line in body["lineItem"]] == [1, 2, 3]
    (visit_line,) = [line for line in body["lineItem"] if "99213" in line["chargeItemCodeableConcept"]["text"]]
    assert visit_line["chargeItemCodeableConcept"]["text"] == f"2027-02-01 {mother_name}: 99213 Service 99213"
    assert [money(c) for c in visit_line["priceComponent"]] == [
        ("base", "charge", D("110.00")), ("deduction", "payments", D("50.00")), ("discount", "adjustments", D("10.00")),
        ("informational", "balance", D("50.00"))]
    assert "02/01/2027 99213 Service 99213 $110.00 $50.00 $10.00 $50.00" in text
    for line, row in zip(body["lineItem"], rows, strict=True):
        amounts = {c["code"]["coding"][0]["code"]: c["amount"]["value"] for c in line["priceComponent"]}
        assert amounts["balance"] == D(row["balance"]) and amounts.get("charge", D(0)) == D(row["charge"])
    assert sum((line["priceComponent"][-1]["amount"]["value"] for line in body["lineItem"]), D(0)) == statement.amount_due
    # who, when, by whom
    mother = stated.patient
    assert body["status"] == "issued" and body["type"] == {"text": "Patient statement"}
    assert body["subject"]["reference"] == body["recipient"]["reference"] == f"Patient/{mother.public_id}"
    assert body["date"] == "2027-03-09" and body["account"]["reference"] == f"Account/{fhir_id(stated.account.public_id)}"
    assert body["issuer"]["reference"] == f"Organization/{stated.organization.pk}"
    assert body["paymentTerms"] == "Please pay by 03/30/2027." and "Please pay by 03/30/2027" in text
    event = AuditEvent.objects.get(action="statement.viewed")
    assert event.patient_id == mother.pk and event.target_id == str(statement.pk) and event.channel == AuditChannel.API


def test_a_paid_statement_is_balanced_and_the_search_parameters(fhir, stated):
    statement = stated.statement
    invoice = fhir_id(statement.public_id)
    daughter = f"Patient/{stated.daughter.public_id}"
    account = f"Account/{fhir_id(stated.account.public_id)}"
    assert ids(fhir.get("Invoice", {"status": "issued"})) == [invoice]
    assert ids(fhir.get("Invoice", {"patient": daughter, "date": "2027-03-09", "account": account})) == [invoice]
    assert ids(fhir.get("Invoice", {"date": "lt2027-03-09"})) == []
    assert ids(fhir.get("Invoice", {"_id": invoice})) == [invoice]
    assert ids(fhir.get("Invoice", {"patient": PatientFactory(organization=stated.organization).public_id})) == []
    # when the rest is paid, the account owes nothing: the statement is balanced, its figures unchanged
    payment_post(account=stated.account, amount=str(statement.amount_due), method=PaymentMethod.CASH,
                 idempotency_key="p2", actor=stated.actor, received_on=date(2027, 3, 10))
    assert ids(fhir.get("Invoice", {"status": "balanced"})) == [invoice]
    assert ids(fhir.get("Invoice", {"status": "issued"})) == []
    body = exact(fhir.get(f"Invoice/{invoice}"))
    assert body["status"] == "balanced" and body["totalNet"]["value"] == D("228.00")
    assert AuditEvent.objects.filter(action="statement.listed", patient_id=stated.patient.pk).exists()


# --- every resource: another practice, roles, scopes, query counts, bulk export, the CapabilityStatement -----------


def _one_of_each(clinic: Clinic) -> dict[str, str]:
    prices(clinic.organization)
    account = account_for_patient(patient=clinic.patient)
    encounter = visit(clinic)
    return {"ChargeItem": f"{encounter.public_id}-1", "Account": fhir_id(account.public_id)}


def test_another_practices_charges_and_accounts_are_never_seen(fhir, clinic):
    other = Clinic.build()
    theirs = _one_of_each(other)
    _one_of_each(clinic)
    for resource, resource_id in theirs.items():
        assert fhir.get(f"{resource}/{resource_id}").status_code == 404
        assert resource_id not in ids(fhir.get(resource)) and ids(fhir.get(resource)) != []
        assert ids(fhir.get(resource, {"patient": other.patient.public_id})) == []
    assert not AuditEvent.objects.filter(patient_id=other.patient.pk, action__in=[
        "billing.charge_viewed", "billing.charge_listed", "billing.account_viewed", "billing.account_listed"]).exists()


def test_another_practices_statement_is_never_seen(fhir_as, stated):
    outsider = fhir_as(Clinic.build().actor, scopes=["user/*.read"])
    invoice = fhir_id(stated.statement.public_id)
    assert outsider.get(f"Invoice/{invoice}").status_code == 404
    assert ids(outsider.get("Invoice")) == [] and ids(outsider.get("Invoice", {"_id": invoice})) == []
    assert not AuditEvent.objects.filter(action__in=["statement.viewed", "statement.listed"]).exists()


@pytest.mark.parametrize("resource", ["ChargeItem", "Account", "Invoice"])
def test_roles_and_scopes_are_checked_and_refusals_audited(fhir_as, clinic, resource):
    # a nurse reads charts but not billing: every scope is not enough
    nurse = UserFactory(organization=clinic.organization, role=Role.NURSE)
    response = fhir_as(nurse, scopes=["user/*.read"]).get(resource)
    assert response.status_code == 403 and "does not allow read" in issues(response)[0]["diagnostics"]
    # the front desk with a token for patients only
    response = fhir_as(clinic.actor, scopes=["user/Patient.read"]).get(f"{resource}/x")
    assert response.status_code == 403 and f"user/{resource}.read" in issues(response)[0]["diagnostics"]
    assert AuditEvent.objects.filter(action="access.denied").count() == 2
    # with the scope
    assert fhir_as(clinic.actor, scopes=[f"user/{resource}.read"]).get(resource).status_code == 200


def _queries(fhir, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert fhir.get(path).status_code == 200
    return len(captured)


def test_a_page_costs_the_same_queries_whatever_its_size(fhir, stated, settings):
    clinic = stated
    fhir.get("Organization")  # the token's first use of the minute records it; the pages below are not the first
    few = {r: _queries(fhir, r) for r in ("ChargeItem", "Account", "Invoice")}
    # more patients, each on an account of their own or the family's, with charges and a second statement run
    for n in range(4):
        patient = PatientFactory(organization=clinic.organization, address_line1="1 Main St", postal_code="10001",
                                 email="")
        account = account_for_patient(patient=patient)
        if n % 2:
            AccountMember.objects.filter(patient=clinic.daughter).update(account=account)
        visit(clinic, patient, day=date(2027, 3, 2), services=(("99214", "25", 1, "1"), ("J1100", "", 2, "1")))
    biller = UserFactory(organization=clinic.organization, role=Role.BILLER)
    run = statement_run_create(actor=biller, organization=clinic.organization, statement_date=date(2027, 3, 10),
                               days_since_last=0)
    statement_run_start(actor=biller, run=run)
    statement_run_execute(run_id=run.pk)
    assert Statement.objects.count() > 2
    assert {r: _queries(fhir, r) for r in few} == few


def test_bulk_export_holds_them_and_audits_their_patients(stated, tmp_path):
    clinic = stated
    admin = UserFactory(organization=clinic.organization, role=Role.ADMINISTRATOR)
    result = fhir_export(actor=admin, organization=clinic.organization, outdir=tmp_path / "out",
                         types=["ChargeItem", "Account", "Invoice"])
    assert result.counts == {"ChargeItem": 3, "Account": 1, "Invoice": 1}
    for resource_type in result.counts:
        lines = (tmp_path / "out" / f"{resource_type}.ndjson").read_text().splitlines()
        for line in lines:
            resource = json.loads(line)
            get_fhir_model_class(resource_type).model_validate(resource)
            assert code_issues(resource) == []
    invoice = json.loads((tmp_path / "out" / "Invoice.ndjson").read_text(), parse_float=Decimal)
    assert invoice["totalNet"]["value"] == clinic.statement.amount_due
    exported = set(AuditEvent.objects.filter(action="patient.exported").values_list("patient_id", flat=True))
    assert exported == {clinic.patient.pk, clinic.daughter.pk}
    # a role that reads billing but may not export patients' data is refused
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        fhir_export(actor=clinic.actor, organization=clinic.organization, outdir=tmp_path / "no", types=["Invoice"])


def test_the_capability_statement_lists_them(fhir):
    body = valid(CapabilityStatement, fhir.get("metadata"))
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert {p["name"] for p in resources["ChargeItem"]["searchParam"]} >= {
        "_id", "patient", "entered-date", "occurrence", "code", "account"}
    assert {p["name"] for p in resources["Account"]["searchParam"]} >= {"_id", "patient", "status"}
    assert {p["name"] for p in resources["Invoice"]["searchParam"]} >= {"_id", "patient", "date", "status", "account"}
    assert all(i["code"] in ("read", "search-type") for r in ("ChargeItem", "Account", "Invoice")
               for i in resources[r]["interaction"])
