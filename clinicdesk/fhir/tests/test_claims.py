"""Claim and ExplanationOfBenefit: claims built by the insurance services and payments posted from real 835s, mapped
and validated against the R4B models; money exact to the cent; searched by their parameters and paged; every row
returned audited as a read of the patient's data; never another practice's; refused without the claims permission or
the scope; a page costs the same queries whatever its size; both in the bulk export."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim as FhirClaim
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit as FhirEob

from clinicdesk.billing.services.charges import ServiceInput, encounter_code, encounter_create, encounter_post
from clinicdesk.core.choices import AuditChannel, Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.fhir.exporting import fhir_export
from clinicdesk.insurance.choices import ClaimStatus
from clinicdesk.insurance.models import Claim, RemittanceClaim
from clinicdesk.insurance.services.claims import claims_build
from clinicdesk.insurance.services.remittances import remittance_import
from clinicdesk.insurance.tests import remittances_world
from clinicdesk.insurance.tests.claims_world import DAY, ClaimsWorld
from clinicdesk.insurance.x12.records import Adjustment
from clinicdesk.insurance.x12.x835 import ClaimPayment, ServiceLinePayment, write_835
from clinicdesk.scheduling.tests.factories import Clinic

from .conftest import expressions, issues, valid

pytestmark = pytest.mark.django_db

CPT = "http://www.ama-assn.org/go/cpt"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CARIN = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
CARC = "https://x12.org/codes/claim-adjustment-reason-codes"


def exact(response) -> dict:
    """The body with every JSON number read as a Decimal from its text: what a careful client sees."""
    return json.loads(response.content, parse_float=Decimal)


def ids(response) -> list[str]:
    return [e["resource"]["id"] for e in valid(Bundle, response).get("entry", [])]


def amounts(adjudications: list[dict]) -> dict[str, Decimal]:
    return {a["category"]["coding"][0]["code"]: a["amount"]["value"] for a in adjudications}


@pytest.fixture
def world(clinic):
    return ClaimsWorld(clinic.organization)


@pytest.fixture
def billing(fhir_as, world):
    """The practice's biller, who sees charts and claims, with every scope."""
    return fhir_as(world.biller)


def coded_claim(world, patient=None) -> Claim:
    """A claim the insurance services build from a coded, posted visit: two diagnoses, an office visit with modifier
    25 priced by hand at 125.50 pointing at both, and two venipunctures from the fee schedule pointing at the second."""
    encounter = encounter_create(patient=patient or world.patient, provider=world.provider, location=world.location,
                                 service_date=DAY, actor=world.provider)
    encounter_code(encounter=encounter, actor=world.provider, diagnoses=["E11.9", "I10"], services=[
        ServiceInput(code="99214", modifiers="25", pointers="1,2", unit_price=Decimal("125.50")),
        ServiceInput(code="36415", units=2, pointers="2")])
    encounter_post(encounter=encounter, actor=world.biller)
    [claim] = claims_build(actor=world.biller, encounters=[encounter])
    return claim


def sent_claims(world, count: int, *, patients=None, lines=remittances_world.LINES) -> list[Claim]:
    """`count` submitted claims of the practice's payer (bulk-built, with their charges posted)."""
    return remittances_world.claims_build(world.org, payer=world.payer, provider=world.provider,
                                          patients=patients or [world.patient], count=count, lines=lines)


def post_835(world, payments, *, trace: str = "EFT5550001", control: int = 1) -> None:
    remit = remittances_world.remit_835(payments, payer=world.payer, trace=trace, method="CHK")
    remittance_import(organization=world.org, content=write_835([remit], envelope=remittances_world.envelope(control)),
                      file_name=f"{trace}.835", actor=world.biller)


def paid_and_denied(claim: Claim) -> ClaimPayment:
    """The office visit allowed at 108.00 (CO-45 12.00) with 20.00 coinsurance; the venipuncture denied (CO-97)."""
    return ClaimPayment(
        claim_id=claim.claim_number, status="1", charge=Decimal("140.00"), paid=Decimal("88.00"),
        patient_responsibility=Decimal("20.00"), payer_claim_control_number="ICN7001", filing_indicator="12", patient_last_name="RIVERA",
        patient_first_name="ANA", lines=[
            ServiceLinePayment("99213", Decimal("120.00"), Decimal("88.00"), service_from=DAY, allowed=Decimal("108.00"),
                               adjustments=[Adjustment("CO", "45", Decimal("12.00")), Adjustment("PR", "2", Decimal("20.00"))]),
            ServiceLinePayment("36415", Decimal("20.00"), Decimal("0"), service_from=DAY, allowed=Decimal("0"),
                               adjustments=[Adjustment("CO", "97", Decimal("20.00"))]),
        ])


def eob_of(claim: Claim) -> str:
    return f"{claim.public_id}-{RemittanceClaim.objects.filter(claim=claim).latest('id').pk}"


# --- Claim -------------------------------------------------------------------------------------------------


def test_a_built_claim_with_two_lines_and_two_diagnoses(billing, world):
    claim = coded_claim(world)
    response = billing.get(f"Claim/{claim.public_id}")
    body = valid(FhirClaim, response)
    slug = world.org.slug
    assert body["status"] == "draft" and body["use"] == "claim"
    assert body["type"]["coding"][0]["code"] == "professional"
    assert body["identifier"] == [{"use": "official", "system": f"urn:clinicdesk:{slug}:claim-number",
                                   "value": claim.claim_number}]
    assert body["patient"]["reference"] == f"Patient/{world.patient.public_id}"
    assert body["provider"]["reference"] == f"Organization/{world.org.pk}"
    assert body["insurer"] == {"identifier": {"system": f"urn:clinicdesk:{slug}:payer-id", "value": "ACME1"},
                               "display": "Acme Health"}
    assert body["priority"]["coding"][0]["code"] == "normal"
    coverage = world.patient.coverages.get()
    assert body["insurance"] == [{"sequence": 1, "focal": True, "coverage": {"reference": f"Coverage/{coverage.public_id}"}}]
    assert body["created"] == "2027-03-10T07:00:00-05:00"  # the site's clock
    assert body["billablePeriod"] == {"start": "2026-11-02", "end": "2026-11-02"}
    assert body["careTeam"][0]["provider"]["reference"] == f"Practitioner/{world.provider.pk}"
    assert [(d["sequence"], d["diagnosisCodeableConcept"]["coding"][0]) for d in body["diagnosis"]] == [
        (1, {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"}),
        (2, {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"})]
    visit, draws = body["item"]
    assert visit["sequence"] == 1 and visit["diagnosisSequence"] == [1, 2] and visit["careTeamSequence"] == [1]
    assert visit["productOrService"]["coding"] == [{"system": CPT, "code": "99214"}]
    assert visit["modifier"] == [{"coding": [{"system": CPT, "code": "25"}]}]
    assert visit["servicedDate"] == "2026-11-02" and visit["locationCodeableConcept"]["coding"][0]["code"] == "11"
    assert draws["sequence"] == 2 and draws["diagnosisSequence"] == [2] and "modifier" not in draws
    # money: exact to the cent, in dollars
    money = exact(response)
    assert money["item"][0]["net"] == {"value": Decimal("125.50"), "currency": "USD"}
    assert money["item"][1]["quantity"]["value"] == 2
    assert money["item"][1]["unitPrice"]["value"] == Decimal("18.00") and money["item"][1]["net"]["value"] == Decimal("36")
    assert money["total"] == {"value": Decimal("161.50"), "currency": "USD"}


def test_cents_add_up_exactly_and_hcpcs_codes_are_told_apart(billing, world):
    [claim] = sent_claims(world, 1, lines=(("G0439", "GT", Decimal("0.10")), ("J1100", "", Decimal("0.20"))))
    response = billing.get(f"Claim/{claim.public_id}")
    valid(FhirClaim, response)
    assert b"0.30000000000000004" not in response.content
    body = exact(response)
    assert body["total"]["value"] == Decimal("0.30")
    hcpcs = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
    assert body["item"][0]["productOrService"]["coding"] == [{"system": hcpcs, "code": "G0439"}]
    assert body["item"][0]["modifier"] == [{"coding": [{"system": hcpcs, "code": "GT"}]}]


@pytest.mark.parametrize(("ours", "sent", "fhir"), [
    (ClaimStatus.DRAFT, False, "draft"), (ClaimStatus.SCRUBBED, False, "draft"), (ClaimStatus.SUBMITTED, True, "active"),
    (ClaimStatus.REJECTED, True, "active"), (ClaimStatus.DENIED, True, "active"), (ClaimStatus.PAID, True, "active"),
    (ClaimStatus.APPEALED, True, "active"), (ClaimStatus.CLOSED, True, "active"), (ClaimStatus.CLOSED, False, "cancelled"),
])
def test_claim_statuses_map_to_fm_status_and_search_alike(billing, world, ours, sent, fhir):
    [claim, _other] = sent_claims(world, 2)
    Claim.objects.filter(pk=claim.pk).update(status=ours, submitted_at=datetime(2026, 11, 3, tzinfo=UTC) if sent else None)
    assert valid(FhirClaim, billing.get(f"Claim/{claim.public_id}"))["status"] == fhir
    assert claim.public_id in ids(billing.get("Claim", {"status": fhir}))
    others = [s for s in ("active", "draft", "cancelled", "entered-in-error") if s != fhir]
    assert claim.public_id not in ids(billing.get("Claim", {"status": ",".join(others)}))


def test_claim_search_by_patient_identifier_created_use_and_id(billing, world):
    second = world.new_patient("Okafor")
    a, b = sent_claims(world, 2)
    [c] = sent_claims(world, 1, patients=[second])
    Claim.objects.filter(pk=a.pk).update(created_at=datetime(2027, 1, 15, 15, tzinfo=UTC))
    Claim.objects.filter(pk=b.pk).update(created_at=datetime(2027, 2, 1, 4, tzinfo=UTC))  # Jan 31 in New York
    slug = world.org.slug
    assert set(ids(billing.get("Claim", {"patient": f"Patient/{world.patient.public_id}"}))) == {a.public_id, b.public_id}
    assert ids(billing.get("Claim", {"patient": second.public_id})) == [c.public_id]
    assert ids(billing.get("Claim", {"identifier": b.claim_number})) == [b.public_id]
    assert ids(billing.get("Claim", {"identifier": f"urn:clinicdesk:{slug}:claim-number|{c.claim_number}"})) == [c.public_id]
    assert ids(billing.get("Claim", {"identifier": f"urn:elsewhere|{c.claim_number}"})) == []
    assert ids(billing.get("Claim", {"created": "2027-01"})) == [b.public_id, a.public_id]
    assert ids(billing.get("Claim", [("created", "ge2027-01-20"), ("created", "lt2027-03-01")])) == [b.public_id]
    assert ids(billing.get("Claim", {"created": "gt2027-01-31"})) == [c.public_id]
    assert ids(billing.get("Claim", {"created": "le2027-01-15"})) == [a.public_id]
    assert len(ids(billing.get("Claim", {"use": "claim"}))) == 3
    assert ids(billing.get("Claim", {"use": "preauthorization"})) == []
    assert set(ids(billing.get("Claim", {"_id": f"{a.public_id},{c.public_id}"}))) == {a.public_id, c.public_id}


def test_claim_search_pages_and_audits_each_claim_returned(billing, world):
    claims = sent_claims(world, 3)
    body = valid(Bundle, billing.get("Claim", {"_count": 2}))
    assert body["total"] == 3 and len(body["entry"]) == 2
    assert {link["relation"] for link in body["link"]} >= {"next", "last"}
    second = valid(Bundle, billing.get("Claim", {"_count": 2, "_page": 2}))
    assert len(second["entry"]) == 1
    seen = {e["resource"]["id"] for e in body["entry"] + second["entry"]}
    assert seen == {c.public_id for c in claims}
    listed = AuditEvent.objects.filter(action="claim.listed")
    assert listed.count() == 3
    assert {(e.channel, e.patient_id, e.actor_id) for e in listed} == {
        (AuditChannel.API, world.patient.pk, world.biller.pk)}


def test_reading_a_claim_is_audited_as_the_patients_data(billing, world):
    [claim] = sent_claims(world, 1)
    billing.get(f"Claim/{claim.public_id}")
    event = AuditEvent.objects.get(action="claim.viewed")
    assert (event.patient_id, event.channel, event.target_id) == (world.patient.pk, AuditChannel.API, str(claim.pk))


# --- ExplanationOfBenefit ----------------------------------------------------------------------------------


def test_an_eob_with_a_paid_and_a_denied_line(billing, world):
    # given a claim of two services, one paid with coinsurance, one denied, posted from an 835
    [claim] = sent_claims(world, 1)
    post_835(world, [paid_and_denied(claim)])
    # when
    response = billing.get(f"ExplanationOfBenefit/{eob_of(claim)}")
    # then
    body = valid(FhirEob, response)
    slug = world.org.slug
    assert body["status"] == "active" and body["use"] == "claim" and body["outcome"] == "partial"
    assert body["type"]["coding"][0]["code"] == "professional" and body["disposition"] == "Processed as primary"
    assert body["claim"]["reference"] == f"Claim/{claim.public_id}"
    assert body["patient"]["reference"] == f"Patient/{world.patient.public_id}"
    assert body["provider"]["reference"] == f"Organization/{world.org.pk}"
    assert body["insurer"]["identifier"]["value"] == "ACME1"
    assert body["insurance"] == [{"focal": True, "coverage": {"reference": f"Coverage/{claim.coverage.public_id}"}}]
    assert body["identifier"] == [{"use": "official", "system": f"urn:clinicdesk:{slug}:payer-claim-number",
                                   "value": "ICN7001"}]
    money = exact(response)
    visit, draw = money["item"]
    assert (visit["sequence"], draw["sequence"]) == (1, 2)
    assert visit["productOrService"]["coding"][0]["code"] == "99213" and visit["servicedDate"] == "2026-11-02"
    assert amounts(visit["adjudication"]) == {"submitted": Decimal("120"), "eligible": Decimal("108"),
                                              "benefit": Decimal("88"), "noncovered": Decimal("12"),
                                              "coinsurance": Decimal("20")}
    reasons = {a["category"]["coding"][0]["code"]: a.get("reason") for a in visit["adjudication"]}
    assert reasons["coinsurance"]["coding"] == [{"system": CARC, "code": "2"}]
    assert reasons["coinsurance"]["text"].startswith("PR-2: ")
    assert reasons["noncovered"]["coding"] == [{"system": CARC, "code": "45"}]
    assert {a["category"]["coding"][0]["system"] for a in visit["adjudication"]} == {ADJUDICATION, CARIN}
    assert amounts(draw["adjudication"]) == {"submitted": Decimal("20"), "eligible": Decimal("0"), "benefit": Decimal("0"),
                                             "noncovered": Decimal("20")}
    assert draw["adjudication"][-1]["reason"]["coding"][0]["code"] == "97"
    assert amounts(money["total"]) == {"submitted": Decimal("140"), "eligible": Decimal("108"), "benefit": Decimal("88"),
                                       "noncovered": Decimal("32"), "coinsurance": Decimal("20")}
    assert money["payment"] == {"date": "2026-11-20", "amount": {"value": Decimal("88"), "currency": "USD"},
                                "identifier": {"system": f"urn:clinicdesk:{slug}:remittance-trace",
                                               "value": "EFT5550001"}}


def test_eob_cents_add_up_exactly(billing, world):
    lines = (("99213", "", Decimal("125.50")), ("36415", "", Decimal("0.30")))
    [claim] = sent_claims(world, 1, lines=lines)
    post_835(world, [ClaimPayment(
        claim_id=claim.claim_number, status="1", charge=Decimal("125.80"), paid=Decimal("125.50"),
        patient_responsibility=Decimal("0.30"), filing_indicator="12", lines=[
            ServiceLinePayment("99213", Decimal("125.50"), Decimal("125.40"), service_from=DAY,
                               adjustments=[Adjustment("PR", "2", Decimal("0.10"))]),
            ServiceLinePayment("36415", Decimal("0.30"), Decimal("0.10"), service_from=DAY,
                               adjustments=[Adjustment("PR", "2", Decimal("0.20"))]),
        ])])
    response = billing.get(f"ExplanationOfBenefit/{eob_of(claim)}")
    valid(FhirEob, response)
    assert b"0.30000000000000004" not in response.content
    body = exact(response)
    assert amounts(body["total"]) == {"submitted": Decimal("125.80"), "eligible": Decimal("125.80"),
                                      "benefit": Decimal("125.50"), "coinsurance": Decimal("0.30")}
    assert body["item"][0]["net"]["value"] == Decimal("125.50") and body["outcome"] == "complete"


def test_a_denied_claim_is_an_error_and_a_reversed_payment_is_cancelled(billing, world):
    denied, reversed_ = sent_claims(world, 2)
    denial = dataclasses.replace(paid_and_denied(denied), status="4", paid=Decimal("0"), patient_responsibility=Decimal("0"),
                                 lines=[], adjustments=[Adjustment("CO", "50", Decimal("140.00"))])
    first = remittances_world.payment_for(reversed_)
    post_835(world, [denial, first])
    reversal = dataclasses.replace(
        first, status="22", charge=-first.charge, paid=-first.paid, patient_responsibility=-first.patient_responsibility,
        lines=[dataclasses.replace(s, charge=-s.charge, paid=-s.paid,
                                   adjustments=[dataclasses.replace(a, amount=-a.amount) for a in s.adjustments])
               for s in first.lines])
    post_835(world, [reversal], trace="EFT5550002", control=2)
    # the denial: no service allowed
    body = valid(FhirEob, billing.get(f"ExplanationOfBenefit/{eob_of(denied)}"))
    assert body["outcome"] == "error" and body["status"] == "active" and "item" not in body
    assert body["adjudication"][0]["reason"]["coding"][0]["code"] == "50"
    # the payment taken back, and the reversal itself
    taken_back = f"{reversed_.public_id}-{RemittanceClaim.objects.filter(claim=reversed_).earliest('id').pk}"
    assert valid(FhirEob, billing.get(f"ExplanationOfBenefit/{taken_back}"))["status"] == "cancelled"
    reversal_body = valid(FhirEob, billing.get(f"ExplanationOfBenefit/{eob_of(reversed_)}"))
    assert reversal_body["status"] == "active" and reversal_body["outcome"] == "complete"
    assert ids(billing.get("ExplanationOfBenefit", {"status": "cancelled"})) == [taken_back]
    assert len(ids(billing.get("ExplanationOfBenefit", {"status": "active"}))) == 2
    assert ids(billing.get("ExplanationOfBenefit", {"status": "draft"})) == []


def test_eob_search_by_patient_claim_created_and_id_audits_each_one(billing, world):
    second = world.new_patient("Okafor")
    a, b = sent_claims(world, 2)
    [c] = sent_claims(world, 1, patients=[second])
    post_835(world, [remittances_world.payment_for(x) for x in (a, b, c)])
    ea, eb, ec = eob_of(a), eob_of(b), eob_of(c)
    assert set(ids(billing.get("ExplanationOfBenefit", {"patient": f"Patient/{world.patient.public_id}"}))) == {ea, eb}
    assert ids(billing.get("ExplanationOfBenefit", {"claim": f"Claim/{c.public_id}"})) == [ec]
    assert set(ids(billing.get("ExplanationOfBenefit", {"_id": f"{ea},{ec}"}))) == {ea, ec}
    assert ids(billing.get("ExplanationOfBenefit", {"_id": "nonsense"})) == []
    assert len(ids(billing.get("ExplanationOfBenefit", {"created": "2027-03-10"}))) == 3
    assert ids(billing.get("ExplanationOfBenefit", {"created": "lt2027-03-10"})) == []
    before = AuditEvent.objects.latest("id").pk
    body = valid(Bundle, billing.get("ExplanationOfBenefit", {"_count": 2}))
    assert body["total"] == 3 and len(body["entry"]) == 2 and any(link["relation"] == "next" for link in body["link"])
    listed = AuditEvent.objects.filter(action="remittance.listed", pk__gt=before)
    assert listed.count() == 2 and all(e.channel == AuditChannel.API and e.patient_id for e in listed)
    billing.get(f"ExplanationOfBenefit/{ec}")
    viewed = AuditEvent.objects.get(action="remittance.viewed")
    assert (viewed.patient_id, viewed.actor_id) == (second.pk, world.biller.pk)


@pytest.mark.parametrize(("resource", "params", "name"), [
    ("Claim", {"status": "paid"}, "status"), ("Claim", {"use": "bill"}, "use"), ("Claim", {"created": "2027-13"}, "created"),
    ("Claim", {"created": "sa2027-01-01"}, "created"), ("Claim", {"patient": "Practitioner/1"}, "patient"),
    ("Claim", {"payer": "ACME1"}, "payer"), ("Claim", {"identifier": "urn:x|"}, "identifier"),
    ("ExplanationOfBenefit", {"claim": "Patient/abc"}, "claim"), ("ExplanationOfBenefit", {"status": "paid"}, "status"),
    ("ExplanationOfBenefit", {"outcome": "complete"}, "outcome"), ("ExplanationOfBenefit", {"_count": "0"}, "_count"),
])
def test_bad_parameters_are_named(billing, world, resource, params, name):
    sent_claims(world, 1)
    response = billing.get(resource, params)
    assert response.status_code == 400 and expressions(response) == [name]
    assert not AuditEvent.objects.filter(action__in=("claim.listed", "remittance.listed")).exists()


# --- who may see them --------------------------------------------------------------------------------------


def test_another_practices_claims_and_payments_are_never_seen(billing, world):
    other = ClaimsWorld(Clinic.build().organization)
    [theirs] = sent_claims(other, 1)
    post_835(other, [remittances_world.payment_for(theirs)])
    [mine] = sent_claims(world, 1)
    their_eob = eob_of(theirs)
    assert billing.get(f"Claim/{theirs.public_id}").status_code == 404
    assert billing.get(f"ExplanationOfBenefit/{their_eob}").status_code == 404
    assert ids(billing.get("Claim")) == [mine.public_id]
    assert theirs.claim_number == mine.claim_number  # numbered per practice: the same number, only ours found
    assert ids(billing.get("Claim", {"identifier": theirs.claim_number})) == [mine.public_id]
    assert ids(billing.get("ExplanationOfBenefit")) == []
    assert ids(billing.get("ExplanationOfBenefit", {"patient": other.patient.public_id})) == []
    assert not AuditEvent.objects.filter(actor=world.biller, patient_id=other.patient.pk).exists()


def test_roles_and_scopes_are_checked_and_refusals_audited(fhir_as, clinic, world):
    [claim] = sent_claims(world, 1)
    post_835(world, [remittances_world.payment_for(claim)])
    # the front desk sees charts and coverage but not claims: every scope is not enough
    for path in (f"Claim/{claim.public_id}", "Claim", f"ExplanationOfBenefit/{eob_of(claim)}", "ExplanationOfBenefit"):
        response = fhir_as(clinic.actor, scopes=["user/*.read"]).get(path)
        assert response.status_code == 403 and "does not allow read" in issues(response)[0]["diagnostics"]
    # a biller's token for coverage only
    response = fhir_as(world.biller, scopes=["user/Coverage.read"]).get("Claim")
    assert response.status_code == 403 and "user/Claim.read" in issues(response)[0]["diagnostics"]
    response = fhir_as(world.biller, scopes=["user/Claim.read"]).get("ExplanationOfBenefit")
    assert response.status_code == 403 and "user/ExplanationOfBenefit.read" in issues(response)[0]["diagnostics"]
    assert AuditEvent.objects.filter(action="access.denied").count() == 6
    assert not AuditEvent.objects.filter(action__in=("claim.viewed", "claim.listed", "remittance.viewed",
                                                     "remittance.listed")).exists()
    # with the scope, the biller reads them
    assert fhir_as(world.biller, scopes=["user/Claim.read"]).get(f"Claim/{claim.public_id}").status_code == 200


def test_the_capability_statement_lists_both(fhir):
    body = fhir.get("metadata").json()
    served = {r["type"]: {p["name"] for p in r["searchParam"]} for r in body["rest"][0]["resource"]}
    assert served["Claim"] >= {"_id", "patient", "created", "status", "use", "identifier"}
    assert served["ExplanationOfBenefit"] >= {"_id", "patient", "claim", "created", "status"}


# --- cost and export ---------------------------------------------------------------------------------------


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_a_page_costs_the_same_queries_whatever_its_size(billing, world):
    billing.get("Organization")  # the token's first use of the minute records it; the pages below are not the first
    patients = [world.patient, world.new_patient("Okafor")]
    post_835(world, [remittances_world.payment_for(c) for c in sent_claims(world, 1, patients=patients)])
    few = (_queries(billing, "Claim"), _queries(billing, "ExplanationOfBenefit"))
    more = sent_claims(world, 6, patients=patients)
    post_835(world, [remittances_world.payment_for(c) for c in more], trace="EFT5550002", control=2)
    assert (_queries(billing, "Claim"), _queries(billing, "ExplanationOfBenefit")) == few


def test_the_bulk_export_holds_claims_and_payments_with_their_patients(world, tmp_path):
    from .test_export import read_lines

    admin = UserFactory(organization=world.org, role=Role.ADMINISTRATOR)
    claims = sent_claims(world, 2)
    post_835(world, [paid_and_denied(claims[0])])
    other = ClaimsWorld(Clinic.build().organization)
    [theirs] = sent_claims(other, 1)
    post_835(other, [remittances_world.payment_for(theirs)])
    result = fhir_export(actor=admin, organization=world.org, outdir=tmp_path / "export",
                         types=["Claim", "ExplanationOfBenefit"])
    assert result.counts == {"Claim": 2, "ExplanationOfBenefit": 1} and result.patients == 1
    exported = read_lines(tmp_path / "export" / "Claim.ndjson")
    assert {r["id"] for r in exported} == {c.public_id for c in claims}
    [eob] = read_lines(tmp_path / "export" / "ExplanationOfBenefit.ndjson")
    assert eob["id"] == eob_of(claims[0]) and eob["outcome"] == "partial"
    assert theirs.public_id not in (tmp_path / "export" / "Claim.ndjson").read_text()
    assert list(AuditEvent.objects.filter(action="patient.exported").values_list("patient_id", flat=True)) == [
        world.patient.pk]
