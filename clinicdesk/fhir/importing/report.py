"""What one import did, per bundle and in total: counts of what was created, updated and skipped, each skip with
its reason, and the notes worth a look (a phone number left out, a likely duplicate)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

CREATED = "created"
UPDATED = "updated"
SKIPPED = "skipped"
ACTIONS = (CREATED, UPDATED, SKIPPED)


class BundleRefused(Exception):  # noqa: N818  (a refusal, not a crash: the message is for the person importing)
    """The bundle cannot be imported; nothing of it was written. The message names the entry and the element."""

    def __init__(self, message: str, *, entry: int | None = None, full_url: str = "", path: str = "") -> None:
        self.entry = entry
        self.full_url = full_url
        self.path = path
        where = []
        if entry is not None:
            where.append(f"entry {entry}" + (f" ({full_url})" if full_url else ""))
        if path:
            where.append(path)
        self.detail = message
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


@dataclass
class ImportReport:
    """Counts by (action, what) and skip reasons by (what, reason); `money` sums what was charged and paid."""

    name: str = ""
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    money: Counter = field(default_factory=Counter)
    refused: str = ""
    dry_run: bool = False

    def add(self, action: str, what: str, n: int = 1, *, reason: str = "") -> None:
        if n <= 0:
            return
        self.counts[(action, what)] += n
        if action == SKIPPED:
            self.reasons[(what, reason or "no reason given")] += n

    def count(self, action: str, what: str) -> int:
        return self.counts[(action, what)]

    def total(self, action: str) -> int:
        return sum(n for (a, _), n in self.counts.items() if a == action)

    def add_money(self, what: str, amount: Decimal) -> None:
        self.money[what] += amount

    def merge(self, other: ImportReport) -> None:
        self.counts.update(other.counts)
        self.reasons.update(other.reasons)
        self.money.update(other.money)

    def lines(self) -> list[str]:
        """The report as the command prints it."""
        out = []
        for action in (CREATED, UPDATED):
            parts = [f"{n} {what}" for (a, what), n in sorted(self.counts.items()) if a == action]
            out.append(f"  {action}: {', '.join(parts) if parts else 'nothing'}")
        skipped = [(what, reason, n) for (what, reason), n in sorted(self.reasons.items())]
        out.append(f"  skipped: {'nothing' if not skipped else ''}".rstrip())
        for what, reason, n in skipped:
            out.append(f"    {n} {what}: {reason}")
        for what, amount in sorted(self.money.items()):
            out.append(f"  {what}: ${amount:,.2f}")
        for note in self.notes:
            out.append(f"  note: {note}")
        return out
