"""The contract pages: permissions, imports through the two steps, CSV and PDF downloads, bad input, queries."""

import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.insurance.models import ContractRate, PayerContract, ReferenceRate
from clinicdesk.insurance.services.contracts import underpayments_flag

from .contracts_world import ClaimMaker, make_contract, make_payer, make_reference

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)


def pdf_text(data: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)  # noqa: S607
    return " ".join(done.stdout.decode().split())


def body(response) -> str:
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="manager1")


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller1")


@pytest.fixture
def world(org):
    acme = make_payer(org, "Acme Health", "ACME1")
    reference = make_reference(org, {"99213": "100.00"})
    contract = make_contract(acme, rates={"99213": "90.00"}, reference=reference, percent="100")
    maker = ClaimMaker(org)
    for allowed in ("85.00", "90.00"):
        maker.claim(acme, day=DAY, lines=[("99213", "", 1, "150.00", allowed, "70.00")], submitted=DAY,
                    adjudicated=DAY + timedelta(days=12))
    from clinicdesk.insurance.models import ClaimLine

    underpayments_flag(ClaimLine.objects.select_related("claim"))
    return {"payer": acme, "reference": reference, "contract": contract, "maker": maker}


@pytest.mark.parametrize(("role", "name", "expected"), [
    (Role.BILLER, "insurance:contract_list", 200),
    (Role.FRONT_DESK, "insurance:contract_list", 403),
    (Role.BILLER, "insurance:contract_create", 403),
    (Role.OFFICE_MANAGER, "insurance:contract_create", 200),
    (Role.CLINICIAN, "insurance:scorecard", 403),
    (Role.FRONT_DESK, "insurance:cost_estimate", 200),
    (Role.CLINICIAN, "insurance:cost_estimate", 403),
    (Role.FRONT_DESK, "insurance:underpayments", 403),
    (Role.BILLER, "insurance:underpayments", 200),
    (Role.AUDITOR, "insurance:reference_schedule_list", 403),
])
def test_who_may_open_what(make_user, client_as, role, name, expected):
    assert client_as(make_user(role)).get(reverse(name)).status_code == expected


def test_another_practices_contract_is_not_found(world, other_org, make_user, client_as):
    outsider = make_user(Role.ADMINISTRATOR, organization=other_org, username="outsider")
    client = client_as(outsider)
    pk = world["contract"].pk
    assert client.get(reverse("insurance:contract_detail", args=[pk])).status_code == 404
    assert client.get(reverse("insurance:reference_schedule_detail", args=[world["reference"].pk])).status_code == 404


def test_contract_create_and_overlap_shown_on_the_form(world, manager, client_as):
    client = client_as(manager)
    data = {"payer": world["payer"].pk, "name": "Overlap", "basis": "fee_list", "effective_from": "2026-06-01"}
    response = client.post(reverse("insurance:contract_create"), data)
    assert response.status_code == 400
    assert "overlap" in response.content.decode()
    PayerContract.objects.filter(pk=world["contract"].pk).update(effective_to=date(2026, 5, 31))
    response = client.post(reverse("insurance:contract_create"), data)
    assert response.status_code == 302
    assert PayerContract.objects.filter(name="Overlap").exists()


def test_contract_form_bad_dates_and_percent(world, manager, client_as):
    response = client_as(manager).post(reverse("insurance:contract_create"), {
        "payer": world["payer"].pk, "name": "X", "basis": "percent", "effective_from": "2027-01-01",
        "effective_to": "2026-01-01", "percent_of_reference": "abc"})
    assert response.status_code == 400
    assert not PayerContract.objects.filter(name="X").exists()


def test_contract_edit(world, manager, client_as):
    url = reverse("insurance:contract_edit", args=[world["contract"].pk])
    response = client_as(manager).post(url, {"name": "Renamed", "basis": "fee_list", "effective_from": "2026-01-01",
                                             "reference_schedule": world["reference"].pk, "percent_of_reference": "105"})
    assert response.status_code == 302
    world["contract"].refresh_from_db()
    assert world["contract"].name == "Renamed" and world["contract"].percent_of_reference == Decimal("105.00")


def test_rate_import_preview_then_confirm(world, manager, client_as):
    client = client_as(manager)
    url = reverse("insurance:contract_rates_import", args=[world["contract"].pk])
    upload = SimpleUploadedFile("rates.csv", b"code,modifiers,amount\n99214,,130.00\n99213,,92.00\n", "text/csv")
    preview = client.post(url, {"step": "preview", "file": upload})
    assert preview.status_code == 200
    assert "1 new · 1 updated" in preview.content.decode()
    assert not ContractRate.objects.filter(procedure_code="99214").exists()
    content = preview.context["confirm"].initial["content"]
    done = client.post(url, {"step": "import", "content": content, "file_name": "rates.csv"})
    assert done.status_code == 302
    assert ContractRate.objects.get(contract=world["contract"], procedure_code="99213").allowed_amount == Decimal("92.00")


def test_rate_import_errors_name_the_line(world, manager, client_as):
    url = reverse("insurance:reference_schedule_import", args=[world["reference"].pk])
    upload = SimpleUploadedFile("r.csv", b"code,modifiers,amount\n99214,,abc\n", "text/csv")
    response = client_as(manager).post(url, {"step": "preview", "file": upload})
    assert response.status_code == 400
    assert "Line 2, column amount" in response.content.decode()
    bad = client_as(manager).post(url, {"step": "preview", "file": SimpleUploadedFile("r.csv", b"", "text/csv")})
    assert bad.status_code == 400
    lost = client_as(manager).post(url, {"step": "import"})
    assert lost.status_code == 400
    assert ReferenceRate.objects.filter(schedule=world["reference"]).count() == 1


def test_reference_schedule_create(manager, client_as):
    response = client_as(manager).post(reverse("insurance:reference_schedule_create"),
                                       {"name": "Yardstick", "effective_from": "2026-01-01"})
    assert response.status_code == 302
    again = client_as(manager).post(reverse("insurance:reference_schedule_create"),
                                    {"name": "yardstick", "effective_from": "2026-01-01"})
    assert again.status_code == 400


def test_detail_pages_and_csv(world, biller, client_as):
    client = client_as(biller)
    page = client.get(reverse("insurance:contract_detail", args=[world["contract"].pk]))
    assert "100.00% of Reference 2026" in page.content.decode()
    csv = body(client.get(reverse("insurance:contract_detail", args=[world["contract"].pk]) + "?format=csv"))
    assert "99213,,90.00" in csv
    assert "Acme Health" in body(client.get(reverse("insurance:contract_list") + "?format=csv"))
    ref_csv = body(client.get(reverse("insurance:reference_schedule_detail", args=[world["reference"].pk]) + "?format=csv"))
    assert "99213,,100.00" in ref_csv


def test_underpayments_page_csv_and_audit(world, biller, client_as):
    client = client_as(biller)
    page = client.get(reverse("insurance:underpayments"), {"start": "2026-01-01", "end": "2026-12-31"})
    assert page.status_code == 200
    assert "5.00" in page.content.decode()
    assert AuditEvent.objects.filter(action="claim.listed").count() == 1
    csv = body(client.get(reverse("insurance:underpayments"),
                          {"start": "2026-01-01", "end": "2026-12-31", "payer": world["payer"].pk, "format": "csv"}))
    assert "Acme Health" in csv and ",90.00,5.00" in csv
    bad = client.get(reverse("insurance:underpayments"), {"start": "2026-12-31", "end": "2026-01-01"})
    assert bad.status_code == 400


def test_underpayments_query_count_does_not_grow(world, biller, client_as):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(biller)
    params = {"start": "2026-01-01", "end": "2026-12-31"}
    client.get(reverse("insurance:underpayments"), params)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("insurance:underpayments"), params)
    for _ in range(5):
        world["maker"].claim(world["payer"], day=DAY, lines=[("99213", "", 1, "150.00", "80.00", "60.00")])
    from clinicdesk.insurance.models import ClaimLine

    underpayments_flag(ClaimLine.objects.select_related("claim"))
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("insurance:underpayments"), params).status_code == 200
    assert len(many) == len(few)


def test_scorecard_page_and_csv(world, biller, client_as):
    client = client_as(biller)
    page = client.get(reverse("insurance:scorecard"), {"start": "2026-03-01", "end": "2026-03-31"})
    text = page.content.decode()
    assert page.status_code == 200 and "scorecard-chart" in text and "chart.umd.min.js" in text
    assert "Acme Health" in text and "87.5%" in text
    csv = body(client.get(reverse("insurance:scorecard"), {"start": "2026-03-01", "end": "2026-03-31", "format": "csv"}))
    assert "Acme Health,2,300.00,175.00,140.00,2,0,0.0,12.0,12.0,5.00,87.5" in csv
    assert client.get(reverse("insurance:scorecard"), {"start": "x", "end": "2026-03-31"}).status_code == 400
    assert client.get(reverse("insurance:scorecard")).status_code == 200  # defaults to the last year


def test_packet_page_csv_and_pdf(world, biller, client_as):
    client = client_as(biller)
    params = {"start": "2026-03-01", "end": "2026-03-31", "top": "5"}
    assert "99213" in client.get(reverse("insurance:negotiation_packet"), params).content.decode()
    csv = body(client.get(reverse("insurance:negotiation_packet"), {**params, "format": "csv"}))
    assert "99213,2,100.00,Acme Health,90.00,2,87.50,70.00,87.5,0.0" in csv
    pdf = client.get(reverse("insurance:negotiation_packet"), {**params, "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "Payer contract review" in text and "Riverside Test Practice" in text
    assert "Acme Health: 2 lines of the top codes, allowing on average 87.5% of the reference" in text
    assert client.get(reverse("insurance:negotiation_packet"), {**params, "top": "500"}).status_code == 400


def test_estimate_page_and_pdf(world, front_desk, client_as):
    client = client_as(front_desk)
    patient = world["maker"].patient
    coverage = world["maker"].coverage(world["payer"])
    coverage.copay = Decimal("20.00")
    coverage.save(update_fields=["copay"])
    params = {"patient": patient.mrn, "codes": "99213", "on": "2026-03-10"}
    page = client.get(reverse("insurance:cost_estimate"), params)
    assert page.status_code == 200
    assert page.context["estimate"].patient_total == Decimal("20.00")
    assert AuditEvent.objects.filter(action="patient.cost_estimate_viewed", patient_id=patient.pk).exists()
    pdf = client.get(reverse("insurance:cost_estimate"), {**params, "format": "pdf"})
    text = pdf_text(pdf.content)
    assert "Your estimated cost" in text and "20.00" in text and "Assumptions" in text
    assert client.get(reverse("insurance:cost_estimate"), {**params, "patient": "NOPE"}).status_code == 400
    assert client.get(reverse("insurance:cost_estimate"), {**params, "codes": "9; drop"}).status_code == 400


def test_estimate_does_not_find_another_practices_patient(world, other_org, make_user, client_as):
    outsider = make_user(Role.FRONT_DESK, organization=other_org, username="outsider")
    params = {"patient": world["maker"].patient.mrn, "codes": "99213", "on": "2026-03-10"}
    assert client_as(outsider).get(reverse("insurance:cost_estimate"), params).status_code == 400


def test_contract_and_reference_lists_query_count_does_not_grow(world, biller, client_as):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(biller)
    urls = [reverse("insurance:contract_list"), reverse("insurance:reference_schedule_list")]
    for u in urls:
        client.get(u)
    with CaptureQueriesContext(connection) as few:
        for u in urls:
            client.get(u)
    for i in range(4):
        payer = make_payer(world["payer"].organization, f"Payer {i}")
        make_contract(payer, rates={"99213": "80.00"}, reference=make_reference(payer.organization, {}, name=f"R{i}"),
                      percent="100")
    with CaptureQueriesContext(connection) as many:
        for u in urls:
            assert client.get(u).status_code == 200
    assert len(many) == len(few)
