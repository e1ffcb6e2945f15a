"""Pages of the coverage side: payer set-up and its CSV, the Insurance tab, coverage forms, authorisations, the
check-in panel and billing's copay prefill; bad input answers 400 naming the field, lists keep their query count."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.billing.services.accounts import account_for_patient
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from ..choices import CoverageRank, EligibilityStatus, PayerRuleKind
from ..models import Coverage, EligibilityCheck, Payer, PayerRule, PriorAuthorization
from .factories_coverage import AuthorizationFactory, CoverageFactory, PayerFactory, PlanFactory


@pytest.fixture
def patient(org):
    return PatientFactory(organization=org, first_name="Rosa", last_name="Diaz")


def test_payer_list_csv_and_query_count(client, make_user, org):
    client.force_login(make_user(Role.BILLER))
    PayerFactory(organization=org, name="Acme Health", payer_identifier="ACME1")
    url = reverse("insurance:payer_list")
    client.get(url)  # the session's first touch is not the list's cost
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(5):
        PlanFactory(payer=PayerFactory(organization=org))
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert b"Acme Health" in response.content
    assert len(many.captured_queries) == len(few.captured_queries)
    csv = b"".join(client.get(url + "?format=csv").streaming_content).decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("payer_id,name,claim_filing_indicator")
    assert "ACME1,Acme Health" in csv


def test_payer_pages_refuse_the_front_desk(client, make_user):
    client.force_login(make_user(Role.FRONT_DESK))
    assert client.get(reverse("insurance:payer_list")).status_code == 403


def test_payer_form_bad_input_is_400(client, make_user, org):
    client.force_login(make_user(Role.BILLER))
    response = client.post(reverse("insurance:payer_create"), {"name": "", "payer_identifier": "",
                                                               "claim_filing_indicator": "QQ", "timely_filing_days": "x"})
    assert response.status_code == 400 and not Payer.objects.exists()
    response = client.post(reverse("insurance:payer_create"), {"name": "Acme", "payer_identifier": "a1",
                                                               "claim_filing_indicator": "CI", "timely_filing_days": "90",
                                                               "is_active": "on"})
    assert response.status_code == 302 and Payer.objects.get().payer_identifier == "A1"


def test_payer_import_preview_then_confirm(client, make_user, org):
    client.force_login(make_user(Role.BILLER))
    url = reverse("insurance:payer_import")
    bad = SimpleUploadedFile("p.csv", b"payer_id,name,claim_filing_indicator\nX1,Xeno,QQ\n", content_type="text/csv")
    response = client.post(url, {"step": "preview", "file": bad})
    assert response.status_code == 400 and b"Line 2, column claim_filing_indicator" in response.content
    good = SimpleUploadedFile("p.csv", b"payer_id,name\nX1,Xeno Health\n", content_type="text/csv")
    response = client.post(url, {"step": "preview", "file": good})
    assert response.status_code == 200 and b"1 new" in response.content and not Payer.objects.exists()
    response = client.post(url, {"step": "import", "content": "payer_id,name\nX1,Xeno Health\n", "file_name": "p.csv"})
    assert response.status_code == 302 and Payer.objects.get().name == "Xeno Health"


def test_insurance_tab_shows_coverages_and_audits_the_read(client, make_user, patient):
    client.force_login(make_user(Role.FRONT_DESK))
    coverage = CoverageFactory(patient=patient, member_id="ZZ998877")
    AuthorizationFactory(coverage=coverage, number="AUTH-42")
    response = client.get(reverse("patients:detail", args=[patient.public_id]) + "?tab=insurance")
    assert response.status_code == 200
    assert b"ZZ998877" in response.content and b"AUTH-42" in response.content
    assert AuditEvent.objects.filter(action="insurance.coverage_viewed", patient_id=patient.pk).exists()


def test_insurance_tab_is_hidden_from_a_nurse(client, make_user, patient):
    client.force_login(make_user(Role.NURSE))
    CoverageFactory(patient=patient, member_id="ZZ998877")
    response = client.get(reverse("patients:detail", args=[patient.public_id]) + "?tab=insurance")
    assert b"ZZ998877" not in response.content


def test_add_coverage_and_swap_ranks_from_the_tab(client, make_user, patient, org):
    client.force_login(make_user(Role.FRONT_DESK))
    plan = PlanFactory(payer=PayerFactory(organization=org))
    url = reverse("insurance:coverage_create", args=[patient.public_id])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"payer": plan.payer.pk, "rank": "1", "member_id": "", "relationship": "18",
                            "subscriber_sex": "U"})
    assert bad.status_code == 400 and b"member" in bad.content.lower() and not Coverage.objects.exists()
    ok = client.post(url, {"payer": plan.payer.pk, "plan": plan.pk, "rank": "1", "member_id": "M1",
                           "relationship": "18", "subscriber_sex": "U"})
    assert ok.status_code == 302
    first = Coverage.objects.get()
    assert first.copay == Decimal("25.00") and first.subscriber_last_name == "Diaz"
    second = CoverageFactory(patient=patient, rank=CoverageRank.SECONDARY)
    response = client.post(reverse("insurance:coverage_reorder", args=[patient.public_id]),
                           {"coverage": second.public_id, "move": "up"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.rank == CoverageRank.PRIMARY


def test_end_coverage_and_bad_date(client, make_user, patient):
    client.force_login(make_user(Role.FRONT_DESK))
    coverage = CoverageFactory(patient=patient, effective_from=date(2026, 1, 1))
    url = reverse("insurance:coverage_end", args=[coverage.public_id])
    assert client.post(url, {"ended_on": "2025-01-01"}).status_code == 302
    coverage.refresh_from_db()
    assert coverage.is_active
    client.post(url, {"ended_on": "2026-03-31"})
    coverage.refresh_from_db()
    assert not coverage.is_active and coverage.effective_to == date(2026, 3, 31)


def test_authorization_form(client, make_user, patient):
    client.force_login(make_user(Role.FRONT_DESK))
    coverage = CoverageFactory(patient=patient)
    url = reverse("insurance:authorization_create", args=[coverage.public_id])
    bad = client.post(url, {"number": "A1", "procedure_codes": "97110", "units_authorized": "4", "units_used": "0",
                            "starts_on": "2026-02-01", "ends_on": "2026-01-01"})
    assert bad.status_code == 400 and not PriorAuthorization.objects.exists()
    ok = client.post(url, {"number": "A1", "procedure_codes": "97110", "units_authorized": "4", "units_used": "0",
                           "starts_on": "2026-01-01", "ends_on": "2026-06-30"})
    assert ok.status_code == 302 and PriorAuthorization.objects.get().number == "A1"


def test_another_practices_coverage_is_404(client, make_user, other_org):
    client.force_login(make_user(Role.FRONT_DESK))
    foreign = CoverageFactory(patient=PatientFactory(organization=other_org))
    assert client.get(reverse("insurance:coverage_edit", args=[foreign.public_id])).status_code == 404


def test_check_in_panel_shows_coverage_eligibility_and_warnings(client, make_user, org, patient):
    client.force_login(make_user(Role.FRONT_DESK))
    appointment = AppointmentFactory(organization=org, patient=patient)
    url = reverse("scheduling:check_in", args=[appointment.public_id])
    assert b"No coverage on file. Ask for the insurance card" in client.get(url).content
    coverage = CoverageFactory(patient=patient, member_id="CHK123", copay=Decimal("30.00"))
    EligibilityCheck.objects.create(organization=org, coverage=coverage, trace_number="T1",
                                    service_date=appointment.starts_at.date(), status=EligibilityStatus.ACTIVE,
                                    copay=Decimal("35.00"), deductible_remaining=Decimal("400.00"))
    PayerRule.objects.create(organization=org, payer=coverage.payer, kind=PayerRuleKind.REQUIRE_AUTH, codes="97110",
                             values=appointment.appointment_type.name)
    content = client.get(url).content.decode()
    assert "CHK123" in content and "Coverage active" in content and "400.00" in content
    assert "needs a prior authorisation for 97110" in content
    assert 'id="copay-due"' in content and "35.00" in content  # billing's copay panel, from the coverage


def test_check_in_panel_warns_of_expired_coverage(client, make_user, org, patient):
    client.force_login(make_user(Role.FRONT_DESK))
    appointment = AppointmentFactory(organization=org, patient=patient)
    CoverageFactory(patient=patient, effective_from=date(2024, 1, 1), effective_to=date(2024, 12, 31))
    content = client.get(reverse("scheduling:check_in", args=[appointment.public_id])).content.decode()
    assert "Coverage expired" in content


def test_the_copay_form_is_prefilled_from_coverage(client, make_user, org, patient):
    desk = make_user(Role.FRONT_DESK)
    client.force_login(desk)
    appointment = AppointmentFactory(organization=org, patient=patient)
    CoverageFactory(patient=patient, copay=Decimal("40.00"))
    account = account_for_patient(patient=patient, actor=desk)
    response = client.get(reverse("billing:payment_take", args=[account.public_id])
                          + f"?copay=1&appointment={appointment.public_id}")
    assert response.status_code == 200 and 'value="40.00"' in response.content.decode()
    response = client.get(reverse("billing:payment_take", args=[account.public_id]) + "?copay=1&appointment=nope")
    assert response.status_code == 200
