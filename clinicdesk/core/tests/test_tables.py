"""The shared reader of uploaded CSV and XLSX files, the all-or-nothing saving of imported rows, and XLSX downloads."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from clinicdesk.core.choices import ImportOutcome
from clinicdesk.core.models import Department
from clinicdesk.core.tables import (
    MAX_IMPORT_BYTES,
    ImportResult,
    TableRow,
    rows_save,
    table_read,
    upload_carry,
    xlsx_response,
)

COLUMNS = ("code", "name", "opened")


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _message(exc) -> str:
    return " ".join(exc.value.messages)


def test_csv_rows_keep_the_line_they_start_on_and_blank_lines_are_skipped():
    text = 'Code,Name,Opened\nA1,"Two\nlines",2026-01-02\n\nB2,Plain,\n'
    table = table_read(text.encode(), required=("code",), expected=COLUMNS)
    assert table.columns == ("code", "name", "opened")
    assert [(r.line, r.cells()) for r in table.rows] == [
        (2, {"code": "A1", "name": "Two\nlines", "opened": "2026-01-02"}),
        (5, {"code": "B2", "name": "Plain", "opened": ""}),
    ]


def test_xlsx_reads_as_the_same_table_as_csv_with_dates_and_whole_numbers_as_text():
    csv_table = table_read(b"code,name,opened\n7,Lab,2026-03-01\n", required=COLUMNS)
    xlsx_table = table_read(_xlsx([["Code", "Name", "Opened"], [7, "Lab", datetime(2026, 3, 1)]]), required=COLUMNS)
    assert [(r.line, r.cells()) for r in xlsx_table.rows] == [(r.line, r.cells()) for r in csv_table.rows]
    assert xlsx_table.rows[0].cells() == {"code": "7", "name": "Lab", "opened": "2026-03-01"}


def test_xlsx_rows_are_named_by_their_sheet_row_and_padding_cells_are_not_extra_values():
    content = _xlsx([["code", "name"], ["A", "x"], [None, None], ["B", "y", None, None], ["C", "z", "surplus"]])
    table = table_read(content, required=("code",))
    assert [r.line for r in table.rows] == [2, 4, 5]
    assert [r.extra for r in table.rows] == [False, False, True]


def test_an_upload_carried_from_preview_to_confirmation_reads_the_same():
    content = _xlsx([["code", "name"], ["A", "x"]])
    carried = upload_carry(SimpleUploadedFile("list.xlsx", content))
    assert isinstance(carried, str)
    assert table_read(carried).rows[0].cells() == {"code": "A", "name": "x"}
    text = upload_carry(SimpleUploadedFile("list.csv", "\ufeffcode,name\nA,é\n".encode()))
    assert table_read(text).rows[0].cells() == {"code": "A", "name": "é"}


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"", "a.csv", "The file is empty."),
    (b"code,name\n", "a.csv", "The file has a header but no rows."),
    (b"name,opened\nx,y\n", "a.csv", "Line 1 (the header) lacks the column code; expected code, name, opened."),
    (b"code\n\xff\xfe\n", "a.csv", "not UTF-8 text"),
    (b'code,name\n1,2\n"' + b"x" * 200_000 + b'"\n', "a.csv", "Line 3: not readable as CSV"),
    (b"PK\x03\x04broken", "a.xlsx", "This is not a readable XLSX file"),
    (b"MZ", "a.exe", "Upload a .csv or .xlsx file."),
])
def test_unreadable_files_are_refused_naming_why(content, name, message):
    with pytest.raises(ValidationError) as refused:
        table_read(SimpleUploadedFile(name, content), required=("code",), expected=COLUMNS)
    assert message in _message(refused)
    assert "file" in refused.value.message_dict


def test_size_and_row_limits_are_refused():
    with pytest.raises(ValidationError, match="larger than 5 MB"):
        table_read(b"code\n" + b"x" * MAX_IMPORT_BYTES)
    with pytest.raises(ValidationError, match="more than 3 rows; split it"):
        table_read(b"code\n1\n2\n3\n4\n", max_rows=3)
    assert len(table_read(b"code\n1\n2\n3\n", max_rows=3).rows) == 3


def _department_rows(*codes: str) -> list[TableRow]:
    return [TableRow(line=n, cells={"code": code}, outcome=ImportOutcome.NEW) for n, code in enumerate(codes, start=2)]


def test_rows_save_keeps_every_row_when_each_is_accepted(org):
    result = ImportResult(rows=_department_rows("LAB", "XR"), dry_run=False)
    rows_save(result, save=lambda row: Department.objects.create(organization=org, code=row.cell("code"),
                                                                 name=row.cell("code")))
    assert result.saved and set(Department.objects.values_list("code", flat=True)) >= {"LAB", "XR"}


def test_rows_save_keeps_nothing_when_one_row_is_refused_and_names_its_line_and_column(org):
    # given a second row the service refuses, and a third that follows it
    before = Department.objects.count()

    def save(row):
        if row.cell("code") == "BAD":
            raise ValidationError({"code": "BAD is not allowed.", "__all__": "Also a row-wide problem."})
        Department.objects.create(organization=org, code=row.cell("code"), name=row.cell("code"))

    result = ImportResult(rows=_department_rows("LAB", "BAD", "XR"), dry_run=False)
    # when
    rows_save(result, save=save, columns={"code": "department_code"})
    # then
    assert not result.saved and Department.objects.count() == before
    assert result.rows[1].messages == ["Line 3, column department_code: BAD is not allowed.",
                                       "Line 3, column (row): Also a row-wide problem."]
    assert result.counts == {"new": 2, "updated": 0, "unchanged": 0, "error": 1}



def test_rows_save_in_a_dry_run_finds_what_only_saving_finds_and_keeps_nothing(org):
    # given two rows with one code: only saving the first shows the second is taken
    before = Department.objects.count()

    def save(row):
        if Department.objects.filter(organization=org, code=row.cell("code")).exists():
            raise ValidationError({"code": f"{row.cell('code')} is taken."})
        Department.objects.create(organization=org, code=row.cell("code"), name=row.cell("code"))

    result = ImportResult(rows=_department_rows("LAB", "LAB", "XR"), dry_run=True)
    rows_save(result, save=save)
    assert [r.message for r in result.rows] == ["", "Line 3, column code: LAB is taken.", ""]
    assert not result.saved and Department.objects.count() == before
    # and a dry run of good rows keeps nothing either
    clean = ImportResult(rows=_department_rows("LAB", "XR"), dry_run=True)
    rows_save(clean, save=save)
    assert not clean.saved and not clean.errors and Department.objects.count() == before

def test_xlsx_download_keeps_numbers_and_dates_and_defuses_formulas():
    response = xlsx_response("list.xlsx", ["name", "amount", "born", "count"],
                             [["=HYPERLINK(\"x\")", Decimal("-5.25"), date(1980, 2, 29), 3], [None, None, None, None]])
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"] == 'attachment; filename="list.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("name", "amount", "born", "count")
    assert rows[1][0] == "'=HYPERLINK(\"x\")"
    assert rows[1][1] == -5.25 and rows[1][3] == 3
    assert rows[1][2] == datetime(1980, 2, 29)  # a date cell, not text
    # and the download reads back through the importer's reader as the same text
    assert table_read(response.content).rows[0].cells() == {"name": "=HYPERLINK(\"x\")", "amount": "-5.25",
                                                             "born": "1980-02-29", "count": "3"}
