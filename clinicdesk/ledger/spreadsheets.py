"""XLSX downloads of the ledger's statements, written with openpyxl in write-only mode (rows stream into the file)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@")


def _cell(value):
    if isinstance(value, Decimal):
        return value  # a number cell, never a formula
    text = "" if value is None else str(value)
    # text that starts like a formula would run as one in a spreadsheet
    return "'" + text if text.startswith(_FORMULA_START) else text


def xlsx_response(filename: str, sheet_title: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    from openpyxl import Workbook  # imported here: only the downloads need it

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=sheet_title[:31])
    sheet.append([str(h) for h in header])
    for row in rows:
        sheet.append([_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
