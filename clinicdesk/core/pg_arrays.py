"""PostgreSQL array literals for set-based inserts (`INSERT ... SELECT FROM unnest(%s::bigint[], ...)`).

The driver adapts a Python list element by element in Python; a batch of 2,000 lines has 18,000 values. Written
here as one text literal per column ('{1,2,NULL}', '{"a memo","another"}') the driver sends a single string and
PostgreSQL parses it, which costs a fraction of that. Values are ints, Decimals, dates, datetimes, booleans,
strings or None.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal


def _quoted(text: str) -> str:
    if '"' in text or "\\" in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text + '"'


def _element(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    return _quoted(value if isinstance(value, str) else (value.isoformat() if hasattr(value, "isoformat") else str(value)))


# The common types by exact type, each written the cheapest way that PostgreSQL reads back the same: numbers and
# ISO dates hold no character that needs quoting; text is always quoted (so the text 'NULL' stays text).
_FAST = {
    str: _quoted,
    int: str,
    Decimal: str,
    date: date.isoformat,
    datetime: datetime.isoformat,
    type(None): lambda _: "NULL",
}


def array_literal(values: Iterable) -> str:
    """The array literal of `values`, to pass as one parameter cast to the column's array type."""
    fast = _FAST
    return "{" + ",".join([(fast.get(type(v)) or _element)(v) for v in values]) + "}"


def int_array_literal(values: Iterable[int | None]) -> str:
    """The same for integers (ids) and None only: the common case, without the per-value type checks."""
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"
