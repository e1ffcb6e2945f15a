"""Spreadsheet files for the import tests: the same rows as a CSV text, as an XLSX workbook."""

from __future__ import annotations

import io

from openpyxl import Workbook


def xlsx_of(text: str) -> bytes:
    """An XLSX workbook whose first sheet holds `text`'s comma-separated lines, one row each, every cell as text."""
    book = Workbook()
    for line in text.strip("\n").split("\n"):
        book.active.append(line.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
