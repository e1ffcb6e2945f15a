"""Writing many rows of one model at once, each with its own values, for the 835 posting and the checks it runs."""

from __future__ import annotations

from django.db import connection

from clinicdesk.core.pg_arrays import array_literal, int_array_literal

CHUNK = 5000


def rows_set(model, objs, fields: list[str]) -> None:
    """`bulk_update` without its CASE WHEN per object and field. On PostgreSQL one `UPDATE ... FROM unnest(...)`
    per 5,000 rows, each column sent as one array literal (no per-value work for the driver); elsewhere Django's
    bulk_update."""
    objs = list(objs)
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields, batch_size=1000)
        return
    meta = model._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    types = [(f.target_field if f.is_relation else f).db_type(connection).split("(")[0] for f in columns]
    types = ["bigint" if t in ("bigserial", "serial") else t for t in types]
    sets = ", ".join(f"{quote(f.column)} = v.c{n}" for n, f in enumerate(columns))
    arrays = ", ".join(f"%s::{t}[]" for t in types)
    names = ", ".join(f"c{n}" for n in range(len(columns)))
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    sql = (f"UPDATE {table} SET {sets} FROM unnest(%s::bigint[], {arrays}) AS v(id, {names}) "  # noqa: S608  (names from the model; values are parameters)
           f"WHERE {table}.{pk} = v.id")
    with connection.cursor() as cursor:
        for start in range(0, len(objs), CHUNK):
            chunk = objs[start:start + CHUNK]
            cursor.execute(sql, [int_array_literal(obj.pk for obj in chunk),
                                 *(array_literal(getattr(obj, f.attname) for obj in chunk) for f in columns)])
