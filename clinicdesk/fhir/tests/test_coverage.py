"""Coverage: a patient's insurance (payer, member ID, subscriber, billing order, period, group, plan, card amounts),
validated against the R4B model; searched by patient, beneficiary, payor, identifier, status and id; every coverage
returned is audited as a read of the patient's data; never another practice's; a role without coverage is refused."""

from datetime import date
from decimal import Decimal

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.coverage import Coverage as FhirCoverage

from clinicdesk.core.choices import AuditChannel, Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.insurance.choices import SubscriberRelationship
from clinicdesk.insurance.tests.factories_coverage import CoverageFactory, PayerFactory, PlanFactory
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.tests.factories import Clinic

from .conftest import expressions, issues, valid

pytestmark = pytest.mark.django_db


def ids(response) -> set[str]:
    return {e["resource"]["id"] for e in valid(Bundle, response).get("entry", [])}


@pytest.fixture
def payer(clinic):
    return PayerFactory(organization=clinic.organization, name="Acme Health", payer_identifier="60054")


def test_a_coverage_held_by_a_parent(fhir, clinic, payer):
    # given a child covered as a dependant of her mother, secondary, with a group, a plan and card amounts
    plan = PlanFactory(payer=payer, name="Acme Gold")
    coverage = CoverageFactory(
        patient=clinic.patient, payer=payer, plan=plan, rank=2, relationship=SubscriberRelationship.CHILD,
        subscriber_first_name="Maria", subscriber_last_name="Lopez", subscriber_date_of_birth=date(1975, 4, 2),
        subscriber_sex="F", subscriber_address_line1="1 Elm St", subscriber_city="Riverside", subscriber_state="NY",
        subscriber_postal_code="10001", member_id="XQ1234567", group_number="GRP-77", group_name="Riverside Schools",
        effective_from=date(2026, 1, 1), effective_to=date(2027, 12, 31), copay=Decimal("25.00"),
        coinsurance_percent=Decimal("20.00"), deductible=Decimal("1500.00"),
    )
    # when
    body = valid(FhirCoverage, fhir.get(f"Coverage/{coverage.public_id}"))
    # then
    slug = clinic.organization.slug
    patient_ref = f"Patient/{clinic.patient.public_id}"
    assert body["status"] == "active" and body["order"] == 2
    assert body["beneficiary"]["reference"] == patient_ref
    assert body["subscriberId"] == "XQ1234567"
    assert body["identifier"][0]["value"] == "XQ1234567" and body["identifier"][0]["type"]["coding"][0]["code"] == "MB"
    assert body["identifier"][0]["system"] == f"urn:clinicdesk:{slug}:member-id"
    assert body["relationship"]["coding"] == [
        {"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "child"}]
    assert body["subscriber"] == {"reference": "#subscriber", "display": "Maria Lopez"}
    (mother,) = body["contained"]
    assert mother["resourceType"] == "RelatedPerson" and mother["id"] == "subscriber"
    assert mother["patient"] == {"reference": patient_ref} and mother["gender"] == "female"
    assert mother["name"] == [{"use": "official", "family": "Lopez", "given": ["Maria"]}]
    assert mother["birthDate"] == "1975-04-02" and mother["address"][0]["postalCode"] == "10001"
    assert body["payor"] == [{"identifier": {"system": f"urn:clinicdesk:{slug}:payer-id", "value": "60054"},
                              "display": "Acme Health"}]
    assert body["period"] == {"start": "2026-01-01", "end": "2027-12-31"}
    classes = {c["type"]["coding"][0]["code"]: c for c in body["class"]}
    assert classes["group"]["value"] == "GRP-77" and classes["group"]["name"] == "Riverside Schools"
    assert classes["plan"]["name"] == "Acme Gold"
    costs = {c["type"]["coding"][0]["code"]: c for c in body["costToBeneficiary"]}
    assert Decimal(str(costs["copay"]["valueMoney"]["value"])) == Decimal("25.00")
    assert costs["copay"]["valueMoney"]["currency"] == "USD"
    assert Decimal(str(costs["deductible"]["valueMoney"]["value"])) == Decimal("1500.00")
    assert costs["copaypct"]["valueQuantity"]["code"] == "%"
    assert Decimal(str(costs["copaypct"]["valueQuantity"]["value"])) == Decimal("20")


def test_the_patient_as_subscriber_and_an_ended_coverage(fhir, clinic, payer):
    coverage = CoverageFactory(patient=clinic.patient, payer=payer, is_active=False, copay=None)
    body = valid(FhirCoverage, fhir.get(f"Coverage/{coverage.public_id}"))
    assert body["status"] == "cancelled" and "contained" not in body and "costToBeneficiary" not in body
    assert body["subscriber"]["reference"] == f"Patient/{clinic.patient.public_id}"
    assert body["relationship"]["coding"][0]["code"] == "self"


def test_reading_a_coverage_is_audited_as_the_patients_data(fhir, clinic, payer):
    coverage = CoverageFactory(patient=clinic.patient, payer=payer)
    fhir.get(f"Coverage/{coverage.public_id}")
    event = AuditEvent.objects.get(action="insurance.coverage_viewed")
    assert event.patient_id == clinic.patient.pk and event.actor_id == clinic.actor.pk
    assert event.channel == AuditChannel.API and event.target_id == str(coverage.pk)


def test_search_audits_each_coverage_returned(fhir, clinic, payer):
    # given two patients with coverage, the second on two pages' worth
    other = PatientFactory(organization=clinic.organization)
    mine = CoverageFactory(patient=clinic.patient, payer=payer)
    CoverageFactory(patient=other, payer=payer, rank=1)
    CoverageFactory(patient=other, payer=payer, rank=2)
    # when the first page of one is asked for
    body = valid(Bundle, fhir.get("Coverage", {"_count": 2}))
    # then
    assert body["total"] == 3 and len(body["entry"]) == 2
    assert {link["relation"] for link in body["link"]} >= {"next", "last"}
    listed = AuditEvent.objects.filter(action="insurance.coverage_listed")
    assert listed.count() == 2 and all(e.channel == AuditChannel.API for e in listed)
    assert {e.target_id for e in listed} == {
        str(c.pk) for c in mine.__class__.objects.filter(public_id__in=[e["resource"]["id"] for e in body["entry"]])}
    assert all(e.patient_id is not None for e in listed)


def test_search_by_patient_beneficiary_payor_identifier_status_and_id(fhir, clinic, payer):
    other_payer = PayerFactory(organization=clinic.organization, payer_identifier="87726")
    other_patient = PatientFactory(organization=clinic.organization)
    a = CoverageFactory(patient=clinic.patient, payer=payer, member_id="AAA1")
    b = CoverageFactory(patient=clinic.patient, payer=other_payer, rank=2, member_id="BBB2", is_active=False)
    c = CoverageFactory(patient=other_patient, payer=other_payer, member_id="CCC3")
    slug = clinic.organization.slug
    patient = f"Patient/{clinic.patient.public_id}"
    assert ids(fhir.get("Coverage", {"patient": patient})) == {a.public_id, b.public_id}
    assert ids(fhir.get("Coverage", {"beneficiary": other_patient.public_id})) == {c.public_id}
    assert ids(fhir.get("Coverage", {"payor": "87726"})) == {b.public_id, c.public_id}
    assert ids(fhir.get("Coverage", {"payor:identifier": f"urn:clinicdesk:{slug}:payer-id|60054"})) == {a.public_id}
    assert ids(fhir.get("Coverage", {"payor:identifier": "urn:other|60054"})) == set()
    assert ids(fhir.get("Coverage", {"identifier": "CCC3"})) == {c.public_id}
    assert ids(fhir.get("Coverage", {"identifier": f"urn:clinicdesk:{slug}:member-id|AAA1"})) == {a.public_id}
    assert ids(fhir.get("Coverage", {"status": "cancelled"})) == {b.public_id}
    assert ids(fhir.get("Coverage", {"status": "active", "patient": patient})) == {a.public_id}
    assert ids(fhir.get("Coverage", {"status": "draft"})) == set()
    assert ids(fhir.get("Coverage", {"_id": f"{a.public_id},{c.public_id}"})) == {a.public_id, c.public_id}


@pytest.mark.parametrize(("params", "name"), [
    ({"status": "expired"}, "status"), ({"patient": "Practitioner/1"}, "patient"),
    ({"payor": "Organization/12"}, "payor"), ({"identifier": "urn:x|"}, "identifier"),
    ({"subscriber": "x"}, "subscriber"), ({"payor:missing": "true"}, "payor:missing"), ({"_count": "0"}, "_count"),
])
def test_bad_parameters_are_named(fhir, clinic, params, name):
    response = fhir.get("Coverage", params)
    assert response.status_code == 400 and expressions(response) == [name]
    assert not AuditEvent.objects.filter(action="insurance.coverage_listed").exists()


def test_another_practices_coverage_is_never_seen(fhir, clinic, payer):
    other = Clinic.build()
    theirs = CoverageFactory(patient=other.patient, payer=PayerFactory(organization=other.organization,
                                                                        payer_identifier="60054"))
    CoverageFactory(patient=clinic.patient, payer=payer)
    assert fhir.get(f"Coverage/{theirs.public_id}").status_code == 404
    assert ids(fhir.get("Coverage", {"payor": "60054"})) != set() and theirs.public_id not in ids(fhir.get("Coverage"))
    assert ids(fhir.get("Coverage", {"patient": other.patient.public_id})) == set()
    assert not AuditEvent.objects.filter(target_id=str(theirs.pk), action__startswith="insurance.").exists()


def test_a_merged_away_patients_coverage_is_not_served(fhir, clinic, payer):
    survivor = PatientFactory(organization=clinic.organization)
    merged = PatientFactory(organization=clinic.organization, merged_into=survivor)
    coverage = CoverageFactory(patient=merged, payer=payer)
    assert fhir.get(f"Coverage/{coverage.public_id}").status_code == 404


def test_scopes_and_roles_are_checked_and_refusals_audited(fhir_as, clinic, payer):
    coverage = CoverageFactory(patient=clinic.patient, payer=payer)
    # a token for appointments only
    response = fhir_as(clinic.actor, scopes=["user/Appointment.read"]).get(f"Coverage/{coverage.public_id}")
    assert response.status_code == 403 and "user/Coverage.read" in issues(response)[0]["diagnostics"]
    # a nurse sees charts but not insurance: every scope is not enough
    nurse = UserFactory(organization=clinic.organization, role=Role.NURSE)
    assert fhir_as(nurse, scopes=["user/*.read"]).get("Coverage").status_code == 403
    denied = AuditEvent.objects.filter(action="access.denied")
    assert denied.count() == 2
    assert not AuditEvent.objects.filter(action__startswith="insurance.coverage").exists()
    # the front desk with the scope reads it
    assert fhir_as(clinic.actor, scopes=["user/Coverage.read"]).get(f"Coverage/{coverage.public_id}").status_code == 200


def test_a_page_costs_the_same_queries_whatever_its_size(fhir, clinic, payer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add_coverages(count):
        for _ in range(count):
            CoverageFactory(patient=PatientFactory(organization=clinic.organization), payer=payer,
                            plan=PlanFactory(payer=payer), group_number="G1")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert fhir.get("Coverage").status_code == 200
        return len(captured)

    fhir.get("Organization")  # the token's first use of the minute records it; the pages below are not the first
    add_coverages(1)
    few = queries()
    add_coverages(5)
    assert queries() == few
