"""CSV downloads for every list: streamed, and safe to open in a spreadsheet."""

import csv
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)  # a number, negative or not, is never a formula: keep "-5.00" a number for the spreadsheet
    text = "" if value is None else str(value)
    # A leading formula character would run as a formula in a spreadsheet (CSV injection).
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"  # lets spreadsheet programs detect UTF-8
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_cell(v) for v in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
