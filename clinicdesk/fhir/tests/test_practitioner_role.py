"""PractitionerRole: a provider's role at the practice, where they see patients and their taxonomy, validated
against the R4B model; searched by practitioner, location and id; scoped to the caller's practice and locations."""

from datetime import date

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.practitionerrole import PractitionerRole

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory, UserFactory
from clinicdesk.scheduling.tests.factories import AvailabilityTemplateFactory, Clinic, ProviderFactory
from clinicdesk.staff.tests.factories import StaffMemberFactory

from .conftest import expressions, issues, valid

pytestmark = pytest.mark.django_db


def ids(response) -> set[str]:
    return {e["resource"]["id"] for e in response.json().get("entry", [])}


def test_a_role_says_who_where_and_what(fhir, clinic):
    # given a physician with a staff record, limited to the clinic's location, with hours at a second one
    north = LocationFactory(organization=clinic.organization, name="North")
    LocationFactory(organization=clinic.organization, name="South")  # neither limited to it nor with hours there
    clinic.provider.locations.set([clinic.location])
    AvailabilityTemplateFactory(provider=clinic.provider, location=north)
    StaffMemberFactory(organization=clinic.organization, user=clinic.provider, job_title="Family physician",
                       taxonomy_code="207Q00000X", hire_date=date(2020, 2, 1))
    # when
    body = valid(PractitionerRole, fhir.get(f"PractitionerRole/{clinic.provider.pk}"))
    # then
    assert body["practitioner"] == {"reference": f"Practitioner/{clinic.provider.pk}", "display": str(clinic.provider)}
    assert body["organization"]["reference"] == f"Organization/{clinic.organization.pk}"
    assert body["active"] is True and body["period"] == {"start": "2020-02-01"}
    codings = body["code"][0]["coding"]
    assert {"system": "http://terminology.hl7.org/CodeSystem/practitioner-role", "code": "doctor",
            "display": "Doctor"} in codings
    assert codings[0]["code"] == "clinician" and body["code"][0]["text"] == "Family physician"
    assert body["specialty"] == [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "207Q00000X"}]}]
    assert {loc["reference"] for loc in body["location"]} == {f"Location/{clinic.location.pk}", f"Location/{north.pk}"}


def test_a_nurse_without_limits_works_at_every_open_location(fhir, clinic):
    nurse = ProviderFactory(organization=clinic.organization, role=Role.NURSE, title="RN")
    closed = LocationFactory(organization=clinic.organization, is_active=False)
    body = valid(PractitionerRole, fhir.get(f"PractitionerRole/{nurse.pk}"))
    assert [c["code"] for c in body["code"][0]["coding"]] == ["nurse", "nurse"]
    assert "specialty" not in body and "period" not in body
    assert f"Location/{closed.pk}" not in {loc["reference"] for loc in body["location"]}
    assert f"Location/{clinic.location.pk}" in {loc["reference"] for loc in body["location"]}


def test_only_providers_have_roles(fhir, clinic):
    assert fhir.get(f"PractitionerRole/{clinic.actor.pk}").status_code == 404  # the front desk is not booked
    assert fhir.get("PractitionerRole/not-a-number").status_code == 404


def test_search_by_practitioner_location_and_id(fhir, clinic):
    # given a second provider limited to another location
    north = LocationFactory(organization=clinic.organization)
    other = ProviderFactory(organization=clinic.organization, last_name="Okafor")
    other.locations.set([north])
    clinic.provider.locations.set([clinic.location])
    # then
    assert ids(fhir.get("PractitionerRole")) == {str(clinic.provider.pk), str(other.pk)}
    assert ids(fhir.get("PractitionerRole", {"practitioner": f"Practitioner/{other.pk}"})) == {str(other.pk)}
    assert ids(fhir.get("PractitionerRole", {"location": f"Location/{north.pk}"})) == {str(other.pk)}
    assert ids(fhir.get("PractitionerRole", {"location": str(clinic.location.pk)})) == {str(clinic.provider.pk)}
    assert ids(fhir.get("PractitionerRole", {"_id": f"{clinic.provider.pk},{other.pk}"})) == {
        str(clinic.provider.pk), str(other.pk)}
    # a provider with hours at a location works there too, whatever their sign-in is limited to
    AvailabilityTemplateFactory(provider=other, location=clinic.location)
    assert ids(fhir.get("PractitionerRole", {"location": str(clinic.location.pk)})) == {
        str(clinic.provider.pk), str(other.pk)}
    valid(Bundle, fhir.get("PractitionerRole", {"location": str(clinic.location.pk)}))


def test_bad_parameters_are_named(fhir, clinic):
    response = fhir.get("PractitionerRole", {"location": "Patient/abc"})
    assert response.status_code == 400 and expressions(response) == ["location"]
    response = fhir.get("PractitionerRole", {"practitioner": "Practitioner/x1"})
    assert response.status_code == 400 and expressions(response) == ["practitioner"]
    response = fhir.get("PractitionerRole", {"specialty": "207Q00000X"})
    assert response.status_code == 400 and expressions(response) == ["specialty"]


def test_paging_links(fhir, clinic):
    for n in range(4):
        ProviderFactory(organization=clinic.organization, last_name=f"Zz{n}")
    first = fhir.get("PractitionerRole", {"_count": 2}).json()
    assert first["total"] == 5 and len(first["entry"]) == 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert links["next"].endswith("_count=2&_page=2") and links["last"].endswith("_page=3")
    last = fhir.get("PractitionerRole", {"_count": 2, "_page": 3}).json()
    assert len(last["entry"]) == 1
    seen = ids(fhir.get("PractitionerRole", {"_count": 2})) | ids(fhir.get("PractitionerRole", {"_count": 2, "_page": 2}))
    assert len(seen | {last["entry"][0]["resource"]["id"]}) == 5


def test_another_practice_and_other_locations_are_not_seen(fhir, fhir_as, clinic):
    other = Clinic.build()
    assert fhir.get(f"PractitionerRole/{other.provider.pk}").status_code == 404
    assert ids(fhir.get("PractitionerRole")) == {str(clinic.provider.pk)}
    assert fhir.get("PractitionerRole", {"location": str(other.location.pk)}).json()["total"] == 0
    # a person limited to one location is not shown the others in a role
    north = LocationFactory(organization=clinic.organization)
    limited = UserFactory(organization=clinic.organization, role=Role.FRONT_DESK)
    limited.locations.set([north])
    body = fhir_as(limited).get(f"PractitionerRole/{clinic.provider.pk}").json()
    assert {loc["reference"] for loc in body["location"]} == {f"Location/{north.pk}"}


def test_scope_and_role_are_checked_and_refusals_audited(fhir_as, clinic):
    response = fhir_as(clinic.actor, scopes=["user/Practitioner.read"]).get("PractitionerRole")
    assert response.status_code == 403 and "user/PractitionerRole.read" in issues(response)[0]["diagnostics"]
    auditor = UserFactory(organization=clinic.organization, role=Role.AUDITOR)
    assert fhir_as(auditor, scopes=["user/*.read"]).get(f"PractitionerRole/{clinic.provider.pk}").status_code == 403
    assert AuditEvent.objects.filter(action="access.denied").count() == 2
    assert fhir_as(clinic.actor, scopes=["user/PractitionerRole.read"]).get("PractitionerRole").status_code == 200


def test_a_page_costs_the_same_queries_whatever_its_size(fhir, clinic):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add_providers(count):
        for _ in range(count):
            provider = ProviderFactory(organization=clinic.organization)
            provider.locations.set([clinic.location])
            AvailabilityTemplateFactory(provider=provider, location=clinic.location)
            StaffMemberFactory(organization=clinic.organization, user=provider, taxonomy_code="207Q00000X")

    def queries(path) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert fhir.get(path).status_code == 200
        return len(captured)

    fhir.get("Organization")  # the token's first use of the minute records it; the pages below are not the first
    add_providers(1)
    few = {path: queries(path) for path in ("PractitionerRole", "Schedule")}
    add_providers(5)
    assert {path: queries(path) for path in ("PractitionerRole", "Schedule")} == few
