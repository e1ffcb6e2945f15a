"""Array literals read back by PostgreSQL exactly as written, for every kind of value the batch inserts send."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from clinicdesk.core.pg_arrays import array_literal, int_array_literal

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="array literals are a PostgreSQL form; SQLite inserts "
                                                                 "row by row"),
]


def _round_trip(literal: str, cast: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT u FROM unnest(%s::{cast}[]) WITH ORDINALITY AS t(u, n) ORDER BY n", [literal])  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def test_text_with_the_characters_an_array_literal_gives_meaning_to_reads_back_unchanged():
    values = ['say "hi"', "back\\slash", "a,b", "{braces}", "NULL", "", "  spaced  ", "café – ü", None, "tab\tnew\nline"]
    assert _round_trip(array_literal(values), "text") == values


def test_numbers_dates_times_and_flags_read_back_unchanged():
    moment = datetime(2026, 11, 27, 13, 48, 0, 352283, tzinfo=UTC)
    assert _round_trip(array_literal([Decimal("-12.30"), Decimal("0.00"), None, Decimal("1060012.34")]),
                       "numeric") == [Decimal("-12.30"), Decimal("0.00"), None, Decimal("1060012.34")]
    assert _round_trip(array_literal([date(2026, 1, 31), None]), "date") == [date(2026, 1, 31), None]
    assert _round_trip(array_literal([moment, None]), "timestamptz") == [moment, None]
    assert _round_trip(array_literal([True, False, None]), "boolean") == [True, False, None]
    assert _round_trip(array_literal([3, -7, None]), "bigint") == [3, -7, None]
    assert _round_trip(int_array_literal([1, None, 2**40]), "bigint") == [1, None, 2**40]
