"""Every write to the books. Entries are posted here and nowhere else: balanced, dated, tagged, then sealed.

Posting writes the entry unposted with its expected total and line count, inserts its lines, and stamps
`posted_at` with one UPDATE; database triggers check at that moment that the lines sum to zero and match the
count and total, and refuse any later change (see migrations/0002 and, on PostgreSQL, 0004, which checks all the
entries of a statement at once). `entries_post` does the same for many entries in three statements, for
statement runs, remittances, charge batches and imports.

The ledger writes no audit rows of its own for entries posted by other services: the service that posts a
charge or a payment audits that act, naming the patient. Entries made by hand (`entry_post` from the journal
page) are audited by the view's service, `manual_entry_post`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.batch_sql import model_new
from clinicdesk.core.models import Department, Organization
from clinicdesk.core.money import round_money
from clinicdesk.core.pg_arrays import array_literal, int_array_literal

from .choices import AccountRole, AccountType, EntryKind, PartyKind
from .models import Account, FiscalPeriod, JournalEntry, OpenItem

# code, name, type, role, description
DEFAULT_CHART: list[tuple[str, str, str, str, str]] = [
    ("1000", "Cash on hand", AccountType.ASSET, AccountRole.CASH, "Cash in the front-desk drawers."),
    ("1010", "Undeposited funds", AccountType.ASSET, AccountRole.UNDEPOSITED_FUNDS, "Checks taken, not yet deposited."),
    ("1020", "Card clearing", AccountType.ASSET, AccountRole.CARD_CLEARING, "Card payments the processor has not paid out yet."),
    ("1030", "Card payout differences", AccountType.ASSET, AccountRole.CARD_DIFFERENCES,
     "What an accepted card payout paid out or took back beyond our card payments and refunds; clear it with a "
     "manual entry once explained."),
    ("1050", "Operating bank account", AccountType.ASSET, AccountRole.OPERATING_BANK, ""),
    ("1200", "Patient receivables", AccountType.ASSET, AccountRole.PATIENT_RECEIVABLE, "What patients and guarantors owe."),
    ("1210", "Insurance receivables", AccountType.ASSET, AccountRole.INSURANCE_RECEIVABLE, "What insurers are expected to pay."),
    ("1300", "Inventory", AccountType.ASSET, AccountRole.INVENTORY, "Supplies, medications and vaccines on the shelf."),
    ("2000", "Accounts payable", AccountType.LIABILITY, AccountRole.ACCOUNTS_PAYABLE, "Vendor bills not yet paid."),
    ("2100", "Patient credit balances", AccountType.LIABILITY, AccountRole.PATIENT_CREDIT,
     "Payments received and not applied to a charge: owed back to the patient or kept for the next visit."),
    ("2110", "Refunds payable", AccountType.LIABILITY, AccountRole.REFUNDS_PAYABLE, "Refunds approved, not yet paid out."),
    ("3000", "Retained earnings", AccountType.EQUITY, AccountRole.RETAINED_EARNINGS, ""),
    ("4000", "Patient service revenue", AccountType.REVENUE, AccountRole.SERVICE_REVENUE, "Charges at the practice's fees, by department."),
    ("4900", "Contractual adjustments", AccountType.REVENUE, AccountRole.CONTRACTUAL_ADJUSTMENT,
     "The part of a fee a payer contract does not allow (a contra-revenue account)."),
    ("4910", "Administrative adjustments", AccountType.REVENUE, AccountRole.ADMINISTRATIVE_ADJUSTMENT,
     "Courtesy discounts and small-balance write-offs (a contra-revenue account)."),
    ("6000", "Salaries and wages", AccountType.EXPENSE, "", ""),
    ("6100", "Bad debt", AccountType.EXPENSE, AccountRole.BAD_DEBT, "Balances sent to collections or written off."),
    ("6200", "Card processing fees", AccountType.EXPENSE, AccountRole.CARD_FEES, ""),
    ("6300", "Medical supplies", AccountType.EXPENSE, AccountRole.SUPPLIES_EXPENSE, ""),
    ("6400", "Office supplies", AccountType.EXPENSE, "", ""),
    ("6500", "Rent", AccountType.EXPENSE, "", ""),
    ("6600", "Postage and printing", AccountType.EXPENSE, "", ""),
    ("6700", "Software and IT", AccountType.EXPENSE, "", ""),
    ("6800", "Utilities", AccountType.EXPENSE, "", ""),
    ("6900", "Professional fees", AccountType.EXPENSE, "", ""),
]


def chart_install(*, organization: Organization) -> list[Account]:
    """Give an organization the default chart of accounts; accounts it already has (by code or role) are kept."""
    existing = Account.objects.filter(organization=organization)
    codes = set(existing.values_list("code", flat=True))
    roles = set(existing.exclude(role="").values_list("role", flat=True))
    new = [
        Account(organization=organization, code=code, name=name, account_type=kind, role=role, description=description)
        for code, name, kind, role, description in DEFAULT_CHART
        if code not in codes and (not role or role not in roles)
    ]
    Account.objects.bulk_create(new)
    _account_cache.clear()
    return new


# (organization id, role) -> (account, time cached). Roles are set up once; a change clears the cache here
# and other processes see it within the time to live.
_account_cache: dict[tuple[int, str], tuple[Account, float]] = {}
_ACCOUNT_TTL = 60.0
_cache_lock = threading.Lock()


def _forget_accounts(**kwargs) -> None:
    with _cache_lock:
        _account_cache.clear()


post_save.connect(_forget_accounts, sender=Account, dispatch_uid="ledger_account_cache_save")
post_delete.connect(_forget_accounts, sender=Account, dispatch_uid="ledger_account_cache_delete")


def account_for(organization: Organization | int, role: str) -> Account:
    """The organization's account that does `role`; installs the default chart the first time it is needed."""
    org_id = organization if isinstance(organization, int) else organization.pk
    key = (org_id, str(role))
    hit = _account_cache.get(key)
    if hit and time.monotonic() - hit[1] < _ACCOUNT_TTL:
        return hit[0]
    account = Account.objects.filter(organization_id=org_id, role=role).first()
    if account is None:
        org = organization if isinstance(organization, Organization) else Organization.objects.get(pk=org_id)
        chart_install(organization=org)
        account = Account.objects.filter(organization_id=org_id, role=role).first()
        if account is None:
            raise ValidationError({"account": f"The chart of accounts has no account for {AccountRole(role).label}."})
    # Remember it only once its transaction has committed: an account created by a transaction that rolls
    # back must not be posted to afterwards.
    transaction.on_commit(lambda: _remember(key, account))
    return account


def _remember(key: tuple[int, str], account: Account) -> None:
    with _cache_lock:
        _account_cache[key] = (account, time.monotonic())


@dataclass(frozen=True)
class LineSpec:
    """One line to post: a debit is a positive amount, a credit a negative one. `account` is an Account or a role."""

    account: Account | str
    amount: Decimal
    department: Department | int | None = None
    patient: object | None = None
    item: OpenItem | None = None
    memo: str = ""


@dataclass(frozen=True)
class EntrySpec:
    """One entry to post with `entries_post`."""

    entry_date: date
    kind: str
    lines: Sequence[LineSpec]
    memo: str = ""
    reference: str = ""


def _pk(value) -> int | None:
    return value if value is None or isinstance(value, int) else value.pk


# A checked line, ready to insert: (account id, amount, department id, patient id, item id, memo).
_Row = tuple[int, Decimal, int | None, int | None, int | None, str]
_ZERO = Decimal("0")


def _is_cents(amount: Decimal) -> bool:
    exponent = amount.as_tuple().exponent
    return isinstance(exponent, int) and (exponent >= -2 or round_money(amount) == amount)


def _resolve(organization: Organization, spec: EntrySpec, index: str = "",
             accounts: dict[str, Account] | None = None) -> tuple[list[_Row], Decimal]:
    """Check one entry (balanced, Decimal, cents, same organization); returns its lines as rows and its debits."""
    prefix = f"{index}" if index else ""
    if spec.kind not in EntryKind.values:
        raise ValidationError({"kind": f"{prefix}Unknown entry kind '{spec.kind}'."})
    if len(spec.lines) < 2:
        raise ValidationError({"lines": f"{prefix}An entry needs at least two lines."})
    org_id = organization.pk
    rows: list[_Row] = []
    total = debits = _ZERO
    for number, line in enumerate(spec.lines, start=1):
        amount = line.amount
        if not isinstance(amount, Decimal):
            raise ValidationError({"amount": f"{prefix}Line {number}: the amount must be a Decimal, not {type(amount).__name__}."})
        if not amount.is_finite() or not _is_cents(amount):
            raise ValidationError({"amount": f"{prefix}Line {number}: {amount} is not an amount in cents."})
        if amount == 0:
            raise ValidationError({"amount": f"{prefix}Line {number}: an amount of zero posts nothing."})
        account = line.account
        if not isinstance(account, Account):
            if accounts is None:
                account = account_for(organization, account)
            else:
                found = accounts.get(account)
                if found is None:
                    found = accounts[account] = account_for(organization, account)
                account = found
        if account.organization_id != org_id:
            raise ValidationError({"account": f"{prefix}Line {number}: the account belongs to another organization."})
        if not account.is_active:
            raise ValidationError({"account": f"{prefix}Line {number}: account {account} is closed."})
        item = line.item
        patient_id = _pk(line.patient)
        if item is not None:
            if item.organization_id != org_id:
                raise ValidationError({"item": f"{prefix}Line {number}: the open item belongs to another organization."})
            if patient_id is None:
                patient_id = item.patient_id
            elif item.patient_id != patient_id:
                raise ValidationError({"item": f"{prefix}Line {number}: the open item belongs to another patient."})
        total += amount
        if amount > 0:
            debits += amount
        rows.append((account.pk, amount, _pk(line.department), patient_id, item.pk if item is not None else None,
                     line.memo[:200]))
    if total != 0:
        raise ValidationError({"lines": f"{prefix}The entry does not balance: debits and credits differ by {total}."})
    return rows, debits


def _same_entry(entry: JournalEntry, rows: list[_Row]) -> bool:
    posted = sorted((ln.account_id, ln.amount, ln.patient_id, ln.item_id) for ln in entry.lines.all())
    wanted = sorted((row[0], row[1], row[3], row[4]) for row in rows)
    return posted == wanted


def entry_post(
    *,
    organization: Organization,
    entry_date: date,
    kind: str,
    lines: Sequence[LineSpec],
    memo: str = "",
    reference: str = "",
    actor=None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """Post one balanced entry. A `reference` already posted returns that entry when the lines are the same,
    and is refused when they differ, so a retried post never posts twice."""
    return entries_post(
        organization=organization,
        entries=[EntrySpec(entry_date=entry_date, kind=kind, lines=lines, memo=memo, reference=reference)],
        actor=actor,
        reverses=[reverses] if reverses is not None else None,
    )[0]


# References looked up per statement: a parameter per reference (on PostgreSQL all go as one array).
_REFERENCE_CHUNK = 100


def _posted_references(organization: Organization, refs: list[str]) -> dict[str, JournalEntry]:
    """The entries already posted under these references, with their lines."""
    known: dict[str, JournalEntry] = {}
    step = max(len(refs), 1) if connection.vendor == "postgresql" else _REFERENCE_CHUNK
    for start in range(0, len(refs), step):
        chunk = (JournalEntry.objects.filter(organization=organization, reference__in_array=refs[start:start + step])
                 .exclude(reference="").order_by().prefetch_related("lines"))
        known.update((e.reference, e) for e in chunk)
    return known


@transaction.atomic
def entries_post(
    *,
    organization: Organization,
    entries: Sequence[EntrySpec],
    actor=None,
    reverses: Sequence[JournalEntry | None] | None = None,
) -> list[JournalEntry]:
    """Post many balanced entries in three statements (entries, lines, the sealing update), in order.

    Every entry is checked before anything is written; one bad entry refuses the whole batch, naming it.
    On PostgreSQL each statement takes its rows as arrays (`INSERT ... SELECT FROM unnest(...)`), so a batch
    costs three round trips and no model instances for its lines.
    """
    many = len(entries) > 1
    accounts: dict[str, Account] = {}
    built = [_resolve(organization, spec, f"Entry {n}: " if many else "", accounts)
             for n, spec in enumerate(entries, start=1)]
    refs = [spec.reference for spec in entries if spec.reference]
    if len(refs) != len(set(refs)):
        raise ValidationError({"reference": "The same reference appears twice in one batch."})
    # On PostgreSQL the insert itself finds references already posted (the unique index answers each row as it
    # goes in, whatever the planner's statistics say); elsewhere they are looked up first.
    insert_finds_replays = connection.vendor == "postgresql"
    known = _posted_references(organization, refs) if refs and not insert_finds_replays else {}
    result: list[JournalEntry | None] = [None] * len(entries)
    to_write: list[int] = []
    for n, spec in enumerate(entries):
        existing = known.get(spec.reference) if spec.reference else None
        if existing is not None:
            if not _same_entry(existing, built[n][0]):
                raise ValidationError({"reference": f"Reference {spec.reference} was already posted with other amounts."})
            result[n] = existing
        else:
            to_write.append(n)
    if not to_write:
        return result  # type: ignore[return-value]

    actor_id = _pk(actor) if actor is not None and getattr(actor, "is_authenticated", True) else None
    now = timezone.now()
    new_entries = []
    for n in to_write:
        spec = entries[n]
        reversed_entry = reverses[n] if reverses else None
        rows, debits = built[n]
        new_entries.append(model_new(
            JournalEntry, organization=organization, entry_date=spec.entry_date, kind=spec.kind, memo=spec.memo[:300],
            reference=spec.reference, reverses=reversed_entry, created_by_id=actor_id,
            total=debits, line_count=len(rows), created_at=now,
        ))
    try:
        with transaction.atomic():
            _insert_entries(new_entries)
    except DatabaseError as exc:
        # The database refuses an entry dated in a closed month (migration 0006); say which, in the office's words.
        # Looked up only on refusal, so an ordinary post pays no query for it.
        _refuse_closed_months(organization, [spec.entry_date for spec in entries])
        # Otherwise a concurrent post of the same reference won; answer as if it had been posted before.
        if not refs or not isinstance(exc, IntegrityError):
            raise
        return entries_post(organization=organization, entries=entries, actor=actor, reverses=reverses)
    skipped = [(entry, n) for entry, n in zip(new_entries, to_write, strict=True) if entry.pk is None]
    if skipped:
        # References posted before (or by a transaction that committed while this insert waited on it).
        posted = _posted_references(organization, [entry.reference for entry, _ in skipped])
        for entry, n in skipped:
            existing = posted[entry.reference]
            if not _same_entry(existing, built[n][0]):
                raise ValidationError({"reference": f"Reference {entry.reference} was already posted with other amounts."})
            result[n] = existing
        kept = [(entry, n) for entry, n in zip(new_entries, to_write, strict=True) if entry.pk is not None]
        if not kept:
            return result  # type: ignore[return-value]
        new_entries, to_write = [entry for entry, _ in kept], [n for _, n in kept]
    _insert_lines(organization, [
        (entry.pk, entry.entry_date, row) for entry, n in zip(new_entries, to_write, strict=True) for row in built[n][0]
    ])
    ids = [e.pk for e in new_entries]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("UPDATE ledger_journalentry SET posted_at = %s WHERE id = ANY(%s::bigint[])",
                           [now, int_array_literal(ids)])
        else:
            for start in range(0, len(ids), 900):
                JournalEntry.objects.filter(pk__in=ids[start:start + 900]).update(posted_at=now)
    for entry, n in zip(new_entries, to_write, strict=True):
        entry.posted_at = now
        result[n] = entry
    return result  # type: ignore[return-value]


def closed_months(organization: Organization | int, dates) -> dict[date, FiscalPeriod]:
    """The closed periods among the months of these dates, by month."""
    org_id = organization if isinstance(organization, int) else organization.pk
    months = {d.replace(day=1) for d in dates}
    return {p.month: p for p in FiscalPeriod.objects.filter(organization_id=org_id, month__in=months,
                                                             closed_at__isnull=False)}


def _refuse_closed_months(organization: Organization, dates) -> None:
    closed = closed_months(organization, dates)
    for day in sorted(dates):
        if day.replace(day=1) in closed:
            raise ValidationError({"entry_date": f"The books for {day:%B %Y} are closed: nothing can be posted on "
                                                 f"{day:%m/%d/%Y}. Post the correction into an open month."})


def _insert_entries(entries: list[JournalEntry]) -> None:
    """Insert unposted entries and give them their ids, in order. On PostgreSQL an entry whose reference is
    already posted is not inserted and keeps no id (the caller answers with the posted one)."""
    if connection.vendor != "postgresql":
        JournalEntry.objects.bulk_create(entries)
        return
    first = entries[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalentry (organization_id, created_by_id, created_at, entry_date, kind, memo, "
            "reference, reverses_id, total, line_count) "
            "SELECT %s, %s, %s, u.* FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::bigint[], "
            "%s::numeric[], %s::smallint[]) AS u "
            "ON CONFLICT (organization_id, reference) WHERE NOT reference = '' DO NOTHING RETURNING id, reference",
            [first.organization_id, first.created_by_id, first.created_at,
             array_literal(e.entry_date for e in entries), array_literal(e.kind for e in entries),
             array_literal(e.memo for e in entries), array_literal(e.reference for e in entries),
             int_array_literal(e.reverses_id for e in entries), array_literal(e.total for e in entries),
             int_array_literal(e.line_count for e in entries)],
        )
        rows = cursor.fetchall()
    inserted = {reference for _, reference in rows if reference}
    returned = iter(rows)
    db = connection.alias
    for entry in entries:
        if entry.reference and entry.reference not in inserted:
            continue
        pk, reference = next(returned)
        if reference != entry.reference:
            raise RuntimeError("entries_post: ids came back out of order")
        entry.pk = pk
        entry._state.adding = False
        entry._state.db = db


def _insert_lines(organization: Organization, lines: list[tuple[int, date, _Row]]) -> None:
    """Insert (entry id, entry date, row) lines: one statement on PostgreSQL, executemany on SQLite."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "INSERT INTO ledger_journalline (organization_id, entry_id, entry_date, account_id, amount, "
                "department_id, patient_id, item_id, memo) "
                "SELECT %s, u.* FROM unnest(%s::bigint[], %s::date[], %s::bigint[], %s::numeric[], %s::bigint[], "
                "%s::bigint[], %s::bigint[], %s::text[]) AS u",
                [organization.pk, int_array_literal(ln[0] for ln in lines), array_literal(ln[1] for ln in lines),
                 int_array_literal(ln[2][0] for ln in lines), array_literal(ln[2][1] for ln in lines),
                 *(int_array_literal(ln[2][i] for ln in lines) for i in (2, 3, 4)),
                 array_literal(ln[2][5] for ln in lines)],
            )
            return
        ops = connection.ops
        cursor.executemany(
            "INSERT INTO ledger_journalline (organization_id, entry_id, entry_date, account_id, amount, "
            "department_id, patient_id, item_id, memo) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(organization.pk, entry_id, ops.adapt_datefield_value(day), account_id,
              ops.adapt_decimalfield_value(amount, 14, 2), department_id, patient_id, item_id, memo)
             for entry_id, day, (account_id, amount, department_id, patient_id, item_id, memo) in lines],
        )


@transaction.atomic
def entry_reverse(*, entry: JournalEntry, memo: str = "", entry_date: date | None = None, actor=None,
                  reference: str = "") -> JournalEntry:
    """Post the mirror image of an entry (every line with the opposite sign). An entry is reversed at most once."""
    entry = JournalEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.kind == EntryKind.REVERSAL:
        raise ValidationError({"entry": "A reversal cannot itself be reversed; post a new entry instead."})
    if JournalEntry.objects.filter(reverses=entry).exists():
        raise ValidationError({"entry": f"Entry {entry.pk} has already been reversed."})
    lines = [
        LineSpec(account=ln.account, amount=-ln.amount, department=ln.department_id, patient=ln.patient_id,
                 item=ln.item, memo=ln.memo)
        for ln in entry.lines.select_related("account", "item")
    ]
    return entry_post(
        organization=entry.organization, entry_date=entry_date or timezone.localdate(), kind=EntryKind.REVERSAL,
        lines=lines, memo=memo or f"Reversal of entry {entry.pk}: {entry.memo}"[:300], reference=reference,
        actor=actor, reverses=entry,
    )


def open_item_create(*, organization: Organization, patient, service_date: date, description: str,
                     party_kind: str = PartyKind.PATIENT, party_label: str = "") -> OpenItem:
    """Open a receivable item (a billed service) for the patient or an insurer; lines that name it settle it."""
    role = AccountRole.PATIENT_RECEIVABLE if party_kind == PartyKind.PATIENT else AccountRole.INSURANCE_RECEIVABLE
    item = OpenItem(
        organization=organization, patient=patient, account=account_for(organization, role), party_kind=party_kind,
        party_label=party_label[:120], service_date=service_date, description=description[:200],
    )
    item.full_clean(exclude=["patient", "account", "organization"])
    item.save()
    return item


def open_items_create(*, organization: Organization, items: Sequence[OpenItem]) -> list[OpenItem]:
    """Many open items in one insert (charge batches); each item's account follows its party kind."""
    if not items:
        return list(items)
    receivable: dict[str, Account] = {}
    for item in items:
        role = AccountRole.PATIENT_RECEIVABLE if item.party_kind == PartyKind.PATIENT else AccountRole.INSURANCE_RECEIVABLE
        if role not in receivable:
            receivable[role] = account_for(organization, role)
        # The ids and the cached rows set directly: the descriptors' checks cost more than the insert per item.
        item.organization_id = organization.pk
        item.account_id = receivable[role].pk
        item._state.fields_cache["organization"] = organization
        item._state.fields_cache["account"] = receivable[role]
    if connection.vendor != "postgresql":
        return OpenItem.objects.bulk_create(items, batch_size=2000)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_openitem (organization_id, created_at, patient_id, account_id, party_kind, party_label, "
            "service_date, description) SELECT %s, %s, u.* FROM unnest(%s::bigint[], %s::bigint[], %s::text[], "
            "%s::text[], %s::date[], %s::text[]) AS u RETURNING id",
            [organization.pk, now, int_array_literal(i.patient_id for i in items),
             int_array_literal(i.account_id for i in items), array_literal(i.party_kind for i in items),
             array_literal(i.party_label for i in items), array_literal(i.service_date for i in items),
             array_literal(i.description for i in items)],
        )
        ids = cursor.fetchall()
    db = connection.alias
    for item, (pk,) in zip(items, ids, strict=True):
        item.pk = pk
        item.created_at = now
        item._state.adding = False
        item._state.db = db
    return list(items)


@transaction.atomic
def manual_entry_post(*, organization: Organization, entry_date: date, memo: str, lines: Sequence[LineSpec],
                      actor) -> JournalEntry:
    """A journal entry made by hand (opening balances, bank fees, corrections): checked and audited like any other."""
    if not memo.strip():
        raise ValidationError({"memo": "Say what the entry is for."})
    entry = entry_post(organization=organization, entry_date=entry_date, kind=EntryKind.MANUAL, lines=lines,
                       memo=memo, actor=actor)
    audit_event(action="ledger.entry_posted", actor=actor, target=entry, organization_id=organization.pk,
                summary=f"Manual entry {entry.pk}: {memo[:120]} ({entry.total})")
    return entry


# --- the chart of accounts, edited by hand ------------------------------------------------------------------

ACCOUNT_FIELDS = ("code", "name", "account_type", "role", "parent", "description", "is_active")


def _account_check(account: Account) -> None:
    errors: dict[str, str] = {}
    others = Account.objects.filter(organization_id=account.organization_id).exclude(pk=account.pk)
    if account.code and others.filter(code=account.code).exists():
        errors["code"] = f"Account number {account.code} is already in the chart."
    if account.role and others.filter(role=account.role).exists():
        errors["role"] = f"Another account already does the job '{AccountRole(account.role).label}'."
    if account.parent_id:
        if account.parent.organization_id != account.organization_id:
            errors["parent"] = "The parent account belongs to another organization."
        elif account.parent_id == account.pk:
            errors["parent"] = "An account cannot be its own parent."
    if errors:
        raise ValidationError(errors)
    account.full_clean(exclude=["organization"], validate_unique=False, validate_constraints=False)


@transaction.atomic
def account_create(*, organization: Organization, code: str, name: str, account_type: str, actor, role: str = "",
                   parent: Account | None = None, description: str = "") -> Account:
    """Add an account to the chart: its number and its role (if any) unique in the organization."""
    account = Account(organization=organization, code=code.strip(), name=name.strip(), account_type=account_type,
                      role=role or "", parent=parent, description=description.strip())
    _account_check(account)
    account.save()
    audit_event(action="ledger.account_created", actor=actor, target=account, organization_id=organization.pk,
                summary=f"Account {account} ({account.get_account_type_display()})"[:300])
    return account


@transaction.atomic
def account_update(*, account: Account, actor, **changes) -> Account:
    """Change an account: number, name, role, parent, description, or `is_active` (an account is closed, never
    deleted). Its type cannot change once lines were posted to it, and an account that does a job for the
    services (a role) cannot be closed until that role is given to another account."""
    unknown = set(changes) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be changed here."})
    account = Account.objects.select_for_update().get(pk=account.pk)
    before = {name: getattr(account, name if name != "parent" else "parent_id") for name in changes}
    if "account_type" in changes and changes["account_type"] != account.account_type and account.lines.exists():
        raise ValidationError({"account_type": "Lines have been posted to this account: its type cannot change. "
                                               "Close it and open a new account instead."})
    for name, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(account, name, value if value is not None or name == "parent" else "")
    if account.role and not account.is_active:
        raise ValidationError({"is_active": f"This account does the job '{AccountRole(account.role).label}': "
                                            "give that job to another account before closing it."})
    _account_check(account)
    after = {name: getattr(account, name if name != "parent" else "parent_id") for name in changes}
    changed = {name: [str(before[name]), str(after[name])] for name in changes if before[name] != after[name]}
    if not changed:
        return account
    account.save(update_fields=[*changed, "updated_at"])
    action = "ledger.account_closed" if changed.get("is_active") == ["True", "False"] else "ledger.account_changed"
    audit_event(action=action, actor=actor, target=account, organization_id=account.organization_id,
                summary=f"Account {account}: {', '.join(sorted(changed))} changed"[:300], changes=changed)
    return account


@transaction.atomic
def manual_entry_reverse(*, entry: JournalEntry, reason: str, actor, entry_date: date | None = None) -> JournalEntry:
    """Reverse a posted entry from its page: a reason is required, and the act is audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the entry is reversed."})
    reversal = entry_reverse(entry=entry, memo=f"Reversal of entry {entry.pk}: {reason}"[:300], entry_date=entry_date,
                             actor=actor)
    audit_event(action="ledger.entry_reversed", actor=actor, target=entry, organization_id=entry.organization_id,
                summary=f"Entry {entry.pk} reversed by entry {reversal.pk}: {reason}"[:300])
    return reversal
