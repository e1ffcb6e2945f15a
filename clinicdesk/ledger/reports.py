"""The ledger's reports: the trial balance, one account's ledger with its running balance, the journal, and
A/R aging by patient or by payer. Each takes the acting user and reads only the user's organization; the views
check the permission.

Aging is one GROUP BY over the lines that name an open item, joined to the items: each line's amount goes into
the bucket of its item's `service_date` (a CASE on the date against cut-off dates worked out here), so the
database returns one row per patient or payer and Python never sees a line. An item's lines always land in the
same bucket, so the buckets are the sums of the items' balances as of the date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Sum, Value, Window
from django.db.models.functions import Coalesce

from clinicdesk.patients.models import Patient

from .choices import DEBIT_NORMAL, AccountRole, PartyKind
from .models import MONEY, Account, JournalEntry, JournalLine, OpenItem
from .selectors import ZERO, _money, account_balances

BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")
# The last day of each bucket but the last, in days since the service.
BUCKET_LIMITS = (30, 60, 90, 120)
PATIENT_RESPONSIBILITY = "Patient responsibility"
_AMOUNT = DecimalField(**MONEY)
CENT = Decimal("0.01")


# --- trial balance -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialBalanceRow:
    account: Account
    debit: Decimal
    credit: Decimal


@dataclass(frozen=True)
class TrialBalance:
    as_of: date
    rows: list[TrialBalanceRow]
    total_debit: Decimal
    total_credit: Decimal


def trial_balance(*, user, as_of: date) -> TrialBalance:
    """Every account with a balance on `as_of` in its debit or credit column; the two totals are equal."""
    balances = account_balances(organization_id=user.organization_id, as_of=as_of)
    accounts = Account.objects.filter(organization_id=user.organization_id, pk__in=[a for a, b in balances.items() if b])
    rows = [
        TrialBalanceRow(account=a, debit=max(balances[a.pk], ZERO), credit=max(-balances[a.pk], ZERO))
        for a in accounts.order_by("code")
    ]
    return TrialBalance(
        as_of=as_of, rows=rows,
        total_debit=sum((r.debit for r in rows), ZERO), total_credit=sum((r.credit for r in rows), ZERO),
    )


HALF_CENT = Decimal("0.005")
ZERO_AMOUNT = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))


def books_integrity() -> tuple[bool, str]:
    """Every organization's books, checked whole (after a restore): each posted entry's lines sum to zero and to its
    stored total and count, and each trial balance's debit and credit totals are equal."""
    posted = JournalLine.objects.filter(entry__posted_at__isnull=False)
    # Amounts are whole cents, so a real difference is at least a cent; comparing with half a cent keeps the check
    # exact on SQLite too, which adds decimals as binary floats (112.42 + 72.00 is not 184.42 there).
    unbalanced = (posted.values("entry_id").annotate(net=Sum("amount"))
                  .filter(Q(net__gte=HALF_CENT) | Q(net__lte=-HALF_CENT)).values_list("entry_id", flat=True))
    first = list(unbalanced[:1])
    if first:
        return False, f"journal entry {first[0]} does not balance (its lines do not sum to zero)"
    entries = JournalEntry.objects.filter(posted_at__isnull=False)
    for entry_id, total, count, debits, lines in (
        entries.annotate(debits=Coalesce(Sum("lines__amount", filter=Q(lines__amount__gt=0)), ZERO_AMOUNT),
                         lines_found=Count("lines"))
        .annotate(off=F("debits") - F("total"))
        .filter(Q(off__gte=HALF_CENT) | Q(off__lte=-HALF_CENT) | ~Q(lines_found=F("line_count")))
        .values_list("id", "total", "line_count", "debits", "lines_found")[:1]
    ):
        return False, (f"journal entry {entry_id} does not match its lines (total {total}, {count} lines; "
                       f"the lines hold {_money(debits)} of debits in {lines} lines)")
    organizations = entries.values("organization_id").distinct().order_by("organization_id")
    grand = ZERO
    for organization_id in organizations.values_list("organization_id", flat=True):
        balances = account_balances(organization_id=organization_id).values()
        debit = sum((b for b in balances if b > 0), ZERO)
        credit = sum((-b for b in balances if b < 0), ZERO)
        if debit != credit:
            return False, f"organization {organization_id}'s trial balance is off: debits {debit}, credits {credit}"
        grand += debit
    books = organizations.count()
    return True, (f"balanced: {entries.count()} posted entries in {books} {'organization' if books == 1 else 'organizations'}, "
                  f"trial balances equal ({grand} of debits in all)")


# --- one account's ledger -------------------------------------------------------------------------------------


@dataclass
class AccountLedger:
    account: Account
    date_from: date | None
    date_to: date | None
    opening: Decimal  # signed, debits positive, before date_from
    lines: QuerySet  # JournalLine with `running`: the signed balance after the line, the opening balance included
    closing: Decimal
    sign: int = field(init=False)

    def __post_init__(self) -> None:
        # Balances read in the account's normal direction: an asset's debit balance and a revenue's credit balance
        # both show as positive numbers.
        self.sign = 1 if self.account.account_type in DEBIT_NORMAL else -1


def account_scope(*, user) -> QuerySet:
    """The user's organization's accounts."""
    return Account.objects.filter(organization_id=user.organization_id)


def account_ledger(*, user, account: Account, date_from: date | None = None, date_to: date | None = None) -> AccountLedger:
    """An account's lines in date order with the running balance after each (`running`, signed, debits positive,
    the opening balance included), the balance before `date_from` and the balance at `date_to`."""
    if account.organization_id != user.organization_id:
        raise ValidationError({"account": "Unknown account."})
    if date_from and date_to and date_from > date_to:
        raise ValidationError({"date_to": "The end date is before the start date."})
    base = JournalLine.objects.filter(organization_id=user.organization_id, account=account)
    opening = ZERO
    if date_from is not None:
        opening = _money(base.filter(entry_date__lt=date_from).aggregate(t=Sum("amount"))["t"])
    lines = base
    if date_from is not None:
        lines = lines.filter(entry_date__gte=date_from)
    if date_to is not None:
        lines = lines.filter(entry_date__lte=date_to)
    order = [F("entry_date").asc(), F("entry_id").asc(), F("id").asc()]
    lines = (
        lines.select_related("entry", "department", "patient")
        .annotate(running=Window(Sum("amount"), order_by=order) + Value(opening, output_field=_AMOUNT))
        .order_by(*order)
    )
    closing = opening + _money(lines.aggregate(t=Sum("amount"))["t"]) if lines.exists() else opening
    return AccountLedger(account=account, date_from=date_from, date_to=date_to, opening=opening, lines=lines,
                         closing=closing)


# --- the journal ---------------------------------------------------------------------------------------------


def journal(*, user, date_from: date | None = None, date_to: date | None = None, kind: str = "",
            account: Account | None = None, department=None, reference: str = "") -> QuerySet:
    """Posted entries, newest first, filtered by date, kind, an account or a department one of their lines names."""
    entries = JournalEntry.objects.filter(organization_id=user.organization_id, posted_at__isnull=False)
    if date_from is not None:
        entries = entries.filter(entry_date__gte=date_from)
    if date_to is not None:
        entries = entries.filter(entry_date__lte=date_to)
    if kind:
        entries = entries.filter(kind=kind)
    if reference:
        entries = entries.filter(reference=reference)
    lines = JournalLine.objects.filter(entry_id=OuterRef("pk"))
    if account is not None:
        entries = entries.filter(Exists(lines.filter(account_id=account.pk)))
    if department is not None:
        entries = entries.filter(Exists(lines.filter(department_id=getattr(department, "pk", department))))
    return entries.select_related("reverses", "reversed_by").order_by("-entry_date", "-id")


def entry_detail(*, user, entry_id: int) -> JournalEntry:
    """One entry with its lines (accounts, departments, patients, items) for its page; another organization's is
    JournalEntry.DoesNotExist."""
    entry = (
        JournalEntry.objects.select_related("created_by", "reverses")
        .get(organization_id=user.organization_id, pk=entry_id)
    )
    entry.line_list = list(entry.lines.select_related("account", "department", "patient", "item").order_by("id"))
    entry.reversal = JournalEntry.objects.filter(reverses=entry).first()
    return entry


# --- A/R aging -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class AgingRow:
    key: object  # a patient id, or a payer's label
    label: str  # by patient: filled in by AgingReport.attach_patients
    buckets: tuple[Decimal, ...]  # one per BUCKETS
    credit: Decimal  # unapplied patient credit, as a negative amount (by patient only)
    total: Decimal
    patient: object | None = None


class AgingRows(Sequence):
    """The by-patient rows as the database sent them (patient id, then the five buckets, credit and total in whole
    cents), made into AgingRow objects in dollars only when read: a page reads 50 rows of perhaps 50,000, and
    building them all would cost more than the SQL."""

    def __init__(self, found: list[tuple]):
        self._found = found
        self._made: dict[int, AgingRow] = {}

    def __len__(self) -> int:
        return len(self._found)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[n] for n in range(*index.indices(len(self._found)))]
        if index < 0:
            index += len(self._found)
        row = self._made.get(index)
        if row is None:
            r = self._found[index]
            row = self._made[index] = AgingRow(key=r[0], label="", buckets=tuple(_dollars(c) for c in r[1:6]),
                                               credit=_dollars(r[6]), total=_dollars(r[7]))
        return row

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def column_totals(self) -> list[Decimal]:
        """The sums of the five buckets, the credit and the total, without making a row."""
        if not self._found:
            return [ZERO] * 7
        return [_dollars(sum(column)) for column in list(zip(*self._found, strict=True))[1:]]


@dataclass
class AgingReport:
    as_of: date
    by: str
    party_kind: str | None
    organization_id: int
    rows: Sequence[AgingRow]  # by patient: largest balance first; by payer: insurers by name, then the patients' row
    totals: AgingRow

    def attach_patients(self, rows: list[AgingRow]) -> list[AgingRow]:
        """Fill in the patient (and their name as the label) of these rows in one query: a page shows 50 rows of
        what may be tens of thousands, so the report itself loads no patient."""
        wanted = [r.key for r in rows if self.by == "patient" and r.patient is None]
        if wanted:
            patients = Patient.objects.filter(organization_id=self.organization_id).in_bulk(wanted)
            for r in rows:
                if r.key in patients:
                    r.patient = patients[r.key]
                    r.label = r.patient.display_name
        return rows


def _cutoffs(as_of: date) -> list[date]:
    # A service on or after as_of - 30 days is 0-30 days old, and so on.
    return [as_of - timedelta(days=days) for days in BUCKET_LIMITS]


def _bucket_columns(cutoffs: list[date], column: str, extra: str = "", extra_params: tuple = ()) -> tuple[str, list]:
    """Five `SUM(CASE ...)` columns that put `l.amount` in the bucket of `column` (when `extra` also holds), and
    their parameters."""
    conditions = [
        (f"{column} >= %s", [cutoffs[0]]),
        *((f"{column} >= %s AND {column} < %s", [cutoffs[n], cutoffs[n - 1]]) for n in range(1, 4)),
        (f"{column} < %s", [cutoffs[3]]),
    ]
    sql = ", ".join(f"{_sum_cents(extra + cond)} AS b{n}" for n, (cond, _) in enumerate(conditions))
    return sql, [p for _, params in conditions for p in (*extra_params, *params)]


def _dollars(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _cents(column: str) -> str:
    """An amount as whole cents: integer sums are exact and, on PostgreSQL, much cheaper to aggregate than numeric
    ones (the aging's seven sums per patient cost more than the scan). SQLite keeps decimals as floating point,
    so it rounds first."""
    if connection.vendor == "postgresql":
        return f"({column} * 100)::bigint"
    return f"CAST(ROUND({column} * 100) AS INTEGER)"


def _sum_cents(condition: str, column: str = "l.amount") -> str:
    # Whole cents come back as Python ints: cheaper to read, sort and add up than Decimals.
    when = f"CASE WHEN {condition} THEN {_cents(column)} ELSE 0 END" if condition else _cents(column)
    return f"CAST(SUM({when}) AS BIGINT)"


def ar_aging(*, user, as_of: date, by: str = "patient", party_kind: str | None = None) -> AgingReport:
    """Open receivables as of a date, in buckets by days since the service (0-30, 31-60, 61-90, 91-120, 120+).

    by="patient": one row per patient over the patient's items (`party_kind`, default the patient's own items;
    "" for every item), plus the patient's unapplied credit as its own column, so that with the default the row
    total is `patient_balance`. Receivable lines that name no item are aged by their own date.
    by="payer": one row per insurer (`party_label`) and one "Patient responsibility" row for patient items.
    Every balance counts only lines dated on or before `as_of`.

    The sums are SQL (one GROUP BY over the lines joined to their items, CASE on the service date against the
    bucket cut-offs); only the aggregate rows come back. The SQL is written out because it is the product's
    heaviest read (benchmarked over 1,000,000 lines in bench/ledger_aging.py); it is the same on both engines.
    """
    if by not in ("patient", "payer"):
        raise ValidationError({"by": "Choose by patient or by payer."})
    if party_kind and party_kind not in PartyKind.values:
        raise ValidationError({"party_kind": "Unknown party."})
    org_id = user.organization_id
    cutoffs = _cutoffs(as_of)
    q = connection.ops.quote_name
    lines_table, items_table = q(JournalLine._meta.db_table), q(OpenItem._meta.db_table)
    if by == "patient":
        party_kind = PartyKind.PATIENT if party_kind is None else party_kind
        buckets_sql, bucket_params = _bucket_columns(cutoffs, "i.service_date")
        party_sql, party_params = (" AND i.party_kind = %s", [party_kind]) if party_kind else ("", [])
        # The patient's items, aged by their service date (a parallel scan of the item lines joined to the items)...
        found = _fetch(
            f"SELECT i.patient_id, {buckets_sql}, 0, {_sum_cents('')} "  # noqa: S608  (names from the models)
            f"FROM {lines_table} l INNER JOIN {items_table} i ON i.id = l.item_id "
            f"WHERE l.organization_id = %s AND l.entry_date <= %s AND l.item_id IS NOT NULL{party_sql} "
            f"GROUP BY i.patient_id",
            [*bucket_params, org_id, as_of, *party_params],
        )
        loose: dict[int, tuple] = {}
        if party_kind != PartyKind.INSURANCE:
            # ...and receivable lines that name no item, aged by their own date, with the unapplied credit (one range
            # of the ledger_line_patient_no_item index).
            roles = dict(
                Account.objects.filter(organization_id=org_id, role__in=[AccountRole.PATIENT_RECEIVABLE, AccountRole.PATIENT_CREDIT])
                .order_by().values_list("role", "pk")
            )
            receivable = roles.get(AccountRole.PATIENT_RECEIVABLE, 0)
            credit_account = roles.get(AccountRole.PATIENT_CREDIT, 0)
            loose_sql, loose_params = _bucket_columns(cutoffs, "l.entry_date", extra="l.account_id = %s AND ",
                                                      extra_params=(receivable,))
            loose = {r[0]: r for r in _fetch(
                f"SELECT l.patient_id, {loose_sql}, {_sum_cents('l.account_id = %s')}, "  # noqa: S608
                f"{_sum_cents('')} FROM {lines_table} l WHERE l.organization_id = %s AND l.account_id IN (%s, %s) "
                f"AND l.entry_date <= %s AND l.item_id IS NULL AND l.patient_id IS NOT NULL GROUP BY l.patient_id",
                [*loose_params, credit_account, org_id, receivable, credit_account, as_of],
            )}
        if loose:
            # A few patients have both: add their two rows up.
            merged = []
            for r in found:
                extra = loose.pop(r[0], None)
                merged.append(r if extra is None else (r[0], *(a + b for a, b in zip(r[1:], extra[1:], strict=True))))
            found = merged + list(loose.values())
        found = [r for r in found if any(r[1:7])]
        found.sort(key=itemgetter(0))
        found.sort(key=itemgetter(7), reverse=True)  # largest balance first, then by patient
        rows = AgingRows(found)
        sums = rows.column_totals()
        totals = AgingRow(key=None, label="Total", buckets=tuple(sums[:5]), credit=sums[5], total=sums[6])
    else:
        buckets_sql, bucket_params = _bucket_columns(cutoffs, "i.service_date")
        party_sql, party_params = (" AND i.party_kind = %s", [party_kind]) if party_kind else ("", [])
        payer_sql = (
            f"SELECT i.party_kind, i.party_label, {buckets_sql} FROM {lines_table} l "  # noqa: S608
            f"INNER JOIN {items_table} i ON i.id = l.item_id "
            f"WHERE l.organization_id = %s AND l.entry_date <= %s AND l.item_id IS NOT NULL{party_sql} "
            f"GROUP BY i.party_kind, i.party_label"
        )
        merged: dict[tuple[str, str], list[Decimal]] = {}
        for row in _fetch(payer_sql, [*bucket_params, org_id, as_of, *party_params]):
            key = (PartyKind.PATIENT, "") if row[0] == PartyKind.PATIENT else (PartyKind.INSURANCE, row[1] or "")
            into = merged.setdefault(key, [ZERO] * 5)
            for n in range(5):
                into[n] += _dollars(row[n + 2])
        rows = [
            AgingRow(key=label if kind == PartyKind.INSURANCE else PartyKind.PATIENT,
                     label=PATIENT_RESPONSIBILITY if kind == PartyKind.PATIENT else (label or "(payer not named)"),
                     buckets=tuple(values), credit=ZERO, total=sum(values, ZERO))
            for (kind, label), values in merged.items() if any(values)
        ]
        rows.sort(key=lambda r: (r.key == PartyKind.PATIENT, r.label.lower()))
        buckets = tuple(sum((r.buckets[n] for r in rows), ZERO) for n in range(5))
        totals = AgingRow(key=None, label="Total", buckets=buckets, credit=ZERO, total=sum(buckets, ZERO))
    return AgingReport(as_of=as_of, by=by, party_kind=party_kind or None, organization_id=org_id, rows=rows,
                       totals=totals)

