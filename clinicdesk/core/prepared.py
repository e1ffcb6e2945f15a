"""Reads on the hottest request paths, with the ORM's SQL built once per process instead of once per call.

Building and compiling a QuerySet costs several times more than running it for the one-row lookups that
every booking and every API call makes (the token, the patient, the provider, the visit type...). A
`PreparedQuery` builds its QuerySet once with stand-in values, keeps the SQL and the compiler the ORM made,
and on each call runs that SQL with the real values through Django's own cursor (so query logging,
execute wrappers and error translation still apply) and turns the rows into what the QuerySet would have
given: model instances (with their `select_related` objects and annotations), `values_list` tuples or flat
values.

Only parameters that reach the SQL unchanged can be prepared: integers, strings, dates and datetimes used
in exact or range comparisons. Anything the ORM rewrites (`__in` lists, `icontains`, an `F()`...) is
refused when the query is first prepared, naming the parameter, so a mistake shows in the first test run.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import FlatValuesListIterable, ModelIterable, ValuesListIterable, get_related_populators

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class _Compiled:
    """The SQL of one prepared query on one database connection, and how to read its rows."""

    def __init__(self, queryset: QuerySet, slots: list[str | None], constants: list[Any], sql: str, compiler) -> None:
        self.alias = queryset.db
        self.kind = queryset._iterable_class
        self.slots = slots
        self.constants = constants
        self.sql = sql
        self.compiler = compiler
        if self.kind is ModelIterable:
            select, klass_info = compiler.select, compiler.klass_info
            fields = klass_info["select_fields"]
            self.model_slice = slice(fields[0], fields[-1] + 1)
            self.init_list = [s[0].target.attname for s in select[self.model_slice]]
            self.model = klass_info["model"]
            self.fetch_mode = queryset._fetch_mode
            self.populators = get_related_populators(klass_info, select, self.alias, self.fetch_mode)
            self.annotations = dict(compiler.annotation_col_map or {})


class PreparedQuery:
    """A read whose SQL is compiled once per process and thread; call it with the values of its parameters.

    `build` takes the parameters as keyword arguments and returns the QuerySet (sliced, ordered, with
    `select_related`, `values_list` or `values_list(flat=True)` as needed), for example::

        PATIENT = PreparedQuery(lambda public_id, organization_id: Patient.objects.filter(
            public_id=public_id, organization_id=organization_id)[:1])
        found = PATIENT.first(public_id=value, organization_id=actor.organization_id)
    """

    def __init__(self, build: Callable[..., QuerySet]) -> None:
        self.build = build
        self._local = threading.local()

    def __call__(self, **params: Any) -> list:
        """The rows, as the QuerySet built with these values would give them."""
        return run_together((self, params))[0]

    def first(self, **params: Any) -> Any | None:
        rows = self(**params)
        return rows[0] if rows else None

    def _statement(self, params: dict[str, Any]) -> tuple[_Compiled, list] | None:
        """The compiled query and its parameter values; None when no row can match."""
        if any(isinstance(v, int) and not _INT64_MIN <= v <= _INT64_MAX for v in params.values()):
            return None  # no column holds such a number (and SQLite would refuse to compare it)
        compiled = self._compiled(params)
        connection = connections[compiled.alias]
        values = [
            _adapt(connection, params[slot]) if slot is not None else constant
            for slot, constant in zip(compiled.slots, compiled.constants, strict=True)
        ]
        return compiled, values

    def _rows(self, compiled: _Compiled, rows: list) -> list:
        if not rows:
            return []
        rows = compiled.compiler.results_iter(results=[rows])
        if compiled.kind is FlatValuesListIterable:
            return [row[0] for row in rows]
        if compiled.kind is ValuesListIterable:
            return [tuple(row) for row in rows]
        instances = [self._instance(compiled, row) for row in rows]
        if compiled.fetch_mode.track_peers:
            peers = [weakref.ref(obj) for obj in instances]
            for obj in instances:
                obj._state.peers = peers
        return instances

    @staticmethod
    def _instance(compiled: _Compiled, row):
        obj = compiled.model.from_db(
            compiled.alias, compiled.init_list, row[compiled.model_slice], fetch_mode=compiled.fetch_mode
        )
        for populator in compiled.populators:
            populator.populate(row, obj)
        for name, position in compiled.annotations.items():
            setattr(obj, name, row[position])
        return obj

    def _compiled(self, params: dict[str, Any]) -> _Compiled:
        cache = getattr(self._local, "compiled", None)
        if cache is None:
            cache = self._local.compiled = {}
        key = tuple(sorted(params))
        compiled = cache.get(key)
        if compiled is None:
            compiled = cache[key] = self._compile(params)
        return compiled

    def _compile(self, params: dict[str, Any]) -> _Compiled:
        stand_ins = {name: _stand_in(n, name, value) for n, (name, value) in enumerate(sorted(params.items()))}
        queryset = self.build(**stand_ins)
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable, FlatValuesListIterable):
            raise TypeError("A prepared query returns model instances or values_list rows.")
        connection = connections[queryset.db]
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, sql_params = compiler.as_sql()
        adapted = {name: _adapt(connection, value) for name, value in stand_ins.items()}
        slots: list[str | None] = []
        for value in sql_params:
            slots.append(next((name for name, stand_in in adapted.items() if _same(value, stand_in)), None))
        unused = sorted(set(params) - set(slots))
        if unused:
            raise ValueError(f"Parameter {', '.join(unused)} does not reach the SQL unchanged; it cannot be prepared.")
        return _Compiled(queryset, slots, list(sql_params), sql, compiler)


def run_together(*calls: tuple[PreparedQuery | str, Any]) -> list[list]:
    """Run several reads and return each one's rows, in order.

    Each call is `(prepared_query, params_dict)` or, for hand-written SQL, `(sql, params_list)` (rows come
    back as the cursor gives them). On PostgreSQL they go in one round trip: one text of several statements,
    run one after the other in the current transaction, each with its own snapshot, and read back result
    by result. Elsewhere they run one after the other. All calls use the default database.
    """
    statements: list[tuple[PreparedQuery | None, _Compiled | None, str, list] | None] = []
    for query, params in calls:
        if isinstance(query, str):
            statements.append((None, None, query, list(params)))
            continue
        prepared = query._statement(params)
        statements.append(None if prepared is None else (query, prepared[0], prepared[0].sql, prepared[1]))
    ready = [s for s in statements if s is not None]
    fetched: list[list] = []
    if ready:
        connection = connections["default"]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and len(ready) > 1:
                cursor.execute("; ".join(sql for _q, _c, sql, _v in ready), [v for _q, _c, _s, values in ready for v in values])
                for n in range(len(ready)):
                    if n:
                        cursor.nextset()
                    fetched.append(cursor.fetchall())
            else:
                for _query, _compiled, sql, values in ready:
                    cursor.execute(sql, values)
                    fetched.append(cursor.fetchall())
    out, rows = [], iter(fetched)
    for statement in statements:
        if statement is None:
            out.append([])
            continue
        query, compiled, _sql, _values = statement
        got = next(rows)
        out.append(query._rows(compiled, got) if query is not None else got)
    return out


def _stand_in(n: int, name: str, value: Any) -> Any:
    """A value of the parameter's type that no real call passes, so its place in the SQL can be found."""
    if isinstance(value, bool):
        raise TypeError(f"Parameter {name}: a boolean cannot be told apart in the SQL; put it in the query.")
    if isinstance(value, int):
        return -2_000_000_000 + n  # within a 32-bit column's range, so the ORM keeps the comparison
    if isinstance(value, str):
        return f"\x1fprepared:{name}\x1f"
    if isinstance(value, datetime):
        return datetime(1901, 1, 1, 0, 0, n, 1, tzinfo=UTC)
    if isinstance(value, date):
        return date(1901, 1, 1 + n)
    raise TypeError(f"Parameter {name}: {type(value).__name__} values cannot be prepared.")


def _adapt(connection, value: Any) -> Any:
    """What the ORM hands the database for a value of a date or datetime column; other values pass as they are."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _same(sql_value: Any, stand_in: Any) -> bool:
    return type(sql_value) is type(stand_in) and sql_value == stand_in
