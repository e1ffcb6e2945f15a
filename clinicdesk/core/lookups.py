"""`field__in_array=[...]`: the `in` lookup for the long id and key lists of batch services.

`IN (%s, %s, ...)` with 500 values makes the driver split a 500-placeholder statement and Django prepare each value
twice, on every batch (psycopg caches the parsing of short statements only). On PostgreSQL this lookup sends the
values as one array literal, `= ANY(%s::bigint[])` (or `text[]`), which the server parses and the indexes answer
the same way; elsewhere it is `in`. Values are ints or strings (ids, not model instances, for a foreign key).
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db.models import Field
from django.db.models.fields.related import ForeignObject
from django.db.models.lookups import In

from .pg_arrays import array_literal


@ForeignObject.register_lookup
@Field.register_lookup
class InArray(In):
    lookup_name = "in_array"

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value():
            return self.as_sql(compiler, connection)
        values = list(dict.fromkeys(v for v in self.rhs if v is not None))
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        kind = "bigint" if all(type(v) is int for v in values) else "text"
        return f"{lhs} = ANY(%s::{kind}[])", (*lhs_params, array_literal(values))
