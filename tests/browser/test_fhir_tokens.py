"""FHIR tokens in real Chromium: the practice administrator issues a token with the keyboard-friendly form, copies
the secret shown once, an outside system reads patients with it, and after the administrator revokes it the same
call is refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.fhir.models import FhirToken
from clinicdesk.scheduling.tests.factories import Clinic

pytestmark = pytest.mark.browser


def test_the_administrator_issues_a_token_an_outside_system_uses_it_then_it_is_revoked(page: Page, url, sign_in, db):
    clinic = Clinic.build()
    admin = UserFactory(organization=clinic.organization, role=Role.ADMINISTRATOR)
    sign_in(admin)
    page.goto(url("/practice/fhir-tokens/"))
    expect(page.get_by_role("cell", name="No tokens yet.")).to_be_visible()

    page.get_by_label("Name").fill("patient portal")
    page.get_by_label("Acts as").select_option(str(clinic.actor.pk))
    page.get_by_label("Read Patient").check()
    page.get_by_label("Valid for (days)").fill("30")
    page.get_by_role("button", name="Create token").click()

    secret = page.locator("#new-token").inner_text()
    assert secret.startswith(FhirToken.SECRET_PREFIX)
    row = page.get_by_role("row").filter(has_text="patient portal")
    expect(row).to_contain_text(clinic.actor.username)
    expect(row).to_contain_text("user/Patient.read")
    token = FhirToken.objects.get(name="patient portal")
    assert token.token_hash == FhirToken.hash_secret(secret)

    # an outside system calls the API with the secret (the API reads only the bearer token, never a session)
    api = page.context.request
    headers = {"Authorization": f"Bearer {secret}", "Accept": "application/fhir+json"}
    found = api.get(url("/fhir/R4/Patient"), headers=headers)
    assert found.status == 200
    assert found.json()["resourceType"] == "Bundle"
    # the token's scopes stop at patients
    assert api.get(url("/fhir/R4/Appointment"), headers=headers).status == 403

    # the secret is shown once: not on the next visit
    page.goto(url("/practice/fhir-tokens/"))
    expect(page.locator("#new-token")).to_have_count(0)
    page.get_by_role("row").filter(has_text="patient portal").get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("row").filter(has_text="patient portal")).to_contain_text("Revoked")
    refused = api.get(url("/fhir/R4/Patient"), headers=headers)
    assert refused.status == 401
    assert refused.json()["resourceType"] == "OperationOutcome"
