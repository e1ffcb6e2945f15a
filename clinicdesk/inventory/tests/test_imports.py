"""Items in and out as CSV or XLSX: the import service (dry run, all or nothing, errors by line and column, the
same result from either format, the download re-importing as unchanged) and its pages."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse

from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.bills import vendor_for

from ..choices import ItemKind
from ..models import Item
from ..services.imports import items_import
from .factories import ItemFactory

pytestmark = pytest.mark.django_db

HEADER = "name,kind,sku,ndc,cvx,base_unit,price,valuation,preferred_vendor,tracks_lots,active\n"


def xlsx_of(text: str) -> bytes:
    """The same table as an XLSX file, numbers as numbers (as a spreadsheet would save them)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for values in (line.split(",") for line in text.strip().splitlines()):
        sheet.append([Decimal(v) if v.replace(".", "", 1).isdigit() and "." in v else v for v in values])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def outcomes(result) -> list[tuple[int, str, str]]:
    return [(r.line, r.outcome, r.message) for r in result.rows]


def download(client, kind: str) -> bytes:
    response = client.get(reverse("inventory:item_list"), {"format": kind})
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def stocked(org):
    henry = vendor_for(organization=org, name="Henry Supply")
    ItemFactory(organization=org, name="Exam gloves", sku="GL-100", price=Decimal("0.08"), preferred_vendor=henry)
    ItemFactory(organization=org, name="Influenza vaccine", kind=ItemKind.VACCINE, tracks_lots=True, cvx="158",
                ndc="49281062215", sku="", price=Decimal("18.2500"))
    ItemFactory(organization=org, name="=HYPERLINK(1)", sku="-5", price=Decimal("1"))
    return henry


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_items_download_imports_back_as_unchanged(client_as, org, manager, stocked, kind):
    # given the practice's items downloaded as they are
    content = download(client_as(manager), kind)
    # when the file is imported back
    result = items_import(organization=org, file=content, actor=manager, dry_run=False)
    # then every row is matched and nothing changes
    assert [r.outcome for r in result.rows] == ["unchanged"] * 3, outcomes(result)
    assert Item.objects.filter(organization=org).count() == 3


def test_dry_run_shows_what_each_row_does_and_saves_nothing(org, manager, stocked):
    text = HEADER + ("Exam gloves,Clinical supply,GL-100,,,each,0.09,fifo,Henry Supply,,yes\n"
                     "Gauze 4x4,clinical_supply,GZ-44,,,each,0.05,,,,\n")
    events = AuditEvent.objects.count()
    result = items_import(organization=org, file=text.encode(), actor=manager, dry_run=True)
    assert outcomes(result) == [(2, "updated", ""), (3, "new", "")]
    assert not result.saved
    assert Item.objects.get(sku="GL-100").price == Decimal("0.08")
    assert not Item.objects.filter(sku="GZ-44").exists()
    assert AuditEvent.objects.count() == events


def test_import_creates_and_updates_through_the_item_service_with_one_audit_of_the_counts(org, manager, stocked):
    text = HEADER + ("Exam gloves,Clinical supply,GL-100,,,each,0.09,fifo,Henry Supply,,yes\n"
                     "Gauze 4x4,clinical_supply,GZ-44,,,each,0.05,,Henry Supply,,\n")
    result = items_import(organization=org, file=text.encode(), actor=manager, dry_run=False)
    assert result.saved and result.counts["new"] == 1 and result.counts["updated"] == 1
    assert Item.objects.get(sku="GL-100").price == Decimal("0.09")
    gauze = Item.objects.get(sku="GZ-44")
    assert gauze.preferred_vendor == stocked and gauze.kind == ItemKind.CLINICAL_SUPPLY
    assert AuditEvent.objects.filter(action="inventory.item_added", target_id=str(gauze.pk)).exists()
    imported = AuditEvent.objects.get(action="inventory.items_imported")
    assert imported.changes["counts"]["new"] == 1 and imported.organization_id == org.pk


def test_one_bad_line_saves_nothing_and_each_error_names_its_line_and_column(org, manager, stocked):
    # given a good new row, then rows with an unknown vendor, an unreadable price and a wrong kind
    text = HEADER + ("Gauze 4x4,clinical_supply,GZ-44,,,each,0.05,,,,\n"
                     "Tape,clinical_supply,TP-1,,,each,0.10,,Acme Medical,,\n"
                     "Swabs,clinical_supply,SW-1,,,each,1.234567,,,,\n"
                     "Sharps bin,furniture,SB-1,,,each,3,,,,maybe\n")
    result = items_import(organization=org, file=text.encode(), actor=manager, dry_run=False)
    assert not result.saved
    messages = {r.line: r.message for r in result.rows}
    assert messages[2] == ""
    assert messages[3].startswith("Line 3, column preferred_vendor: no vendor is called Acme Medical")
    assert messages[4].startswith("Line 4, column price: 1.234567 is not a price")
    assert "Line 5, column kind: furniture is not one of" in messages[5]
    assert "Line 5, column active: maybe is not yes or no." in messages[5]
    assert not Item.objects.filter(sku__in=["GZ-44", "TP-1", "SW-1", "SB-1"]).exists()


def test_the_item_service_refusals_show_on_their_line_in_the_dry_run_too(org, manager, stocked):
    # given an NDC on a supply (the model refuses it) and two new vaccines sharing one NDC (the service refuses
    # the second only once the first is saved)
    text = HEADER + ("Gauze 4x4,clinical_supply,GZ-44,00002-7510-01,,each,0.05,,,,\n"
                     "Vaccine A,vaccine,VA-1,00006-4047-41,,dose,10,,,yes,\n"
                     "Vaccine B,vaccine,VB-1,00006-4047-41,,dose,10,,,yes,\n")
    result = items_import(organization=org, file=text.encode(), actor=manager, dry_run=True)
    messages = {r.line: r.message for r in result.rows}
    assert messages[2] == "Line 2, column ndc: Only medications and vaccines carry an NDC."
    assert messages[3] == ""
    assert messages[4] == "Line 4, column ndc: Another item already has NDC 00006404741."
    assert not Item.objects.filter(sku__in=["GZ-44", "VA-1", "VB-1"]).exists()


def test_a_sku_twice_in_the_file_is_refused_on_the_later_line(org, manager, stocked):
    text = HEADER + "Gauze,clinical_supply,GZ-44,,,each,0.05,,,,\nGauze large,clinical_supply,gz-44,,,each,0.07,,,,\n"
    result = items_import(organization=org, file=text.encode(), actor=manager, dry_run=True)
    assert outcomes(result)[1] == (3, "error", "Line 3, column sku: the same SKU as line 2.")


def test_csv_and_xlsx_give_the_same_result(org, manager, stocked):
    text = HEADER + ("Exam gloves,Clinical supply,GL-100,,,each,0.09,fifo,Henry Supply,,yes\n"
                     "Gauze 4x4,clinical_supply,GZ-44,,,each,0.05,,,,\n"
                     "Tape,clinical_supply,TP-1,,,each,0.10,,Acme Medical,,\n")
    from_csv = items_import(organization=org, file=text.encode(), actor=manager, dry_run=True)
    from_xlsx = items_import(organization=org, file=xlsx_of(text), actor=manager, dry_run=True)
    assert outcomes(from_csv) == outcomes(from_xlsx)
    assert [r.outcome for r in from_csv.rows] == ["updated", "new", "error"]


def test_a_file_without_the_name_column_is_refused_naming_it(org, manager):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        items_import(organization=org, file=b"sku,price\nGL-1,1\n", actor=manager, dry_run=True)
    assert "Line 1 (the header) lacks the column name" in caught.value.message_dict["file"][0]


# --- pages -------------------------------------------------------------------------------------------------


def test_the_import_page_is_for_those_who_manage_items(client_as, nurse, manager):
    assert client_as(nurse).get(reverse("inventory:item_import")).status_code == 403
    page = client_as(manager).get(reverse("inventory:item_list")).content.decode()
    assert reverse("inventory:item_import") in page and "format=xlsx" in page


def test_upload_preview_then_confirm_imports_the_file(client_as, org, manager, stocked):
    client = client_as(manager)
    upload = io.BytesIO(xlsx_of(HEADER + "Gauze 4x4,clinical_supply,GZ-44,,,each,0.05,,,,\n"))
    upload.name = "items.xlsx"
    preview = client.post(reverse("inventory:item_import"), {"step": "preview", "file": upload})
    assert preview.status_code == 200
    assert not Item.objects.filter(sku="GZ-44").exists()
    content = preview.context["confirm"].initial["content"]
    done = client.post(reverse("inventory:item_import"), {"step": "import", "content": content, "file_name": "items.xlsx"})
    assert done.status_code == 302 and Item.objects.filter(organization=org, sku="GZ-44").exists()


def test_an_upload_with_a_bad_row_shows_its_error_and_offers_no_import(client_as, manager, stocked):
    upload = io.BytesIO((HEADER + "Tape,clinical_supply,TP-1,,,each,0.10,,Acme Medical,,\n").encode())
    upload.name = "items.csv"
    page = client_as(manager).post(reverse("inventory:item_import"), {"step": "preview", "file": upload})
    assert page.status_code == 400
    body = page.content.decode()
    assert "Line 2, column preferred_vendor" in body and 'value="import"' not in body


def test_the_xlsx_download_has_the_csv_columns_with_numbers_as_numbers(client_as, manager, stocked):
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(download(client_as(manager), "xlsx"))).active
    rows = list(sheet.iter_rows(values_only=True))
    csv_header = download(client_as(manager), "csv").decode("utf-8-sig").splitlines()[0].split(",")
    assert list(rows[0]) == csv_header
    gloves = next(r for r in rows if r[0] == "Exam gloves")
    assert gloves[6] == pytest.approx(0.08) and not isinstance(gloves[6], str)
    assert any(r[0] == "'=HYPERLINK(1)" and r[2] == "'-5" for r in rows)


def test_the_downloads_take_the_same_queries_for_more_items(client_as, org, manager, stocked):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(manager)
    download(client, "xlsx")

    def count(kind: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            download(client, kind)
        return len(ctx.captured_queries)

    few = {kind: count(kind) for kind in ("csv", "xlsx")}
    for n in range(6):
        ItemFactory(organization=org, sku=f"X-{n}", preferred_vendor=stocked)
    assert {kind: count(kind) for kind in ("csv", "xlsx")} == few
