"""`import_fhir`: hand-written bundles that test each rule without ../shared, and the ten Synthea bundles of
../shared/data/synthea when they are there (skipped, saying why, when not)."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.models import Encounter, ServiceLine
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent, Location, User
from clinicdesk.core.tests.factories import OrganizationFactory, UserFactory
from clinicdesk.fhir.importing import bundle_import, paths_import
from clinicdesk.fhir.models import ImportedResource
from clinicdesk.insurance.choices import ClaimStatus
from clinicdesk.insurance.models import Claim, ClaimLine, Coverage, Payer
from clinicdesk.insurance.selectors.claims import ready_to_bill
from clinicdesk.ledger.choices import PartyKind
from clinicdesk.ledger.models import JournalEntry, JournalLine, OpenItem
from clinicdesk.ledger.reports import books_integrity
from clinicdesk.ledger.selectors import item_balances
from clinicdesk.patients.models import Patient

# ../shared/data beside the checkout; CLINICDESK_SHARED_DATA overrides it (as for the other shared-data tests).
SYNTHEA = Path(os.environ.get("CLINICDESK_SHARED_DATA") or Path(settings.BASE_DIR).parent / "shared" / "data") / "synthea"
NPI = "http://hl7.org/fhir/sid/us-npi"
SYN = "https://github.com/synthetichealth/synthea"
BB = "https://bluebutton.cms.gov/resources/variables/"

ROW_MODELS = (Patient, Payer, Coverage, User, Location, Encounter, ServiceLine, Claim, ClaimLine, OpenItem,
              JournalEntry, JournalLine, ImportedResource, AuditEvent)


def adjudication(code: str, value: float) -> dict:
    return {"category": {"coding": [{"system": "https://bluebutton.cms.gov/resources/codesystem/adjudication",
                                     "code": BB + code}]}, "amount": {"value": value, "currency": "USD"}}


def small_bundle() -> dict:
    """One patient, one visit billed by a claim (a SNOMED visit line, a CVX vaccine, a CPT service) and its answer."""
    patient = "urn:uuid:aaaaaaaa-0000-0000-0000-000000000001"
    encounter = "urn:uuid:aaaaaaaa-0000-0000-0000-000000000002"
    claim = "urn:uuid:aaaaaaaa-0000-0000-0000-000000000003"
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": patient, "resource": {
            "resourceType": "Patient", "id": "aaaaaaaa-0000-0000-0000-000000000001",
            "name": [{"use": "official", "family": "Okafor", "given": ["Ada", "Nkem"], "prefix": ["Ms."]}],
            "telecom": [{"system": "phone", "value": "555-301-2244", "use": "home"},
                        {"system": "email", "value": "Ada@Example.org"}],
            "gender": "female", "birthDate": "1980-04-02",
            "address": [{"line": ["12 Elm St"], "city": "Boston", "state": "MA", "postalCode": "02118", "country": "US"}],
            "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]}}]}},
        {"fullUrl": encounter, "resource": {
            "resourceType": "Encounter", "id": "aaaaaaaa-0000-0000-0000-000000000002", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": patient},
            "participant": [{"type": [{"coding": [{"code": "PPRF"}]}],
                             "individual": {"reference": f"Practitioner?identifier={NPI}|9999912345",
                                            "display": "Dr. Lena Marsh"}}],
            "period": {"start": "2024-05-06T14:00:00+00:00", "end": "2024-05-06T14:20:00+00:00"},
            "location": [{"location": {"reference": f"Location?identifier={SYN}|loc-1", "display": "Harbor Clinic"}}],
            "serviceProvider": {"reference": f"Organization?identifier={SYN}|org-1", "display": "Harbor Clinic"}}},
        {"fullUrl": claim, "resource": {
            "resourceType": "Claim", "id": "aaaaaaaa-0000-0000-0000-000000000003", "status": "active",
            "type": {"coding": [{"code": "professional"}]}, "use": "claim", "patient": {"reference": patient},
            "created": "2024-05-06T14:20:00+00:00", "priority": {"coding": [{"code": "normal"}]},
            "provider": {"reference": f"Organization?identifier={SYN}|org-1"},
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Aetna"}}],
            "item": [
                {"sequence": 1, "productOrService": {"coding": [{"system": "http://snomed.info/sct", "code": "185349003",
                                                                 "display": "Encounter for check up"}]},
                 "encounter": [{"reference": encounter}]},
                {"sequence": 2, "productOrService": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140",
                                                                 "display": "Influenza, seasonal"}]},
                 "net": {"value": 140.52, "currency": "USD"}},
                {"sequence": 3, "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt",
                                                                 "code": "99213", "display": "Office visit"}]},
                 "net": {"value": 100.00, "currency": "USD"}}],
            "total": {"value": 320.52, "currency": "USD"}}},
        {"fullUrl": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000004", "resource": {
            "resourceType": "ExplanationOfBenefit", "id": "aaaaaaaa-0000-0000-0000-000000000004", "status": "active",
            "contained": [{"resourceType": "Coverage", "id": "coverage", "status": "active",
                           "beneficiary": {"reference": patient}, "payor": [{"display": "Aetna"}]}],
            "type": {"coding": [{"code": "professional"}]}, "use": "claim", "patient": {"reference": patient},
            "billablePeriod": {"start": "2024-05-06T14:20:00+00:00"}, "created": "2024-05-20T00:00:00+00:00",
            "insurer": {"display": "Aetna"}, "provider": {"reference": f"Practitioner?identifier={NPI}|9999912345"},
            "claim": {"reference": claim}, "outcome": "complete",
            "insurance": [{"focal": True, "coverage": {"reference": "#coverage"}}],
            "item": [
                {"sequence": 2, "productOrService": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}]},
                 "adjudication": [adjudication("line_prvdr_pmt_amt", 112.416),
                                  adjudication("line_alowd_chrg_amt", 140.52),
                                  adjudication("line_coinsrnc_amt", 28.104)]},
                {"sequence": 3, "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]},
                 "adjudication": [adjudication("line_prvdr_pmt_amt", 72.00),
                                  adjudication("line_alowd_chrg_amt", 90.00)]}],
            "total": [{"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": 320.52}}],
            "payment": {"amount": {"value": 184.42, "currency": "USD"}}}},
        {"fullUrl": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000005", "resource": {
            "resourceType": "Observation", "id": "aaaaaaaa-0000-0000-0000-000000000005", "status": "final",
            "code": {"text": "Body height"}, "subject": {"reference": patient}}},
    ]}


def books_balanced() -> None:
    """Every posted entry's lines sum to zero and to its total, summed here in Decimal, and `books_integrity`
    (which sums in the database) agrees."""
    nets: dict[int, Decimal] = {}
    debits: dict[int, Decimal] = {}
    for entry_id, amount in JournalLine.objects.values_list("entry_id", "amount"):
        nets[entry_id] = nets.get(entry_id, Decimal("0")) + amount
        debits[entry_id] = debits.get(entry_id, Decimal("0")) + max(amount, Decimal("0"))
    assert nets and set(nets.values()) == {Decimal("0")}
    for entry_id, total in JournalEntry.objects.values_list("id", "total"):
        assert debits.get(entry_id, Decimal("0")) == total, entry_id
    ok, message = books_integrity()
    assert ok, message


def text(bundle: dict) -> str:
    return json.dumps(bundle)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in ROW_MODELS}


@pytest.fixture
def practice(db):
    organization = OrganizationFactory(slug="harbor")
    admin = UserFactory(organization=organization, role=Role.ADMINISTRATOR, username="sam")
    return organization, admin


def run(practice, bundle, **kwargs):
    organization, admin = practice
    return bundle_import(text=bundle if isinstance(bundle, str) else text(bundle), name="small.json",
                         organization=organization, actor=admin, **kwargs)


# --- the hand-written bundle ---------------------------------------------------------------------------------


def test_small_bundle_creates_the_patient_visit_charges_and_payer_payment(practice):
    # when
    report = run(practice, small_bundle())
    # then
    assert report.refused == ""
    patient = Patient.objects.get()
    assert (patient.first_name, patient.middle_name, patient.last_name) == ("Ada", "Nkem", "Okafor")
    assert patient.email == "ada@example.org" and patient.phone_home == ""  # a 555 number is left out
    assert any("555-301-2244" in note for note in report.notes)
    encounter = Encounter.objects.get()
    assert encounter.status == EncounterStatus.POSTED and str(encounter.service_date) == "2024-05-06"
    lines = list(encounter.services.order_by("sequence"))
    # the SNOMED visit line is skipped; the CVX vaccine is held under its CPT code
    assert [(ln.procedure_code, ln.code_system, ln.amount) for ln in lines] == [
        ("90656", "CPT", Decimal("140.52")), ("99213", "CPT", Decimal("100.00"))]
    assert report.reasons[("claim lines", "SNOMED CT codes are not held on service lines (CPT and HCPCS only)")] == 1
    assert report.money["charges not imported (lines skipped)"] == Decimal("80.00")
    assert report.reasons[("Observation", "clinical record; clinicdesk keeps no chart (the sending EHR keeps it)")] == 1
    claim = Claim.objects.get()
    assert claim.status == ClaimStatus.PAID and claim.encounter == encounter
    assert (claim.paid_amount, claim.patient_responsibility) == (Decimal("184.42"), Decimal("46.10"))
    # the patient owes their share; the payer's items are settled; the unallowed 10.00 is written off
    balances = item_balances(item_ids=[ln.item_id for ln in lines])
    assert [balances[ln.item_id] for ln in lines] == [Decimal("28.10"), Decimal("18.00")]
    insurance = OpenItem.objects.filter(party_kind=PartyKind.INSURANCE)
    assert insurance.count() == 2 and set(item_balances(item_ids=[i.pk for i in insurance]).values()) == {Decimal("0")}
    books_balanced()
    # the encounter is never offered for billing again
    assert ready_to_bill(user=practice[1]) == []


def test_outside_parties_become_placeholders(practice):
    run(practice, small_bundle())
    provider = Encounter.objects.get().provider
    assert (provider.npi, provider.is_active, provider.role, provider.has_usable_password()) == (
        "9999912345", False, Role.CLINICIAN, False)
    assert (provider.first_name, provider.last_name) == ("Lena", "Marsh")
    location = Encounter.objects.get().location
    assert (location.name, location.is_active) == ("Harbor Clinic", False)
    payer = Payer.objects.get()
    assert (payer.name, payer.is_active, payer.payer_identifier) == ("Aetna", False, "IMP-AETNA")
    coverage = Coverage.objects.get()
    assert (coverage.payer, coverage.member_id, coverage.is_active) == (payer, "UNKNOWN", False)
    assert (str(coverage.effective_from), str(coverage.effective_to)) == ("2024-05-06", "2024-05-06")
    placeholders = ImportedResource.objects.filter(is_placeholder=True)
    assert set(placeholders.values_list("resource_type", "source_id")) == {
        ("Practitioner", f"{NPI}|9999912345"), ("Location", f"{SYN}|loc-1"), ("Organization", f"{SYN}|org-1"),
        ("Organization", "payer|aetna")}


def test_a_practitioner_in_the_bundle_is_used_for_the_references_to_it(practice):
    bundle = small_bundle()
    bundle["entry"] += [
        {"fullUrl": "urn:uuid:pr-1", "resource": {
            "resourceType": "Practitioner", "id": "pr-1", "identifier": [{"system": NPI, "value": "9999900001"}],
            "name": [{"family": "Ibarra", "given": ["Tomas"], "prefix": ["Dr."]}]}},
        {"fullUrl": "urn:uuid:role-1", "resource": {
            "resourceType": "PractitionerRole", "id": "role-1", "practitioner": {"reference": "urn:uuid:pr-1"}}},
    ]
    bundle["entry"][1]["resource"]["participant"][0]["individual"] = {"reference": "urn:uuid:pr-1"}
    report = run(practice, bundle)
    provider = Encounter.objects.get().provider
    assert (provider.npi, provider.first_name, provider.last_name, provider.is_active) == (
        "9999900001", "Tomas", "Ibarra", False)
    assert report.reasons[("PractitionerRole", "kept only as the visits and claims name it")] == 1


def test_the_practice_s_own_provider_and_payer_are_used(practice):
    organization, admin = practice
    own = UserFactory(organization=organization, role=Role.CLINICIAN, npi="9999912345")
    aetna = Payer.objects.create(organization=organization, name="AETNA", payer_identifier="60054")
    run(practice, small_bundle())
    assert Encounter.objects.get().provider == own
    assert Claim.objects.get().payer == aetna
    assert not User.objects.filter(npi="9999912345", is_active=False).exists()


def test_a_second_run_changes_nothing(practice):
    run(practice, small_bundle())
    before = row_counts()
    # when
    report = run(practice, small_bundle())
    # then
    assert row_counts() == before
    assert report.total("created") == 0 and report.total("updated") == 0
    assert report.reasons[("patients", "already imported, unchanged")] == 1
    assert report.reasons[("encounters", "already imported")] == 1
    assert report.reasons[("claim payments", "already imported")] == 1


def test_a_changed_patient_is_updated_and_audited_and_nothing_else_moves(practice):
    run(practice, small_bundle())
    bundle = small_bundle()
    bundle["entry"][0]["resource"]["address"][0]["city"] = "Quincy"
    before = row_counts()
    changes_before = AuditEvent.objects.filter(target_type="patients.patient").count()
    # when
    report = run(practice, bundle)
    # then
    assert report.count("updated", "patients") == 1
    assert Patient.objects.get().city == "Quincy"
    assert AuditEvent.objects.filter(target_type="patients.patient").count() > changes_before
    after = row_counts()
    assert {k: v for k, v in after.items() if k != "AuditEvent"} == {k: v for k, v in before.items() if k != "AuditEvent"}


def test_the_patient_creation_is_audited_with_the_actor(practice):
    run(practice, small_bundle())
    patient = Patient.objects.get()
    events = AuditEvent.objects.filter(patient_id=patient.pk)
    assert events.filter(actor_id=practice[1].pk).exists()
    assert set(events.values_list("action", flat=True)) >= {"encounter.imported", "claim.imported"}


def test_two_practices_import_the_same_bundle_each_into_their_own_records(practice):
    other = OrganizationFactory(slug="elsewhere")
    other_admin = UserFactory(organization=other, role=Role.ADMINISTRATOR)
    run(practice, small_bundle())
    # when
    report = bundle_import(text=text(small_bundle()), name="small.json", organization=other, actor=other_admin)
    # then
    assert report.refused == "" and report.count("created", "patients") == 1
    for organization in (practice[0], other):
        encounter = Encounter.objects.get(organization=organization)
        assert encounter.patient.organization == organization
        assert encounter.provider.organization == organization and encounter.location.organization == organization
        assert Claim.objects.get(organization=organization).payer.organization == organization
    assert ImportedResource.objects.filter(organization=other).count() == \
        ImportedResource.objects.filter(organization=practice[0]).count()


def test_dry_run_reports_and_saves_nothing(practice):
    before = row_counts()
    report = run(practice, small_bundle(), dry_run=True)
    assert report.count("created", "patients") == 1 and report.count("created", "encounters") == 1
    assert row_counts() == before


# --- bad input: a clear message and nothing written ------------------------------------------------------------


def _broken_reference():
    bundle = small_bundle()
    bundle["entry"][2]["resource"]["patient"] = {"reference": "urn:uuid:not-in-the-bundle"}
    return bundle


def _unknown_type():
    bundle = small_bundle()
    bundle["entry"][4]["resource"]["resourceType"] = "Observashun"
    return bundle


def _not_held():
    bundle = small_bundle()
    bundle["entry"].append({"fullUrl": "urn:uuid:x-invoice", "resource": {"resourceType": "Invoice", "id": "inv",
                                                                          "status": "issued"}})
    return bundle


def _invalid_field():
    bundle = small_bundle()
    bundle["entry"][0]["resource"]["birthDate"] = "1980-13-45"
    return bundle


def _valid_then_broken():
    bundle = small_bundle()
    bundle["entry"][3]["resource"]["item"][0]["adjudication"][0]["amount"]["value"] = "lots"
    return bundle


@pytest.mark.parametrize(("make", "expected"), [
    (lambda: '{"resourceType": "Bundle", "entry": [', "not valid JSON"),
    (lambda: text(_unknown_type()), "entry 4 (urn:uuid:aaaaaaaa-0000-0000-0000-000000000005), "
                                    "Bundle.entry[4].resource.resourceType: 'Observashun' is not a FHIR R4 resource type"),
    (lambda: text(_not_held()), "entry 5 (urn:uuid:x-invoice), Bundle.entry[5].resource.resourceType: "
                                "clinicdesk does not hold Invoice resources"),
    (lambda: text(_broken_reference()), "entry 2 (urn:uuid:aaaaaaaa-0000-0000-0000-000000000003), Claim.patient: "
                                        "the reference 'urn:uuid:not-in-the-bundle' points at no Patient"),
    (lambda: text(_invalid_field()), "entry 0 (urn:uuid:aaaaaaaa-0000-0000-0000-000000000001), Patient.birthDate: "
                                     "invalid Patient"),
    (lambda: text(_valid_then_broken()), "ExplanationOfBenefit.item[0]"),
], ids=["invalid-json", "unknown-type", "not-held", "broken-reference", "invalid-field", "bad-amount-late"])
def test_bad_bundles_are_refused_naming_the_problem_and_write_nothing(practice, make, expected):
    before = row_counts()
    report = run(practice, make())
    assert expected in report.refused
    assert row_counts() == before


def test_a_user_without_the_rights_cannot_import(practice):
    organization, _ = practice
    desk = UserFactory(organization=organization, role=Role.FRONT_DESK)
    with pytest.raises(Exception, match="may not import"):
        bundle_import(text=text(small_bundle()), name="x", organization=organization, actor=desk)
    other = UserFactory(role=Role.ADMINISTRATOR)
    with pytest.raises(Exception, match="not an active user of harbor"):
        bundle_import(text=text(small_bundle()), name="x", organization=organization, actor=other)
    assert Patient.objects.count() == 0


def test_command_imports_good_files_refuses_the_bad_one_and_says_why(practice, tmp_path, capsys):
    folder = tmp_path / "bundles"
    folder.mkdir()
    (folder / "good.json").write_text(text(small_bundle()))
    (folder / "bad.json").write_text(text(_not_held()))
    with pytest.raises(CommandError, match="1 of 2 bundle"):
        call_command("import_fhir", str(folder), "--organization", "harbor")
    out, err = capsys.readouterr()
    assert "bad.json: refused, nothing saved: entry 5" in err
    assert "good.json:" in out and "created: 1 charges" not in out
    assert "2 charges" in out and "1 encounters" in out and "1 patients" in out
    assert Patient.objects.count() == 1
    # the second run: nothing created
    call_command("import_fhir", str(folder / "good.json"), "--organization", "harbor", "--user", "sam")
    out, _ = capsys.readouterr()
    assert "created: nothing" in out


# --- the Synthea bundles ---------------------------------------------------------------------------------------


def _synthea_expectations() -> tuple[int, int, Decimal, Decimal]:
    """Counted straight from the files: visits whose claim has a CVX line, those lines, their nets, payer payments."""
    visits = lines = 0
    charged = paid = Decimal("0")
    for path in sorted(SYNTHEA.glob("*.json")):
        data = json.loads(path.read_text(), parse_float=Decimal)
        for entry in data["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Claim":
                cvx = [i for i in resource["item"]
                       if i["productOrService"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/cvx"]
                visits += bool(cvx)
                lines += len(cvx)
                charged += sum((Decimal(i["net"]["value"]).quantize(Decimal("0.01")) for i in cvx), Decimal("0"))
            if resource["resourceType"] == "ExplanationOfBenefit":
                for item in resource["item"]:
                    for adj in item.get("adjudication", []):
                        if adj["category"]["coding"][0]["code"].endswith("line_prvdr_pmt_amt"):
                            paid += Decimal(adj["amount"]["value"]).quantize(Decimal("0.01"))
    return visits, lines, charged, paid


@pytest.mark.skipif(not SYNTHEA.is_dir(), reason=f"the Synthea bundles are not at {SYNTHEA} (../shared/data/synthea)")
def test_the_ten_synthea_bundles_import_balanced_and_a_second_run_changes_nothing(practice):
    organization, admin = practice
    visits, lines, charged, paid = _synthea_expectations()
    # when
    reports = paths_import(paths=[SYNTHEA], organization=organization, actor=admin)
    # then
    assert [r.refused for r in reports] == [""] * 10
    assert Patient.objects.filter(organization=organization).count() == 10
    assert Encounter.objects.count() == visits and ServiceLine.objects.count() == lines
    assert sum(r.money["charges posted"] for r in reports) == charged
    assert sum(r.money["paid by payers"] for r in reports) == paid
    assert Claim.objects.filter(status=ClaimStatus.PAID).count() == visits
    assert set(Payer.objects.values_list("name", flat=True)) >= {"Aetna", "Medicaid"}
    assert User.objects.filter(organization=organization, is_active=False, role=Role.CLINICIAN).exists()
    books_balanced()
    before = row_counts()
    # a second run
    again = paths_import(paths=[SYNTHEA], organization=organization, actor=admin)
    assert row_counts() == before
    assert sum(r.total("created") + r.total("updated") for r in again) == 0
