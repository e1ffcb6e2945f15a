"""API: staff list and record, credentials CRUD, training completion; errors name the field."""

import json
from datetime import date

import pytest

from clinicdesk.core.choices import Role
from clinicdesk.staff.choices import AssignmentStatus
from clinicdesk.staff.models import Credential, TrainingAssignment
from clinicdesk.staff.tests.factories import CourseFactory, CredentialFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/staff"


@pytest.fixture
def api(client_as, make_user):
    return client_as(make_user(Role.OFFICE_MANAGER, username="priya"))


def test_staff_list_and_detail(api, org, other_org):
    member = StaffMemberFactory(organization=org, last_name="Moore", npi="1234567893")
    StaffMemberFactory(organization=other_org, last_name="Elsewhere")

    listing = api.get(f"{BASE}/", {"q": "moore"}).json()
    detail = api.get(f"{BASE}/{member.pk}").json()

    assert listing["count"] == 1 and listing["items"][0]["last_name"] == "Moore"
    assert detail["npi"] == "1234567893"
    assert api.get(f"{BASE}/{StaffMemberFactory(organization=other_org).pk}").status_code == 404


def test_credentials_crud(api, org):
    member = StaffMemberFactory(organization=org)
    created = api.post(f"{BASE}/{member.pk}/credentials", json.dumps({
        "kind": "state_license", "name": "RN licence", "state": "NY", "number": "123456", "expires_on": "2027-10-31"}),
        content_type="application/json")
    assert created.status_code == 201, created.content
    credential_id = created.json()["id"]

    bad = api.patch(f"{BASE}/credentials/{credential_id}", json.dumps({"number": "12"}), content_type="application/json")
    assert bad.status_code == 400 and "number" in bad.json()["errors"]
    assert Credential.objects.get().number == "123456"

    changed = api.patch(f"{BASE}/credentials/{credential_id}", json.dumps({"expires_on": "2029-10-31"}),
                        content_type="application/json")
    assert changed.json()["expires_on"] == "2029-10-31"
    assert api.get(f"{BASE}/{member.pk}/credentials").json()[0]["name"] == "RN licence"
    assert api.delete(f"{BASE}/credentials/{credential_id}").status_code == 204
    assert not Credential.objects.exists()


def test_an_unknown_field_is_refused_by_name(api, org):
    member = StaffMemberFactory(organization=org)
    response = api.post(f"{BASE}/{member.pk}/credentials", json.dumps({"kind": "cpr_bls", "name": "BLS", "colour": 1}),
                        content_type="application/json")
    assert response.status_code == 400 and "colour" in response.json()["errors"]


def test_training_completion(api, org):
    member = StaffMemberFactory(organization=org)
    assignment = TrainingAssignment.objects.create(organization=org, staff=member, due_date=date(2030, 1, 1),
                                                   course=CourseFactory(organization=org, renewal_months=None))
    missing = api.post(f"{BASE}/training/{assignment.pk}/complete", json.dumps({"evidence_note": ""}),
                       content_type="application/json")
    assert missing.status_code == 400 and "evidence" in missing.json()["errors"]
    done = api.post(f"{BASE}/training/{assignment.pk}/complete", json.dumps({"evidence_note": "Cert 9"}),
                    content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == AssignmentStatus.COMPLETED


def test_a_nurse_cannot_record_credentials(client_as, make_user, org):
    member = StaffMemberFactory(organization=org)
    CredentialFactory(staff=member)
    nurse = client_as(make_user(Role.NURSE, username="nurse"))
    assert nurse.get(f"{BASE}/").status_code == 403
