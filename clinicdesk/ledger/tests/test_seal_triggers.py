"""The database's sealing checks, on both engines: what the triggers refuse, whether the entries of a statement are
posted one by one or many at once (PostgreSQL checks them per statement, SQLite per row), and the batch path's
set-based inserts still pass through them."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import Account, JournalEntry, JournalLine
from clinicdesk.ledger.services import EntrySpec, LineSpec, chart_install, entries_post, open_item_create
from clinicdesk.patients.tests.factories import PatientFactory

D = Decimal
DAY = date(2026, 11, 2)
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books(org):
    chart_install(organization=org)
    return (Account.objects.get(organization=org, role=AccountRole.CASH),
            Account.objects.get(organization=org, role=AccountRole.SERVICE_REVENUE))


def unposted(org, books, amounts, *, total=None, line_count=None):
    """An entry written by hand, unposted, with lines of `amounts` (total and count as stated, else as the lines)."""
    cash, revenue = books
    entry = JournalEntry.objects.create(
        organization=org, entry_date=DAY, kind=EntryKind.MANUAL,
        total=total if total is not None else sum((a for a in amounts if a > 0), D("0")),
        line_count=line_count if line_count is not None else len(amounts))
    for amount in amounts:
        JournalLine.objects.create(entry=entry, organization=org, account=cash if amount > 0 else revenue,
                                   amount=amount, entry_date=DAY)
    return entry


def post(*entries):
    """Stamp posted_at on all the entries in one UPDATE statement."""
    JournalEntry.objects.filter(pk__in=[e.pk for e in entries]).update(posted_at=timezone.now())


def refused(fn) -> bool:
    try:
        with transaction.atomic():
            fn()
    except DatabaseError:
        return True
    return False


def test_one_unbalanced_entry_refuses_the_whole_statement(org, books):
    good = [unposted(org, books, [D("10.00"), D("-10.00")]) for _ in range(3)]
    bad = unposted(org, books, [D("10.00"), D("-9.99")], total=D("10.00"))
    assert refused(lambda: post(*good, bad))
    assert not JournalEntry.objects.filter(posted_at__isnull=False).exists()
    post(*good)
    assert JournalEntry.objects.filter(posted_at__isnull=False).count() == 3


@pytest.mark.parametrize("case", ["count", "total", "one line", "no lines"])
def test_lines_that_do_not_match_the_entry_are_refused(org, books, case):
    entry = {
        "count": lambda: unposted(org, books, [D("10.00"), D("-10.00")], line_count=3),
        "total": lambda: unposted(org, books, [D("10.00"), D("-10.00")], total=D("12.00")),
        "one line": lambda: unposted(org, books, [D("10.00")], total=D("10.00")),
        "no lines": lambda: unposted(org, books, [], total=D("0"), line_count=0),
    }[case]()
    other = unposted(org, books, [D("5.00"), D("-5.00")])
    assert refused(lambda: post(other, entry))
    assert refused(lambda: post(entry))
    assert not JournalEntry.objects.filter(posted_at__isnull=False).exists()


@pytest.mark.parametrize("field, value", [("total", D("20.00")), ("line_count", 3), ("kind", EntryKind.CHARGE),
                                          ("entry_date", date(2026, 11, 3)), ("reference", "changed")])
def test_only_posted_at_changes_as_an_entry_is_posted(org, books, field, value):
    entry = unposted(org, books, [D("10.00"), D("-10.00")])
    assert refused(lambda: JournalEntry.objects.filter(pk=entry.pk).update(posted_at=timezone.now(), **{field: value}))
    assert JournalEntry.objects.get(pk=entry.pk).posted_at is None
    # Before posting, an entry may still be corrected.
    JournalEntry.objects.filter(pk=entry.pk).update(memo="corrected")
    post(entry)


def test_a_posted_entry_cannot_be_touched_even_by_an_update_that_changes_nothing(org, books):
    entry = unposted(org, books, [D("10.00"), D("-10.00")])
    post(entry)
    stamped = JournalEntry.objects.get(pk=entry.pk).posted_at
    assert refused(lambda: JournalEntry.objects.filter(pk=entry.pk).update(posted_at=stamped))
    assert refused(lambda: JournalEntry.objects.filter(pk=entry.pk).update(posted_at=None))
    assert refused(lambda: JournalEntry.objects.filter(pk=entry.pk).update(memo="edited"))
    if connection.vendor == "postgresql":  # SQLite's test runner empties tables with DELETE
        assert refused(lambda: JournalEntry.objects.filter(pk=entry.pk).delete())
    assert JournalEntry.objects.get(pk=entry.pk).memo == ""


def test_no_line_joins_a_posted_entry_even_among_others(org, books):
    cash, revenue = books
    posted = unposted(org, books, [D("10.00"), D("-10.00")])
    post(posted)
    open_entry = unposted(org, books, [D("10.00"), D("-10.00")])

    def insert_both():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_journalline (entry_id, organization_id, account_id, amount, entry_date, memo) "
                "VALUES (%s, %s, %s, 5, %s, ''), (%s, %s, %s, -5, %s, '')",
                [open_entry.pk, org.pk, cash.pk, DAY, posted.pk, org.pk, revenue.pk, DAY])

    assert refused(insert_both)
    assert JournalLine.objects.filter(entry=posted).count() == 2
    assert JournalLine.objects.filter(entry=open_entry).count() == 2
    assert refused(lambda: JournalLine.objects.filter(entry=posted).update(memo="edited"))


def test_a_batch_posts_through_the_checks_and_lands_whole(org, books):
    patients = [PatientFactory(organization=org) for _ in range(3)]
    items = [open_item_create(organization=org, patient=p, service_date=DAY, description="Visit") for p in patients]
    specs = [EntrySpec(entry_date=DAY, kind=EntryKind.CHARGE, reference=f"visit:{n}", memo=f"Visit {n}", lines=[
        LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=D("40.00"), item=item),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=D("-30.00"), patient=item.patient_id, memo="visit"),
        LineSpec(account=books[1], amount=D("-10.00"), patient=item.patient_id),
    ]) for n, item in enumerate(items)]
    entries = entries_post(organization=org, entries=specs)
    assert [e.reference for e in entries] == ["visit:0", "visit:1", "visit:2"]
    stored = {e.pk: e for e in JournalEntry.objects.filter(pk__in=[e.pk for e in entries])}
    for entry, item in zip(entries, items, strict=True):
        row = stored[entry.pk]
        assert row.posted_at is not None and row.total == D("40.00") and row.line_count == 3
        lines = list(row.lines.order_by("id"))
        assert [ln.amount for ln in lines] == [D("40.00"), D("-30.00"), D("-10.00")]
        assert lines[0].item_id == item.pk and all(ln.patient_id == item.patient_id for ln in lines)
        assert lines[1].memo == "visit" and all(ln.entry_date == DAY for ln in lines)
    # The same batch again replays; the lines of a posted entry cannot be added to.
    again = entries_post(organization=org, entries=specs)
    assert [e.pk for e in again] == [e.pk for e in entries]
    assert JournalLine.objects.filter(organization=org).count() == 9
