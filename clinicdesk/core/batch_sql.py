"""Setting one column on many rows, each to its own value, in one statement per chunk.

`rows_insert` is the same idea for inserts (see its docstring); `model_new` builds the batch's new instances the
cheap way.

Django's `bulk_update` writes `CASE WHEN id = 1 THEN ... WHEN id = 2 THEN ...` and spends most of a batch's time
building and sending it (quadratic in the batch size). Posting a review queue or a lockbox file sets one foreign
key per row (a service line's open item, an encounter's or a payment's journal entry), so it joins a list of
(id, value) pairs instead: `WITH v(id, value) AS (VALUES ...) UPDATE t SET col = v.value FROM v WHERE t.id = v.id`,
which SQLite (3.33+) runs; on PostgreSQL the pairs go as two arrays, `FROM unnest(ids, values)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import cache

from django.db import connection

from .pg_arrays import array_literal, int_array_literal

CHUNK = 1000


def column_set(model, field: str, pairs: Iterable[tuple[int, int | Decimal | None]], **also) -> int:
    """Set `field` (an integer column, e.g. a foreign key, or a decimal one, e.g. a quantity) of each row `id` to its
    value; returns the rows changed. `also` sets other fields to one value for all those rows in the same statement."""
    pairs = list(pairs)
    if not pairs:
        return 0
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    target = model._meta.get_field(field)
    column = ops.quote_name(target.column)
    pk = ops.quote_name(model._meta.pk.column)
    decimal = target.get_internal_type() == "DecimalField"
    cast = "::bigint" if connection.vendor == "postgresql" else ""
    value_cast = ("::numeric" if decimal else "::bigint") if connection.vendor == "postgresql" else ""
    extra_sql, extra_params = "", []
    for name, value in also.items():
        other = model._meta.get_field(name)
        extra_sql += f", {ops.quote_name(other.column)} = %s"
        extra_params.append(other.get_db_prep_save(value, connection))
    changed = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The pairs as two arrays, each one parameter: no per-value work for the driver.
            values = array_literal(p[1] for p in pairs) if decimal else int_array_literal(p[1] for p in pairs)
            cursor.execute(
                f"UPDATE {table} SET {column} = v.value{extra_sql} "  # noqa: S608
                f"FROM unnest(%s::bigint[], %s{value_cast}[]) AS v(id, value) WHERE {table}.{pk} = v.id",
                [*extra_params, int_array_literal(p[0] for p in pairs), values],
            )
            return cursor.rowcount
        for start in range(0, len(pairs), CHUNK):
            chunk = pairs[start:start + CHUNK]
            values = ", ".join([f"(%s{cast}, %s{value_cast})"] * len(chunk))
            params = [v for pair in chunk for v in pair]
            cursor.execute(
                f"WITH v(id, value) AS (VALUES {values}) "  # noqa: S608  (names from the model, values as parameters)
                f"UPDATE {table} SET {column} = v.value{extra_sql} FROM v WHERE {table}.{pk} = v.id",
                params + extra_params,
            )
            changed += cursor.rowcount
    return changed


def next_ids(model, count: int) -> list[int]:
    """`count` new ids from the table's sequence (PostgreSQL), for rows that others must name before they are
    inserted (a payment's journal entry carries the payment's id in its reference)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [table, model._meta.pk.column, count])
        return [row[0] for row in cursor.fetchall()]


def rows_insert(model, objs: list) -> list:
    """Insert new model instances and give them their ids, in order; returns them.

    On PostgreSQL one `INSERT ... SELECT FROM unnest(...) RETURNING id` per chunk, each column passed as one array:
    `bulk_create` prepares and inspects every value of every row in Python, which costs more than the insert. Fields
    set on save (`auto_now`, `auto_now_add`) are stamped here as `bulk_create` would. Elsewhere it is `bulk_create`.
    """
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=CHUNK)
    # Ids already drawn with `next_ids` go in with the rows.
    with_ids = objs[0].pk is not None
    fields = [f for f in model._meta.concrete_fields if with_ids or f is not model._meta.pk]
    stamped = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    if stamped:
        from django.utils import timezone

        now = timezone.now()
        for obj in objs:
            for f in stamped:
                setattr(obj, f.attname, now)
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    types = [(f.target_field if f.is_relation else f).db_type(connection).split("(")[0] for f in fields]
    types = ["bigint" if t in ("bigserial", "serial") else t for t in types]
    arrays = ", ".join(f"%s::{t}[]" for t in types)
    pk = connection.ops.quote_name(model._meta.pk.column)
    plain = {"CharField", "TextField", "DateField", "DateTimeField", "DecimalField", "BooleanField", "IntegerField",
             "PositiveSmallIntegerField", "PositiveIntegerField", "SmallIntegerField", "BigIntegerField", "ForeignKey",
             "OneToOneField", "BigAutoField", "AutoField"}
    kinds = [f.get_internal_type() for f in fields]
    db = connection.alias
    with connection.cursor() as cursor:
        for start in range(0, len(objs), CHUNK):
            chunk = objs[start:start + CHUNK]
            params = []
            for f, kind in zip(fields, kinds, strict=True):
                name = f.attname
                if kind in plain:
                    params.append(array_literal(getattr(obj, name) for obj in chunk))
                else:
                    params.append([f.get_db_prep_save(getattr(obj, name), connection) for obj in chunk])
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) RETURNING {pk}",  # noqa: S608
                params,
            )
            for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                if obj.pk is not None and obj.pk != pk:
                    raise RuntimeError("rows_insert: ids came back out of order")
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = db
    return objs


@cache
def _construction(model) -> tuple[tuple, frozenset]:
    fields = tuple((f.attname, f.name if f.is_relation else None, f) for f in model._meta.concrete_fields)
    names = frozenset(n for attname, name, _ in fields for n in (attname, name) if n)
    return fields, names


def model_new(model, **values):
    """A new, unsaved instance of `model`, the way Django builds the rows it reads: every concrete field passed in
    order, defaults filled in here. `Model(**values)` looks each field up among the keyword arguments and costs two to
    three times as much, which a batch of 500 payments and their 500 entries pays on every batch. Takes field
    attnames (`account_id`) or relation names with an instance or None (`account=`), which is then cached on the new
    instance as `Model(account=...)` would; an unknown name is an error."""
    fields, names = _construction(model)
    unknown = values.keys() - names
    if unknown:
        raise TypeError(f"{model.__name__} has no field {sorted(unknown)[0]!r}")
    args = []
    related = []
    for attname, name, field in fields:
        if attname in values:
            args.append(values[attname])
        elif name is not None and name in values:
            obj = values[name]
            args.append(None if obj is None else getattr(obj, field.target_field.attname))
            related.append((name, obj))
        else:
            args.append(field.get_default())
    instance = model(*args)
    for name, obj in related:
        instance._state.fields_cache[name] = obj
    return instance
