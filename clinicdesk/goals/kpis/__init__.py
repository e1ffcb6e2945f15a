"""KPIs, one module per source; importing this package registers them all (see registry.py)."""

from . import billing, insurance, inventory, ledger, rostering, scheduling, staff  # noqa: F401
