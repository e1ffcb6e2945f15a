"""In real Chromium: the practice administrator downloads a patient's own record (right of access) from the patient
page, and the file is the zip of the patient's FHIR JSON."""

from __future__ import annotations

import json
import zipfile

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.browser


def test_the_patient_page_downloads_the_record_zip(page: Page, url, sign_in, make_user, org, tmp_path):
    # given the administrator on a patient's page
    patient = PatientFactory(organization=org, last_name="Alvarez", first_name="Ana")
    sign_in(make_user(Role.ADMINISTRATOR, username="grace"))
    page.goto(url(reverse("patients:detail", kwargs={"public_id": patient.public_id})))
    button = page.get_by_role("button", name="Download record (right of access)")
    expect(button).to_be_visible()
    # when she downloads the record
    with page.expect_download() as info:
        button.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    # then it is the patient's zip, and the export is on the audit trail
    assert saved.name.startswith(f"record-{patient.mrn.lower()}") and saved.suffix == ".zip"
    with zipfile.ZipFile(saved) as archive:
        resource = json.loads(archive.read("Patient.json"))
        assert "README.txt" in archive.namelist()
    assert resource["resourceType"] == "Patient" and resource["name"][0]["family"] == "Alvarez"
    assert AuditEvent.objects.filter(action="patient.exported", patient_id=patient.pk).count() == 1
