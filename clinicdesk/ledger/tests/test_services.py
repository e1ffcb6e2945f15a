"""Posting: balanced entries only, Decimal cents only, idempotent references, reversals, and a database that
refuses to let a posted entry change."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import Account, JournalEntry, JournalLine
from clinicdesk.ledger.selectors import account_balances, item_balances, patient_balance, patient_credit
from clinicdesk.ledger.services import (
    LineSpec,
    chart_install,
    entry_post,
    entry_reverse,
    open_item_create,
)
from clinicdesk.patients.tests.factories import PatientFactory

D = Decimal
DAY = date(2026, 11, 2)


@pytest.fixture
def patient(org):
    return PatientFactory(organization=org)


def charge(org, patient, amount, *, reference=""):
    item = open_item_create(organization=org, patient=patient, service_date=DAY, description="Office visit")
    entry = entry_post(organization=org, entry_date=DAY, kind=EntryKind.CHARGE, reference=reference, lines=[
        LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=D(amount), item=item),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-D(amount)),
    ])
    return item, entry


def test_a_charge_and_a_payment_move_the_patient_balance_and_keep_the_books_balanced(org, patient):
    # given
    item, _ = charge(org, patient, "125.00")
    # when
    entry_post(organization=org, entry_date=DAY, kind=EntryKind.PAYMENT, lines=[
        LineSpec(account=AccountRole.CASH, amount=D("40.00")),
        LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=D("-40.00"), item=item),
    ])
    # then
    assert patient_balance(patient=patient) == D("85.00")
    assert item_balances(item_ids=[item.pk]) == {item.pk: D("85.00")}
    assert sum(account_balances(organization_id=org.pk).values()) == 0
    # the line carries the item's patient even when the service did not name the patient
    assert set(JournalLine.objects.filter(item=item).values_list("patient_id", flat=True)) == {patient.pk}


def test_an_unbalanced_entry_is_refused_and_nothing_is_written(org, patient):
    chart_install(organization=org)
    with pytest.raises(ValidationError) as refused:
        entry_post(organization=org, entry_date=DAY, kind=EntryKind.MANUAL, lines=[
            LineSpec(account=AccountRole.CASH, amount=D("10.00")),
            LineSpec(account=AccountRole.SERVICE_REVENUE, amount=D("-9.99")),
        ])
    assert "does not balance" in str(refused.value)
    assert not JournalEntry.objects.exists()


@pytest.mark.parametrize("amount, message", [(10.0, "must be a Decimal"), (D("10.001"), "not an amount in cents"),
                                             (D("NaN"), "not an amount in cents")])
def test_floats_fractions_of_a_cent_and_nan_are_refused(org, amount, message):
    chart_install(organization=org)
    with pytest.raises(ValidationError, match=message):
        entry_post(organization=org, entry_date=DAY, kind=EntryKind.MANUAL, lines=[
            LineSpec(account=AccountRole.CASH, amount=amount),
            LineSpec(account=AccountRole.SERVICE_REVENUE, amount=D("-10.00")),
        ])


def test_a_reference_posts_once_and_a_different_body_under_it_is_refused(org, patient):
    _, first = charge(org, patient, "50.00", reference="charge:1")
    item = first.lines.get(amount__gt=0).item
    again = entry_post(organization=org, entry_date=DAY, kind=EntryKind.CHARGE, reference="charge:1", lines=[
        LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=D("50.00"), item=item),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=D("-50.00")),
    ])
    assert again.pk == first.pk
    with pytest.raises(ValidationError, match="already posted with other amounts"):
        entry_post(organization=org, entry_date=DAY, kind=EntryKind.CHARGE, reference="charge:1", lines=[
            LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=D("60.00"), item=item),
            LineSpec(account=AccountRole.SERVICE_REVENUE, amount=D("-60.00")),
        ])
    assert JournalEntry.objects.count() == 1


def test_a_reversal_mirrors_the_entry_once(org, patient):
    item, entry = charge(org, patient, "80.00")
    reversal = entry_reverse(entry=entry, memo="Charged to the wrong patient")
    assert reversal.reverses_id == entry.pk and reversal.kind == EntryKind.REVERSAL
    assert patient_balance(patient=patient) == 0
    assert item_balances(item_ids=[item.pk])[item.pk] == 0
    with pytest.raises(ValidationError, match="already been reversed"):
        entry_reverse(entry=entry)
    with pytest.raises(ValidationError, match="cannot itself be reversed"):
        entry_reverse(entry=reversal)


def test_an_item_of_another_patient_is_refused(org, patient):
    item, _ = charge(org, patient, "20.00")
    other = PatientFactory(organization=org)
    with pytest.raises(ValidationError, match="another patient"):
        entry_post(organization=org, entry_date=DAY, kind=EntryKind.PAYMENT, lines=[
            LineSpec(account=AccountRole.CASH, amount=D("20.00")),
            LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=D("-20.00"), item=item, patient=other),
        ])


def test_an_account_of_another_organization_is_refused(org, other_org):
    chart_install(organization=org)
    chart_install(organization=other_org)
    foreign = Account.objects.get(organization=other_org, role=AccountRole.CASH)
    with pytest.raises(ValidationError, match="another organization"):
        entry_post(organization=org, entry_date=DAY, kind=EntryKind.MANUAL, lines=[
            LineSpec(account=foreign, amount=D("5.00")),
            LineSpec(account=AccountRole.SERVICE_REVENUE, amount=D("-5.00")),
        ])


def test_credit_balances_show_as_a_credit(org, patient):
    entry_post(organization=org, entry_date=DAY, kind=EntryKind.PAYMENT, lines=[
        LineSpec(account=AccountRole.CASH, amount=D("30.00")),
        LineSpec(account=AccountRole.PATIENT_CREDIT, amount=D("-30.00"), patient=patient),
    ])
    assert patient_balance(patient=patient) == D("-30.00")
    assert patient_credit(patient=patient) == D("30.00")


def test_insurance_items_live_in_insurance_receivables(org, patient):
    item = open_item_create(organization=org, patient=patient, service_date=DAY, description="Visit",
                            party_kind=PartyKind.INSURANCE, party_label="Aetna")
    assert item.account.role == AccountRole.INSURANCE_RECEIVABLE


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_to_change_a_posted_entry(org, patient):
    _, entry = charge(org, patient, "70.00")
    line = entry.lines.first()
    statements = [
        ("UPDATE ledger_journalline SET amount = 1 WHERE id = %s", [line.pk]),
        ("UPDATE ledger_journalentry SET memo = 'edited' WHERE id = %s", [entry.pk]),
        ("INSERT INTO ledger_journalline (entry_id, organization_id, account_id, amount, entry_date, memo) "
         "VALUES (%s, %s, %s, 5, %s, '')", [entry.pk, org.pk, line.account_id, DAY]),
    ]
    if connection.vendor == "postgresql":
        statements.append(("DELETE FROM ledger_journalline WHERE id = %s", [line.pk]))
    for sql, params in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert JournalLine.objects.filter(entry=entry).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_to_post_an_unbalanced_entry_written_by_hand(org):
    chart_install(organization=org)
    cash = Account.objects.get(organization=org, role=AccountRole.CASH)
    revenue = Account.objects.get(organization=org, role=AccountRole.SERVICE_REVENUE)
    with pytest.raises(DatabaseError), transaction.atomic():
        entry = JournalEntry.objects.create(organization=org, entry_date=DAY, kind=EntryKind.MANUAL,
                                            total=D("10.00"), line_count=2)
        JournalLine.objects.create(entry=entry, organization=org, account=cash, amount=D("10.00"), entry_date=DAY)
        JournalLine.objects.create(entry=entry, organization=org, account=revenue, amount=D("-9.00"), entry_date=DAY)
        JournalEntry.objects.filter(pk=entry.pk).update(posted_at="2026-11-02T12:00:00Z")
    assert not JournalEntry.objects.filter(posted_at__isnull=False).exists()
