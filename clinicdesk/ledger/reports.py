"""The ledger's reports: the trial balance, one account's ledger with its running balance, the journal, and
A/R aging by patient or by payer. Each takes the acting user and reads only the user's organization; the views
check the permission.

Aging is one GROUP BY over the lines that name an open item, joined to the items: each line's amount goes into
the bucket of its item's `service_date` (a CASE on the date against cut-off dates worked out here), so the
database returns one row per patient or payer and Python never sees a line. An item's lines always land in the
same bucket, so the buckets are the sums of the items' balances as of the date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Case, DecimalField, Exists, F, OuterRef, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import Coalesce

from clinicdesk.patients.models import Patient

from .choices import DEBIT_NORMAL, AccountRole, PartyKind
from .models import MONEY, Account, JournalEntry, JournalLine
from .selectors import ZERO, _money, account_balances

BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")
# The last day of each bucket but the last, in days since the service.
BUCKET_LIMITS = (30, 60, 90, 120)
PATIENT_RESPONSIBILITY = "Patient responsibility"
_AMOUNT = DecimalField(**MONEY)


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


# --- one account's ledger -------------------------------------------------------------------------------------


@dataclass
class AccountLedger:
    account: Account
    date_from: date | None
    date_to: date | None
    opening: Decimal  # signed, debits positive, before date_from
    lines: QuerySet  # JournalLine with `running` (signed, including the opening balance less nothing: add `opening`)
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


@dataclass
class AgingRow:
    key: object  # a patient id, or a payer's label
    label: str  # by patient: filled in by AgingReport.attach_patients
    buckets: tuple[Decimal, ...]  # one per BUCKETS
    credit: Decimal  # unapplied patient credit, as a negative amount (by patient only)
    total: Decimal
    patient: object | None = None


@dataclass
class AgingReport:
    as_of: date
    by: str
    party_kind: str | None
    organization_id: int
    rows: list[AgingRow]  # by patient: largest balance first; by payer: insurers by name, then the patients' row
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


def _bucket_sums(cutoffs: list[date], service_date, value) -> dict:
    sums = {}
    bounds = [*cutoffs, None]
    for n, low in enumerate(bounds):
        if n == 0:
            when = Q(**{f"{service_date}__gte": low})
        elif low is None:
            when = Q(**{f"{service_date}__lt": bounds[n - 1]})
        else:
            when = Q(**{f"{service_date}__gte": low, f"{service_date}__lt": bounds[n - 1]})
        sums[f"b{n}"] = Sum(Case(When(when, then=value), default=Value(ZERO), output_field=_AMOUNT))
    return sums


def ar_aging(*, user, as_of: date, by: str = "patient", party_kind: str | None = None) -> AgingReport:
    """Open receivables as of a date, in buckets by days since the service (0-30, 31-60, 61-90, 91-120, 120+).

    by="patient": one row per patient over the patient's items (`party_kind`, default the patient's own items;
    "" or None with by="payer"), plus the patient's unapplied credit as its own column, so that with the default
    the row total is `patient_balance`. Receivable lines that name no item are aged by their own date.
    by="payer": one row per insurer (`party_label`) and one "Patient responsibility" row for patient items.
    Every balance counts only lines dated on or before `as_of`.
    """
    if by not in ("patient", "payer"):
        raise ValidationError({"by": "Choose by patient or by payer."})
    if party_kind and party_kind not in PartyKind.values:
        raise ValidationError({"party_kind": "Unknown party."})
    org_id = user.organization_id
    cutoffs = _cutoffs(as_of)
    lines = JournalLine.objects.filter(organization_id=org_id, entry_date__lte=as_of)
    if by == "patient":
        party_kind = PartyKind.PATIENT if party_kind is None else party_kind
        roles = dict(
            Account.objects.filter(organization_id=org_id, role__in=[AccountRole.PATIENT_RECEIVABLE, AccountRole.PATIENT_CREDIT])
            .values_list("role", "pk")
        )
        receivable, credit_account = roles.get(AccountRole.PATIENT_RECEIVABLE), roles.get(AccountRole.PATIENT_CREDIT)
        on_item = Q(item__isnull=False) & (Q(item__party_kind=party_kind) if party_kind else Q())
        loose = Q(item__isnull=True, account_id=receivable) if receivable and party_kind != PartyKind.INSURANCE else Q(pk__in=[])
        credit = Q(item__isnull=True, account_id=credit_account) if credit_account and party_kind != PartyKind.INSURANCE else Q(pk__in=[])
        aged = on_item | loose
        rows_qs = (
            lines.filter(aged | credit, patient_id__isnull=False)
            .annotate(aged_on=Coalesce("item__service_date", "entry_date"))
            .values("patient_id")
            .annotate(
                **_bucket_sums(cutoffs, "aged_on", Case(When(aged, then=F("amount")), default=Value(ZERO), output_field=_AMOUNT)),
                credit=Sum(Case(When(credit, then=F("amount")), default=Value(ZERO), output_field=_AMOUNT)),
            )
            .order_by()
        )
        rows = []
        for r in rows_qs.values_list("patient_id", "b0", "b1", "b2", "b3", "b4", "credit"):
            buckets = tuple(_money(v) for v in r[1:6])
            credit_held = _money(r[6])
            if any(buckets) or credit_held:
                rows.append(AgingRow(key=r[0], label="", buckets=buckets, credit=credit_held,
                                     total=sum(buckets, ZERO) + credit_held))
        rows.sort(key=lambda r: (-r.total, r.key))
    else:
        rows_qs = (
            lines.filter(item__isnull=False, **({"item__party_kind": party_kind} if party_kind else {}))
            .values("item__party_kind", "item__party_label")
            .annotate(**_bucket_sums(cutoffs, "item__service_date", F("amount")))
            .order_by()
        )
        merged: dict[tuple[str, str], list[Decimal]] = {}
        for r in rows_qs:
            patient_item = r["item__party_kind"] == PartyKind.PATIENT
            key = (PartyKind.PATIENT, "") if patient_item else (PartyKind.INSURANCE, r["item__party_label"] or "")
            sums = merged.setdefault(key, [ZERO] * 5)
            for n in range(5):
                sums[n] += _money(r[f"b{n}"])
        rows = [
            AgingRow(key=label if kind == PartyKind.INSURANCE else PartyKind.PATIENT,
                     label=PATIENT_RESPONSIBILITY if kind == PartyKind.PATIENT else (label or "(payer not named)"),
                     buckets=tuple(sums), credit=ZERO, total=sum(sums, ZERO))
            for (kind, label), sums in merged.items() if any(sums)
        ]
        rows.sort(key=lambda r: (r.key == PartyKind.PATIENT, r.label.lower()))
    buckets = tuple(sum((r.buckets[n] for r in rows), ZERO) for n in range(5))
    credit_total = sum((r.credit for r in rows), ZERO)
    totals = AgingRow(key=None, label="Total", buckets=buckets, credit=credit_total,
                      total=sum(buckets, ZERO) + credit_total)
    return AgingReport(as_of=as_of, by=by, party_kind=party_kind or None, organization_id=org_id, rows=rows,
                       totals=totals)
