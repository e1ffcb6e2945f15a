"""Setting one column on many rows, each to its own value, in one statement per chunk.

Django's `bulk_update` writes `CASE WHEN id = 1 THEN ... WHEN id = 2 THEN ...` and spends most of a batch's time
building and sending it (quadratic in the batch size). Posting a review queue or a lockbox file sets one foreign
key per row (a service line's open item, an encounter's or a payment's journal entry), so it joins a list of
(id, value) pairs instead: `WITH v(id, value) AS (VALUES ...) UPDATE t SET col = v.value FROM v WHERE t.id = v.id`,
which PostgreSQL and SQLite (3.33+) both run.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

CHUNK = 1000


def column_set(model, field: str, pairs: Iterable[tuple[int, int | None]]) -> int:
    """Set `field` (an integer column, e.g. a foreign key) of each row `id` to its value; returns the rows changed."""
    pairs = list(pairs)
    if not pairs:
        return 0
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field).column)
    pk = connection.ops.quote_name(model._meta.pk.column)
    cast = "::bigint" if connection.vendor == "postgresql" else ""
    changed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), CHUNK):
            chunk = pairs[start:start + CHUNK]
            values = ", ".join([f"(%s{cast}, %s{cast})"] * len(chunk))
            params = [v for pair in chunk for v in pair]
            cursor.execute(
                f"WITH v(id, value) AS (VALUES {values}) "  # noqa: S608  (names from the model, values as parameters)
                f"UPDATE {table} SET {column} = v.value FROM v WHERE {table}.{pk} = v.id",
                params,
            )
            changed += cursor.rowcount
    return changed
