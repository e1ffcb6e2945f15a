"""Spreadsheet files in and out of every list: one reader of an uploaded CSV or XLSX file whose rows keep their line
numbers, the outcome of each imported row, and XLSX downloads next to `csv_response`.

How an importer uses it (patients/services/imports.py is a worked example):

    table = table_read(file, required=REQUIRED, expected=COLUMNS)     # ValidationError on "file" when unreadable
    rows = [TableRow(line=r.line, cells=r.cells(COLUMNS)) for r in table.rows]
    ... check each row, calling row.fail(column, text) for a bad value, and set row.outcome (new / updated /
    unchanged) by comparing with the records matched by their natural key ...
    result = ImportResult(rows=rows, dry_run=dry_run)
    # Rows already failed are skipped; the others go through the service, and on a dry run (or after any error)
    # everything is undone: the preview shows the services' own rules, line by line.
    rows_save(result, save=lambda row: <the app's own service>, columns={"field": "column"})
    if result.saved: audit_event(... one event with result.counts ...)

The page is `core.csv_import_views.CsvImport(decode=upload_carry, upload_form=partial(TableImportForm,
columns=COLUMNS), confirm_form=TableImportConfirmForm, template=<a page extending "csv_import.html">,
context={"columns": COLUMNS}, run=partial(<importer>, organization=..., actor=...), ...)` (forms in core.forms):
the shared preview table of csv_import.html shows each TableRow's cells under `columns`, and `run(file=...)`
gets the carried text (CSV text, or an XLSX file as a data URL) that `table_read` reads again on confirm. The download is
`xlsx_response(filename, header, rows)` with the same header and rows as the list's `csv_response`.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse

from .choices import ImportOutcome

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An XLSX file travels from the preview to the confirmation as text, in this data URL form.
_XLSX_CARRIED = f"data:{XLSX_TYPE};base64,"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


# --- outcomes ----------------------------------------------------------------------------------------------


class RowOutcome:
    """What one line of an imported file does (or would do), and why not when it fails; every importer's row
    dataclass mixes it in and has `line`, `outcome` and `messages` fields."""

    line: int
    outcome: str
    messages: list[str]

    @property
    def message(self) -> str:
        return " ".join(self.messages)

    def fail(self, column: str, text: str) -> None:
        self.outcome = ImportOutcome.ERROR
        self.messages.append(f"Line {self.line}, column {column}: {text}")


@dataclass
class TableRow(RowOutcome):
    """One line of a file as the preview shows it: its cells by column, in the importer's column order."""

    line: int
    cells: dict[str, str]
    outcome: str = ImportOutcome.UNCHANGED
    messages: list[str] = field(default_factory=list)
    target: object = None  # the record the row matched, if any

    def cell(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass
class ImportResult:
    """The outcome of every row (of any importer); `saved` is true only when the file was imported (no dry run,
    no error)."""

    rows: list[RowOutcome]
    dry_run: bool
    saved: bool = False

    @property
    def errors(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.outcome == ImportOutcome.ERROR]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ImportOutcome.values, 0)
        for row in self.rows:
            counts[row.outcome] += 1
        return counts


def row_fail_error(row: RowOutcome, exc: ValidationError, *, columns: Mapping[str, str] | None = None,
                   default: str = "(row)") -> None:
    """Put a service's ValidationError on the row, each message under the column its field comes from."""
    columns = columns or {}
    if not hasattr(exc, "error_dict"):
        for text in exc.messages:
            row.fail(default, text)
        return
    for name, texts in exc.message_dict.items():
        column = columns.get(name, default if name == "__all__" else name)
        for text in texts:
            row.fail(column, text)


def rows_save(result: ImportResult, *, save: Callable, columns: Mapping[str, str] | None = None) -> ImportResult:
    """Save every new or updated row with `save(row)` (the app's own service), all or nothing: a ValidationError
    is put on its row's line and column, and then nothing of the file is kept. On a dry run every row is saved
    and then undone, so the preview shows each rule the services check."""
    with transaction.atomic():
        for row in result.rows:
            if row.outcome not in (ImportOutcome.NEW, ImportOutcome.UPDATED):
                continue
            try:
                with transaction.atomic():  # a savepoint: later rows still get checked after a refused one
                    save(row)
            except ValidationError as exc:
                row_fail_error(row, exc, columns=columns)
        if result.errors or result.dry_run:
            transaction.set_rollback(True)
        else:
            result.saved = True
    return result


# --- reading -----------------------------------------------------------------------------------------------


def decode_import_file(file) -> str:
    """The text of an uploaded file (bytes in UTF-8, with or without a byte order mark) or of a string."""
    data = file.read() if hasattr(file, "read") else file
    if isinstance(data, bytes | bytearray):
        if len(data) > MAX_IMPORT_BYTES:
            raise ValidationError({"file": f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB."})
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError({"file": "The file is not UTF-8 text; save it from the spreadsheet as CSV UTF-8."}) from exc
    if not isinstance(data, str):
        raise ValidationError({"file": "Choose a CSV file."})
    return data.removeprefix("\ufeff")


def column_names(header: Iterable) -> list[str]:
    """A header's column names as importers compare them: lower case, spaces as underscores."""
    return [str("" if h is None else h).strip().lower().replace(" ", "_") for h in header]


def _header_check(names: list[str], *, required, expected) -> None:
    missing = [c for c in required if c not in names]
    if missing:
        raise ValidationError({"file": f"Line 1 (the header) lacks the column{'s' if len(missing) > 1 else ''} "
                                       f"{', '.join(missing)}; expected {', '.join(expected)}."})


def csv_header_read(text: str, *, required, expected) -> tuple:
    """A CSV reader past its header line and the header's column names (lower case, spaces as underscores);
    refuses an empty or unreadable file, or a header that lacks a required column, naming them."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError({"file": "The file is empty."}) from None
    except csv.Error as exc:
        raise ValidationError({"file": f"The file is not readable as CSV: {exc}"}) from exc
    names = column_names(header)
    _header_check(names, required=required, expected=expected)
    return reader, names


@dataclass(frozen=True)
class Line:
    """One data row of a file: its line (CSV: the line it starts on; XLSX: its row number) and its values."""

    line: int
    values: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def extra(self) -> bool:
        """More values than the header has columns."""
        return len(self.values) > len(self.names)

    def cells(self, columns: Iterable[str] | None = None) -> dict[str, str]:
        by_name = dict(zip(self.names, self.values, strict=False))
        return {c: by_name.get(c, "") for c in (self.names if columns is None else columns)}


@dataclass(frozen=True)
class Table:
    """An uploaded file read: the header's column names and every non-blank data row."""

    columns: tuple[str, ...]
    rows: list[Line]


def _is_xlsx(data) -> bool:
    if isinstance(data, str):
        return data.startswith(_XLSX_CARRIED)
    return bytes(data[:4]) == b"PK\x03\x04"  # a zip archive: the only binary file a spreadsheet saves that we read


def _xlsx_bytes(data) -> bytes:
    if isinstance(data, str):
        try:
            return base64.b64decode(data.removeprefix(_XLSX_CARRIED), validate=True)
        except ValueError:
            raise ValidationError({"file": "The preview was lost; choose the file again."}) from None
    return bytes(data)


def _text(value) -> str:
    """A spreadsheet cell as the text a CSV file would hold."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _xlsx_records(content: bytes) -> Iterable[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # imported here: only XLSX files need it

    try:
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_text(v) for v in row]
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ValidationError({"file": f"This is not a readable XLSX file ({exc.__class__.__name__})."}) from None


def _csv_records(text: str) -> Iterable[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    ended = 0
    try:
        for values in reader:
            # A quoted value may span lines: a row is named by the line it starts on.
            line, ended = ended + 1, reader.line_num
            yield line, values
    except csv.Error as exc:
        raise ValidationError({"file": f"Line {reader.line_num}: not readable as CSV ({exc})."}) from exc


def sheet_rows(file, *, name: str = "") -> Iterable[tuple[int, list[str]]]:
    """Every row of an uploaded CSV or XLSX file (bytes, an upload or the text `upload_carry` made) with its line
    number, the header first; values as text, dates as YYYY-MM-DD."""
    data = file.read() if hasattr(file, "read") else file
    name = name or getattr(file, "name", "") or ""
    if name and not name.lower().endswith((".csv", ".xlsx", ".txt")):
        raise ValidationError({"file": "Upload a .csv or .xlsx file."})
    if isinstance(data, bytes | bytearray) and len(data) > MAX_IMPORT_BYTES:
        raise ValidationError({"file": f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB."})
    if _is_xlsx(data):
        return _xlsx_records(_xlsx_bytes(data))
    return _csv_records(decode_import_file(data))


def _undefused(text: str) -> str:
    # The downloads put a quote before a value that starts like a formula; an exported file re-imports unchanged.
    return text[1:] if text.startswith("'") and text[1:2] and text[1] in _FORMULA_START else text


def table_read(file, *, name: str = "", required: Sequence[str] = (), expected: Sequence[str] = (),
               max_rows: int = MAX_IMPORT_ROWS) -> Table:
    """An uploaded CSV or XLSX file read into its column names and non-blank data rows with their line numbers;
    refuses, naming why, a file that is too big, unreadable, empty, without rows, lacking a required column or
    longer than `max_rows`."""
    records = iter(sheet_rows(file, name=name))
    header = next(records, None)
    if header is None or not any(v.strip() for v in header[1]):
        raise ValidationError({"file": "The file is empty."})
    names = column_names(header[1])
    while names and not names[-1]:
        names.pop()  # a sheet's rows are as wide as its widest row
    _header_check(names, required=required, expected=expected or required)
    rows: list[Line] = []
    for line, values in records:
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= max_rows:
            raise ValidationError({"file": f"The file has more than {max_rows:,} rows; split it."})
        while values and not values[-1].strip() and len(values) > len(names):
            values = values[:-1]  # spreadsheets pad rows with empty cells
        rows.append(Line(line=line, values=tuple(_undefused(v.strip()) for v in values), names=tuple(names)))
    if not rows:
        raise ValidationError({"file": "The file has a header but no rows."})
    return Table(columns=tuple(names), rows=rows)


def upload_carry(upload) -> str:
    """The uploaded file as text to carry from the preview to the confirmation: a CSV file's text, or an XLSX file
    as a data URL; `table_read` reads either."""
    data = upload.read() if hasattr(upload, "read") else upload
    name = getattr(upload, "name", "") or ""
    if name and not name.lower().endswith((".csv", ".xlsx", ".txt")):
        raise ValidationError({"file": "Upload a .csv or .xlsx file."})
    if isinstance(data, bytes | bytearray) and len(data) > MAX_IMPORT_BYTES:
        raise ValidationError({"file": f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB."})
    if isinstance(data, bytes | bytearray) and _is_xlsx(data):
        return _XLSX_CARRIED + base64.b64encode(bytes(data)).decode("ascii")
    return decode_import_file(data)


def date_parse(row: RowOutcome, column: str, text: str, *, required: bool) -> date | None:
    """A YYYY-MM-DD cell as a date, or None with the row failed naming the column (when required or unreadable)."""
    if not text:
        if required:
            row.fail(column, "a date is required (YYYY-MM-DD).")
        return None
    try:
        if not _DATE_RE.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        row.fail(column, f"{text} is not a date; write it as YYYY-MM-DD, e.g. 2026-01-01.")
        return None


# --- downloads ---------------------------------------------------------------------------------------------


def _xlsx_cell(value):
    if isinstance(value, (int, Decimal, float, date)) and not isinstance(value, bool):
        return value  # a number or date cell, never a formula
    text = "" if value is None else str(value)
    # text that starts like a formula would run as one in a spreadsheet
    return "'" + text if text.startswith(_FORMULA_START) else text


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence], *,
                  sheet_title: str = "Sheet1") -> HttpResponse:
    """An XLSX download (openpyxl write-only: rows stream into the file); numbers stay numbers, dates dates."""
    from openpyxl import Workbook  # imported here: only the downloads need it
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=sheet_title[:31])
    sheet.append([str(h) for h in header])
    for row in rows:
        cells = []
        for value in row:
            value = _xlsx_cell(value)
            if isinstance(value, datetime):
                value = value.replace(tzinfo=None)  # a spreadsheet has no time zones; the value is already local
            if isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd" if not isinstance(value, datetime) else "yyyy-mm-dd hh:mm"
                value = cell
            cells.append(value)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
