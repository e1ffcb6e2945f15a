"""The code set and fee schedule pages: who may open what, search, CSV export, the import's two steps, and
query counts that do not grow with rows."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.billing.models import Fee, FeeSchedule, ProcedureCode
from clinicdesk.billing.services.codes import fee_schedule_create, fee_schedule_import
from clinicdesk.core.choices import Role

HEADER = "code,modifiers,description,price,effective_from,effective_to\n"
GOOD = HEADER + "99213,,Follow-up visit,110.00,2026-01-01,\n99214,25,Longer follow-up,165.00,2026-01-01,\n"


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller1")


@pytest.fixture
def clinician(make_user):
    return make_user(Role.CLINICIAN, username="doc1")


@pytest.fixture
def schedule(org, biller):
    return fee_schedule_create(organization=org, name="Self-pay", actor=biller)


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


def upload(text: str, name: str = "fees.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


# --- ICD-10-CM ---------------------------------------------------------------------------------------------


def test_clinicians_and_billing_staff_each_have_their_icd10_search(client_as, clinician, front_desk):
    as_clinician = client_as(clinician)
    data = as_clinician.get(reverse("billing:icd10_search"), {"q": "e119"}).json()
    assert data["results"][0] == {"code": "E11.9", "description": "Type 2 diabetes mellitus without complications",
                                  "billable": True}
    assert "2026" in data["release"]
    assert as_clinician.get(reverse("billing:icd10_search_billing"), {"q": "e11"}).status_code == 403
    as_desk = client_as(front_desk)
    assert as_desk.get(reverse("billing:icd10_search_billing"), {"q": "e11"}).status_code == 200
    assert as_desk.get(reverse("billing:icd10_search"), {"q": "e11"}).status_code == 403


def test_icd10_json_limit_and_billable_filter(client_as, biller):
    client = client_as(biller)
    results = client.get(reverse("billing:icd10_search"), {"q": "e11", "limit": "3", "billable": "1"}).json()["results"]
    assert len(results) == 3 and all(r["billable"] for r in results)
    assert client.get(reverse("billing:icd10_search"), {"q": "e11", "limit": "lots"}).status_code == 200
    assert client.get(reverse("billing:icd10_search")).json()["results"] == []


def test_the_lookup_page_and_its_htmx_results(client_as, front_desk, clinician):
    page = client_as(front_desk).get(reverse("billing:icd10_lookup"), {"q": "low back pain"})
    assert page.status_code == 200 and "M54.50" in body(page) and "<h1>" in body(page)
    partial = client_as(front_desk).get(reverse("billing:icd10_lookup"), {"q": "E11"}, HTTP_HX_REQUEST="true")
    assert "<h1>" not in body(partial) and "Heading" in body(partial) and "E11.9" in body(partial)
    assert client_as(clinician).get(reverse("billing:icd10_lookup_coding"), {"q": "I10"}).status_code == 200


# --- procedures --------------------------------------------------------------------------------------------


def test_procedure_list_search_and_csv(client_as, front_desk, biller, schedule, other_org):
    fee_schedule_import(schedule=schedule, file=GOOD, code_system="CPT", actor=biller, dry_run=False)
    ProcedureCode.objects.create(organization=other_org, code_system="CPT", code="99215", description="Elsewhere visit")
    client = client_as(front_desk)
    listed = body(client.get(reverse("billing:procedure_list"), {"q": "longer"}))
    assert "99214" in listed and "99213" not in listed
    everything = body(client.get(reverse("billing:procedure_list")))
    assert "99213" in everything and "Elsewhere" not in everything
    csv = body(client.get(reverse("billing:procedure_list"), {"q": "9921", "format": "csv"}))
    assert csv.splitlines() == ["code_system,code,description,in_use", "CPT,99213,Follow-up visit,yes",
                                "CPT,99214,Longer follow-up,yes"]


def test_inactive_procedures_show_only_when_asked(client_as, front_desk, biller, schedule):
    fee_schedule_import(schedule=schedule, file=GOOD, code_system="CPT", actor=biller, dry_run=False)
    ProcedureCode.objects.filter(code="99214").update(is_active=False)
    client = client_as(front_desk)
    assert "99214" not in body(client.get(reverse("billing:procedure_list")))
    assert "Not in use" in body(client.get(reverse("billing:procedure_list"), {"show": "all"}))


# --- fee schedules -----------------------------------------------------------------------------------------


def test_another_practices_schedule_is_not_found(client_as, biller, other_org):
    theirs = FeeSchedule.objects.create(organization=other_org, name="Theirs", is_default=True)
    client = client_as(biller)
    assert client.get(reverse("billing:fee_schedule_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("billing:fee_schedule_import", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("billing:fee_schedule_import", args=[theirs.pk]), {"file": upload(GOOD)})
    assert response.status_code == 404 and not Fee.objects.exists()
    assert "Theirs" not in body(client.get(reverse("billing:fee_schedule_list")))


def test_the_front_desk_reads_fees_but_cannot_import_or_create(client_as, front_desk, schedule):
    client = client_as(front_desk)
    assert client.get(reverse("billing:fee_schedule_detail", args=[schedule.pk])).status_code == 200
    assert "Import prices" not in body(client.get(reverse("billing:fee_schedule_detail", args=[schedule.pk])))
    assert client.get(reverse("billing:fee_schedule_import", args=[schedule.pk])).status_code == 403
    response = client.post(reverse("billing:fee_schedule_import", args=[schedule.pk]), {"file": upload(GOOD), "code_system": "CPT"})
    assert response.status_code == 403 and not Fee.objects.exists()
    assert client.post(reverse("billing:fee_schedule_create"), {"name": "Mine"}).status_code == 403


def test_creating_a_schedule_leads_to_its_import(client_as, biller, org):
    response = client_as(biller).post(reverse("billing:fee_schedule_create"), {"name": "Acme contract", "notes": "2026"})
    created = FeeSchedule.objects.get(organization=org, name="Acme contract")
    assert response.status_code == 302 and response["Location"] == reverse("billing:fee_schedule_import", args=[created.pk])
    duplicate = client_as(biller).post(reverse("billing:fee_schedule_create"), {"name": "acme CONTRACT"})
    assert duplicate.status_code == 400 and "already a fee schedule" in body(duplicate)


def test_import_previews_then_imports_on_confirm(client_as, biller, schedule):
    client = client_as(biller)
    url = reverse("billing:fee_schedule_import", args=[schedule.pk])
    # when the file is checked
    preview = client.post(url, {"step": "preview", "file": upload(GOOD), "code_system": "CPT"})
    # then every row is shown and nothing is saved
    assert preview.status_code == 200 and not Fee.objects.exists()
    page = body(preview)
    assert "2 new · 0 updated · 0 unchanged · 0 with errors" in page and 'name="content"' in page
    content = preview.context["confirm"].initial["content"]
    # when it is confirmed
    done = client.post(url, {"step": "import", "content": content, "code_system": "CPT", "file_name": "fees.csv"})
    # then it is imported
    assert done.status_code == 302 and done["Location"] == reverse("billing:fee_schedule_detail", args=[schedule.pk])
    assert Fee.objects.filter(schedule=schedule).count() == 2
    followed = body(client.get(done["Location"]))
    assert "Imported fees.csv: 2 new, 0 updated, 0 unchanged." in followed and "165.00" in followed


def test_an_import_with_errors_shows_lines_and_offers_no_confirm(client_as, biller, schedule):
    bad = HEADER + "99213,,Visit,1e3,2026-01-01,\n9921,,Visit,1.00,2026-01-01,\n"
    response = client_as(biller).post(reverse("billing:fee_schedule_import", args=[schedule.pk]),
                                      {"step": "preview", "file": upload(bad), "code_system": "CPT"})
    page = body(response)
    assert response.status_code == 400 and response.context["confirm"] is None
    assert "Line 2, column price: 1e3 is not a plain amount" in page and "Line 3, column code" in page
    assert "2 rows to fix; nothing was saved" in page


def test_a_file_problem_is_shown_on_the_form(client_as, biller, schedule):
    response = client_as(biller).post(reverse("billing:fee_schedule_import", args=[schedule.pk]),
                                      {"step": "preview", "file": upload("code,price\n1,2\n"), "code_system": "CPT"})
    assert response.status_code == 400 and "lacks the columns" in body(response)
    lost = client_as(biller).post(reverse("billing:fee_schedule_import", args=[schedule.pk]), {"step": "import"})
    assert lost.status_code == 400 and "choose the file again" in body(lost)


def test_a_confirm_after_the_schedule_changed_shows_the_new_errors(client_as, biller, schedule):
    client = client_as(biller)
    url = reverse("billing:fee_schedule_import", args=[schedule.pk])
    fee_schedule_import(schedule=schedule, file=HEADER + "99213,,Follow-up visit,100.00,2025-01-01,\n",
                        code_system="CPT", actor=biller, dry_run=False)
    response = client.post(url, {"step": "import", "content": GOOD, "code_system": "CPT"})
    assert response.status_code == 400 and "overlap" in body(response)
    assert Fee.objects.count() == 1


def test_fee_search_and_csv_export_imports_back_unchanged(client_as, biller, schedule):
    fee_schedule_import(schedule=schedule, file=GOOD, code_system="CPT", actor=biller, dry_run=False)
    client = client_as(biller)
    url = reverse("billing:fee_schedule_detail", args=[schedule.pk])
    found = body(client.get(url, {"q": "longer"}))
    assert "99214" in found and "99213" not in found
    exported = body(client.get(url, {"format": "csv"}))
    assert exported.splitlines()[0] == "code,modifiers,description,price,effective_from,effective_to,code_system"
    assert "99214,25,Longer follow-up,165.00,2026-01-01,,CPT" in exported
    again = fee_schedule_import(schedule=schedule, file=exported, code_system="", actor=biller, dry_run=True)
    assert again.counts == {"new": 0, "updated": 0, "unchanged": 2, "error": 0}



def _xlsx(response) -> bytes:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    return response.content


def test_fee_xlsx_export_has_the_csv_columns_keeps_numbers_and_dates_and_imports_back_unchanged(
        client_as, biller, schedule):
    from datetime import date

    from openpyxl import load_workbook

    fee_schedule_import(schedule=schedule, file=GOOD + "99215,,Long visit,200.00,2026-01-01,2026-06-30\n",
                        code_system="CPT", actor=biller, dry_run=False)
    client = client_as(biller)
    url = reverse("billing:fee_schedule_detail", args=[schedule.pk])
    content = _xlsx(client.get(url, {"format": "xlsx"}))
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert ",".join(rows[0]) == body(client.get(url, {"format": "csv"})).splitlines()[0]
    long_visit = next(r for r in rows if r[0] == "99215")
    assert long_visit[3] == 200 and long_visit[5].date() == date(2026, 6, 30)
    again = fee_schedule_import(schedule=schedule, file=content, code_system="", actor=biller, dry_run=True)
    assert again.counts == {"new": 0, "updated": 0, "unchanged": 3, "error": 0}
    assert 'format=xlsx' in body(client.get(url))


def test_an_xlsx_file_previews_and_imports_like_its_csv(client_as, biller, schedule):
    from openpyxl import Workbook

    book = Workbook()
    for line in GOOD.strip().splitlines():
        book.active.append(line.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    client = client_as(biller)
    url = reverse("billing:fee_schedule_import", args=[schedule.pk])
    preview = client.post(url, {"step": "preview", "code_system": "CPT",
                                "file": SimpleUploadedFile("fees.xlsx", buffer.getvalue())})
    assert preview.status_code == 200 and not Fee.objects.exists()
    page = body(preview)
    assert "2 new · 0 updated · 0 unchanged · 0 with errors" in page and "Longer follow-up" in page
    content = preview.context["confirm"].initial["content"]
    done = client.post(url, {"step": "import", "content": content, "code_system": "CPT", "file_name": "fees.xlsx"})
    assert done.status_code == 302 and Fee.objects.filter(schedule=schedule).count() == 2


def test_an_xlsx_row_error_names_its_row_and_column(client_as, biller, schedule):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["code", "modifiers", "description", "price", "effective_from", "effective_to"])
    book.active.append(["99213", "", "Visit", 110, "2026-01-01", ""])
    book.active.append(["99214", "", "Visit", "ten dollars", "2026-01-01", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    response = client_as(biller).post(reverse("billing:fee_schedule_import", args=[schedule.pk]), {
        "step": "preview", "code_system": "CPT", "file": SimpleUploadedFile("fees.xlsx", buffer.getvalue())})
    assert response.status_code == 400 and "Line 3, column price: ten dollars is not a plain amount" in body(response)
    assert not Fee.objects.exists()

# --- query counts ------------------------------------------------------------------------------------------


def _rows(schedule, biller, start: int, count: int) -> None:
    lines = "".join(f"{code},,Procedure {code},10.00,2026-01-01,\n" for code in range(start, start + count))
    assert fee_schedule_import(schedule=schedule, file=HEADER + lines, code_system="CPT", actor=biller, dry_run=False).saved


@pytest.mark.parametrize("name", ["billing:procedure_list", "billing:fee_schedule_detail", "billing:fee_schedule_list"])
def test_list_pages_cost_the_same_queries_for_more_rows(client_as, org, biller, schedule, name):
    client = client_as(biller)
    url = reverse(name, args=[schedule.pk]) if name.endswith("detail") else reverse(name)
    _rows(schedule, biller, 10000, 2)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _rows(schedule, biller, 20000, 30)
    fee_schedule_create(organization=org, name="Another", actor=biller)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


def test_the_fee_xlsx_download_takes_the_same_queries_for_more_rows(client_as, biller, schedule):
    client = client_as(biller)
    url = reverse("billing:fee_schedule_detail", args=[schedule.pk])
    _rows(schedule, biller, 10000, 2)
    client.get(url, {"format": "xlsx"})
    with CaptureQueriesContext(connection) as few:
        _xlsx(client.get(url, {"format": "xlsx"}))
    _rows(schedule, biller, 20000, 8)
    with CaptureQueriesContext(connection) as many:
        _xlsx(client.get(url, {"format": "xlsx"}))
    assert len(many.captured_queries) == len(few.captured_queries)
