"""Writing many rows of one model at once, each with its own values, for the 835 posting and the checks it runs."""

from __future__ import annotations

from django.db import connection


def rows_set(model, objs, fields: list[str], batch_size: int = 1000) -> None:
    """`bulk_update` without its CASE WHEN per object and field: on PostgreSQL one UPDATE ... FROM (VALUES ...)
    per batch, which costs next to nothing in Python; elsewhere Django's bulk_update."""
    objs = list(objs)
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields, batch_size=batch_size)
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    sets = ", ".join(f'"{f.column}" = CAST(v."{f.column}" AS {f.db_type(connection)})' for f in columns)
    names = ", ".join(f'"{c}"' for c in [pk.column, *(f.column for f in columns)])
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            chunk = objs[start:start + batch_size]
            row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
            params = []
            for obj in chunk:
                params.append(obj.pk)
                params += [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns]
            values = ", ".join([row] * len(chunk))
            sql = (f'UPDATE "{meta.db_table}" AS t SET {sets} FROM (VALUES {values}) AS v({names}) '  # noqa: S608  (names from the model; values are parameters)
                   f'WHERE t."{pk.column}" = CAST(v."{pk.column}" AS {pk.db_type(connection)})')
            cursor.execute(sql, params)
