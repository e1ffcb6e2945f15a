"""The reports against figures worked out by hand: aging buckets at their boundaries, by payer, credits, dates
in the past; the trial balance; an account's running balance; the journal's filters."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory
from clinicdesk.ledger import reports
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import Account
from clinicdesk.ledger.selectors import patient_balance
from clinicdesk.ledger.services import LineSpec, entry_post, entry_reverse, manual_entry_post
from clinicdesk.patients.tests.factories import PatientFactory

from .books import charge, credit, pay

D = Decimal
AS_OF = date(2026, 11, 30)


def days_ago(n: int) -> date:
    return AS_OF - timedelta(days=n)


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller1")


@pytest.fixture
def patient(org):
    return PatientFactory(organization=org, last_name="Abbott", first_name="Ann")


def test_aging_puts_each_item_in_its_bucket_at_the_boundaries(org, biller, patient):
    # given: one charge at each side of every boundary, powers of two so that any mix-up shows
    for age, amount in [(0, "1"), (30, "2"), (31, "4"), (60, "8"), (61, "16"), (90, "32"), (91, "64"), (120, "128"),
                        (121, "256")]:
        charge(org, patient, amount, service_date=days_ago(age))
    # when
    report = reports.ar_aging(user=biller, as_of=AS_OF)
    # then
    (row,) = report.attach_patients(report.rows)
    assert row.patient == patient and row.key == patient.pk
    assert row.buckets == (D("3.00"), D("12.00"), D("48.00"), D("192.00"), D("256.00"))
    assert row.credit == 0 and row.total == D("511.00") == patient_balance(patient=patient, as_of=AS_OF)
    assert report.totals.buckets == row.buckets and report.totals.total == D("511.00")


def test_aging_as_of_a_past_date_ignores_later_lines_and_ages_from_that_date(org, biller, patient):
    item = charge(org, patient, "100.00", service_date=days_ago(40))
    pay(org, item, "30.00", on=days_ago(5))
    charge(org, patient, "50.00", service_date=days_ago(2))  # after the earlier as-of date
    # as of 10 days ago: the first charge is 30 days old and nothing has paid it yet
    past = reports.ar_aging(user=biller, as_of=days_ago(10))
    assert past.rows[0].buckets == (D("100.00"), 0, 0, 0, 0)
    # today: 40 days old, less the payment, and the new charge
    now = reports.ar_aging(user=biller, as_of=AS_OF)
    assert now.rows[0].buckets == (D("50.00"), D("70.00"), 0, 0, 0)


def test_unapplied_credit_is_its_own_column_and_the_row_adds_up_to_the_patient_balance(org, biller, patient):
    charge(org, patient, "80.00", service_date=days_ago(70))
    credit(org, patient, "25.00", on=days_ago(3))
    only_credit = PatientFactory(organization=org, last_name="Zed")
    credit(org, only_credit, "10.00", on=days_ago(1))
    report = reports.ar_aging(user=biller, as_of=AS_OF)
    rows = {r.patient: r for r in report.attach_patients(report.rows)}
    assert rows[patient].buckets == (0, 0, D("80.00"), 0, 0) and rows[patient].credit == D("-25.00")
    assert rows[patient].total == D("55.00") == patient_balance(patient=patient)
    assert rows[only_credit].total == D("-10.00") == patient_balance(patient=only_credit)
    assert report.totals.credit == D("-35.00") and report.totals.total == D("45.00")
    assert [r.key for r in report.rows] == [patient.pk, only_credit.pk]  # largest balance first


def test_receivable_lines_that_name_no_item_are_aged_by_their_own_date(org, biller, patient):
    entry_post(organization=org, entry_date=days_ago(45), kind=EntryKind.MANUAL, lines=[
        LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=D("12.50"), patient=patient),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=D("-12.50")),
    ])
    charge(org, patient, "20.00", service_date=days_ago(95))
    (row,) = reports.ar_aging(user=biller, as_of=AS_OF).rows
    assert row.buckets == (0, D("12.50"), 0, D("20.00"), 0) and row.total == patient_balance(patient=patient)


def test_settled_items_and_insurance_items_stay_out_of_the_patient_aging(org, biller, patient):
    item = charge(org, patient, "40.00", service_date=days_ago(10))
    pay(org, item, "40.00", on=days_ago(9))
    charge(org, patient, "300.00", service_date=days_ago(10), payer="Aetna")
    assert reports.ar_aging(user=biller, as_of=AS_OF).rows == []
    everything = reports.ar_aging(user=biller, as_of=AS_OF, party_kind="")
    assert everything.rows[0].total == D("300.00")


def test_aging_by_payer_groups_insurers_by_name_and_patients_together(org, biller, patient):
    other = PatientFactory(organization=org)
    charge(org, patient, "200.00", service_date=days_ago(15), payer="Aetna")
    charge(org, other, "120.00", service_date=days_ago(45), payer="Aetna")
    bc = charge(org, other, "90.00", service_date=days_ago(100), payer="Blue Cross")
    pay(org, bc, "60.00", on=days_ago(20))
    charge(org, patient, "35.00", service_date=days_ago(130))
    charge(org, other, "15.00", service_date=days_ago(3))
    credit(org, patient, "5.00", on=days_ago(1))  # credits belong to the by-patient view
    report = reports.ar_aging(user=biller, as_of=AS_OF, by="payer")
    assert [(r.label, r.buckets) for r in report.rows] == [
        ("Aetna", (D("200.00"), D("120.00"), 0, 0, 0)),
        ("Blue Cross", (0, 0, 0, D("30.00"), 0)),
        (reports.PATIENT_RESPONSIBILITY, (D("15.00"), 0, 0, 0, D("35.00"))),
    ]
    assert report.totals.total == D("400.00")
    insurers = reports.ar_aging(user=biller, as_of=AS_OF, by="payer", party_kind="insurance")
    assert [r.label for r in insurers.rows] == ["Aetna", "Blue Cross"]


def test_a_transfer_from_patient_to_insurance_moves_the_balance_between_rows(org, biller, patient):
    mine = charge(org, patient, "150.00", service_date=days_ago(50))
    theirs = charge(org, patient, "0.01", service_date=days_ago(50), payer="Cigna")
    entry_post(organization=org, entry_date=days_ago(20), kind=EntryKind.TRANSFER, lines=[
        LineSpec(account=AccountRole.INSURANCE_RECEIVABLE, amount=D("100.00"), item=theirs),
        LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=D("-100.00"), item=mine),
    ])
    by_payer = {r.label: r.total for r in reports.ar_aging(user=biller, as_of=AS_OF, by="payer").rows}
    assert by_payer == {"Cigna": D("100.01"), reports.PATIENT_RESPONSIBILITY: D("50.00")}


def test_a_reversed_charge_leaves_nothing_to_age(org, biller, patient):
    charge(org, patient, "75.00", service_date=days_ago(5))
    entry = patient.open_items.get().lines.get().entry
    entry_reverse(entry=entry, entry_date=days_ago(1))
    assert reports.ar_aging(user=biller, as_of=AS_OF).rows == []
    assert reports.ar_aging(user=biller, as_of=days_ago(2)).rows[0].total == D("75.00")


def test_aging_reads_only_the_users_organization(org, other_org, biller, patient, make_user):
    charge(org, patient, "10.00", service_date=days_ago(1))
    stranger = make_user(Role.BILLER, organization=other_org, username="elsewhere")
    assert reports.ar_aging(user=stranger, as_of=AS_OF).rows == []
    assert reports.ar_aging(user=stranger, as_of=AS_OF, by="payer").rows == []


def test_aging_refuses_an_unknown_grouping(biller):
    with pytest.raises(ValidationError, match="by patient or by payer"):
        reports.ar_aging(user=biller, as_of=AS_OF, by="provider")


def test_the_trial_balance_puts_each_account_in_its_column_and_the_totals_agree(org, biller, patient, administrator):
    item = charge(org, patient, "120.00", service_date=days_ago(10))
    pay(org, item, "20.00", on=days_ago(5))
    manual_entry_post(organization=org, entry_date=days_ago(1), memo="Rent", actor=administrator, lines=[
        LineSpec(account=Account.objects.get(organization=org, code="6500"), amount=D("1000.00")),
        LineSpec(account=AccountRole.OPERATING_BANK, amount=D("-1000.00")),
    ])
    report = reports.trial_balance(user=biller, as_of=AS_OF)
    shown = {r.account.code: (r.debit, r.credit) for r in report.rows}
    assert shown == {
        "1000": (D("20.00"), 0),        # cash
        "1050": (0, D("1000.00")),      # the bank, overdrawn by the rent
        "1200": (D("100.00"), 0),       # patient receivables
        "4000": (0, D("120.00")),       # revenue
        "6500": (D("1000.00"), 0),      # rent
    }
    assert report.total_debit == report.total_credit == D("1120.00")
    earlier = reports.trial_balance(user=biller, as_of=days_ago(6))
    assert earlier.total_debit == earlier.total_credit == D("120.00")


def test_the_account_ledger_runs_a_balance_from_the_opening(org, biller, patient):
    a = charge(org, patient, "100.00", service_date=date(2026, 10, 1))
    pay(org, a, "40.00", on=date(2026, 10, 5))
    charge(org, patient, "25.00", service_date=date(2026, 10, 9))
    pay(org, a, "10.00", on=date(2026, 10, 20))
    account = Account.objects.get(organization=org, role=AccountRole.PATIENT_RECEIVABLE)
    ledger = reports.account_ledger(user=biller, account=account, date_from=date(2026, 10, 2), date_to=date(2026, 10, 10))
    assert ledger.opening == D("100.00") and ledger.closing == D("85.00")
    assert [(ln.amount, ln.running) for ln in ledger.lines] == [(D("-40.00"), D("60.00")), (D("25.00"), D("85.00"))]
    revenue = Account.objects.get(organization=org, role=AccountRole.SERVICE_REVENUE)
    whole = reports.account_ledger(user=biller, account=revenue)
    assert whole.sign == -1 and whole.closing == D("-125.00")


def test_the_account_ledger_of_another_organization_is_refused(org, other_org, make_user):
    from clinicdesk.ledger.services import chart_install

    chart_install(organization=org)
    stranger = make_user(Role.BILLER, organization=other_org, username="elsewhere")
    with pytest.raises(ValidationError):
        reports.account_ledger(user=stranger, account=Account.objects.filter(organization=org).first())


def test_the_journal_filters_by_date_kind_account_and_department(org, biller, patient, administrator):
    lab = DepartmentFactory(organization=org, name="Lab")
    first = charge(org, patient, "60.00", service_date=date(2026, 11, 1), department=lab)
    pay(org, first, "60.00", on=date(2026, 11, 3))
    rent = manual_entry_post(organization=org, entry_date=date(2026, 11, 4), memo="Rent", actor=administrator, lines=[
        LineSpec(account=Account.objects.get(organization=org, code="6500"), amount=D("900.00")),
        LineSpec(account=AccountRole.OPERATING_BANK, amount=D("-900.00")),
    ])
    everything = list(reports.journal(user=biller))
    assert [e.kind for e in everything] == [EntryKind.MANUAL, EntryKind.PAYMENT, EntryKind.CHARGE]
    assert list(reports.journal(user=biller, kind=EntryKind.MANUAL)) == [rent]
    assert [e.kind for e in reports.journal(user=biller, department=lab)] == [EntryKind.CHARGE]
    cash = Account.objects.get(organization=org, role=AccountRole.CASH)
    assert [e.kind for e in reports.journal(user=biller, account=cash)] == [EntryKind.PAYMENT]
    assert len(reports.journal(user=biller, date_from=date(2026, 11, 2), date_to=date(2026, 11, 3))) == 1


def test_books_integrity_adds_cents_exactly_on_either_engine(org, patient):
    # 112.42 + 72.00 - 184.42 is not zero in binary floating point (SQLite adds decimals that way)
    entry = entry_post(organization=org, entry_date=days_ago(3), kind=EntryKind.MANUAL, lines=[
        LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=D("112.42"), patient=patient),
        LineSpec(account=AccountRole.INSURANCE_RECEIVABLE, amount=D("72.00")),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=D("-184.42")),
    ])
    assert entry.total == D("184.42")
    ok, detail = reports.books_integrity()
    assert ok, detail
    assert detail.startswith("balanced: 1 posted entries")
