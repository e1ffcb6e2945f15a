"""Every KPI against figures worked out by hand, for March 2026 and for one scope. The comments show the sums."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from clinicdesk.billing.models import Encounter, PatientAccount, Payment
from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory, LocationFactory, UserFactory
from clinicdesk.goals.kpis import registry
from clinicdesk.goals.kpis.registry import Scope
from clinicdesk.insurance.choices import ClaimFrequency, ClaimStatus
from clinicdesk.insurance.models import Claim, ClaimEvent
from clinicdesk.insurance.tests.claims_world import ClaimsWorld
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import Account, Budget
from clinicdesk.ledger.services import LineSpec, chart_install, entry_post
from clinicdesk.ledger.tests.books import charge, pay
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.rostering.choices import PeriodStatus
from clinicdesk.rostering.tests.factories import fill, make_period, make_unit
from clinicdesk.scheduling.choices import AppointmentStatus as S
from clinicdesk.scheduling.tests.factories import AppointmentFactory, AppointmentTypeFactory
from clinicdesk.staff.choices import AssignmentStatus, StaffStatus
from clinicdesk.staff.models import TrainingAssignment
from clinicdesk.staff.tests.factories import CourseFactory, CredentialFactory, StaffMemberFactory

D = Decimal
START, END = date(2026, 3, 1), date(2026, 3, 31)
ALL = Scope()


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute, second)),
                               timezone=__import__("zoneinfo").ZoneInfo(settings.TIME_ZONE))


def value(code: str, org, scope: Scope = ALL, start: date = START, end: date = END):
    return registry.get(code).compute(org.pk, start, end, scope)


@pytest.fixture
def clinic(org):
    family = DepartmentFactory(organization=org, name="Family")
    peds = DepartmentFactory(organization=org, name="Pediatrics")
    north, south = LocationFactory(organization=org), LocationFactory(organization=org)
    p1 = UserFactory(organization=org, role=Role.CLINICIAN, department=family)
    p2 = UserFactory(organization=org, role=Role.CLINICIAN, department=peds)
    kind = AppointmentTypeFactory(organization=org)

    def visit(provider, location, when, status, patient=None, **fields):
        return AppointmentFactory(organization=org, provider=provider, location=location, appointment_type=kind,
                                  starts_at=when, status=status, patient=patient or PatientFactory(organization=org),
                                  **fields)

    return {"family": family, "peds": peds, "north": north, "south": south, "p1": p1, "p2": p2, "visit": visit}


def test_no_show_rate(org, clinic):
    v, p1, p2, n, s = clinic["visit"], clinic["p1"], clinic["p2"], clinic["north"], clinic["south"]
    for hour, status in enumerate((S.COMPLETED, S.COMPLETED, S.COMPLETED, S.NO_SHOW, S.CANCELLED, S.SCHEDULED), 8):
        v(p1, n, at(date(2026, 3, 10), hour), status)
    v(p2, s, at(date(2026, 3, 11), 9), S.COMPLETED)
    v(p2, s, at(date(2026, 3, 12), 9), S.NO_SHOW)
    v(p1, n, at(date(2026, 2, 27), 9), S.NO_SHOW)  # February: outside
    # practice: resolved = 3 completed + 1 no-show (p1) + 1 completed + 1 no-show (p2) = 6; missed 2 → 2/6 = 33.33 %
    figure = value("no_show_rate", org)
    assert (figure.value, figure.numerator, figure.denominator) == (D("33.33"), D(2), D(6))
    # Family (p1's department): 1 of 4 → 25.00 %; the south location: 1 of 2 → 50.00 %
    assert value("no_show_rate", org, Scope(department_id=clinic["family"].pk)).value == D("25.00")
    assert value("no_show_rate", org, Scope(location_id=s.pk)).value == D("50.00")


def test_wait_time(org, clinic):
    v, p1, p2, n = clinic["visit"], clinic["p1"], clinic["p2"], clinic["north"]
    day = date(2026, 3, 16)
    v(p1, n, at(day, 9), S.COMPLETED, arrived_at=at(day, 9), roomed_at=at(day, 9, 12))
    v(p1, n, at(day, 10), S.COMPLETED, arrived_at=at(day, 10), roomed_at=at(day, 10, 20))
    v(p2, n, at(day, 11), S.ROOMED, arrived_at=at(day, 11), roomed_at=at(day, 11, 7, 30))
    v(p2, n, at(day, 12), S.ARRIVED, arrived_at=at(day, 12))  # never roomed: excluded
    # practice: (12 + 20 + 7.5) / 3 = 39.5 / 3 = 13.1666… → 13.2 minutes
    figure = value("wait_time", org)
    assert (figure.value, figure.denominator) == (D("13.2"), D(3))
    # provider p1: (12 + 20) / 2 = 16.0
    assert value("wait_time", org, Scope(provider_id=p1.pk)).value == D("16.0")


def test_new_patients(org, clinic):
    v, p1, p2, n = clinic["visit"], clinic["p1"], clinic["p2"], clinic["north"]
    known, new_a, new_b = (PatientFactory(organization=org) for _ in range(3))
    v(p1, n, at(date(2026, 1, 5), 9), S.COMPLETED, patient=known)
    v(p1, n, at(date(2026, 3, 5), 9), S.COMPLETED, patient=known)  # seen before March: not new
    v(p1, n, at(date(2026, 3, 6), 9), S.COMPLETED, patient=new_a)
    v(p1, n, at(date(2026, 3, 20), 9), S.COMPLETED, patient=new_a)  # second visit: counted once
    v(p2, n, at(date(2026, 3, 7), 9), S.COMPLETED, patient=new_b)
    v(p2, n, at(date(2026, 3, 8), 9), S.NO_SHOW)  # a no-show is not a visit
    # practice: new_a and new_b = 2; Family (p1): new_a = 1
    assert value("new_patients", org).value == D(2)
    assert value("new_patients", org, Scope(department_id=clinic["family"].pk)).value == D(1)


@pytest.fixture
def books(org):
    chart_install(organization=org)
    a, b = PatientFactory(organization=org), PatientFactory(organization=org)
    insured = charge(org, a, "2000.00", service_date=date(2026, 3, 2), payer="Acme Health")
    own = charge(org, b, "1100.00", service_date=date(2026, 3, 10))
    charge(org, b, "500.00", service_date=date(2026, 2, 15))
    pay(org, insured, "1200.00", on=date(2026, 3, 20))
    entry_post(organization=org, entry_date=date(2026, 3, 20), kind=EntryKind.ADJUSTMENT, lines=[
        LineSpec(account=AccountRole.CONTRACTUAL_ADJUSTMENT, amount=D("300.00")),
        LineSpec(account=AccountRole.INSURANCE_RECEIVABLE, amount=D("-300.00"), item=insured)])
    pay(org, own, "400.00", on=date(2026, 3, 25))
    pay(org, own, "100.00", on=date(2026, 4, 2))  # April: outside


def test_days_in_ar(org, books):
    # A/R at 31 March: 2000 + 1100 + 500 − 1200 − 300 − 400 = 1700
    # charges in March: 2000 + 1100 = 3100 over 31 days = 100.00 a day → 1700 / 100 = 17.0 days
    figure = value("days_in_ar", org)
    assert (figure.value, figure.numerator, figure.denominator) == (D("17.0"), D("1700.00"), D("100.00"))


def test_net_collection_rate(org, books):
    # payments in March: 1200 + 400 = 1600; charges 3100 − contractual 300 = 2800 → 1600 / 2800 = 57.142… → 57.14 %
    figure = value("net_collection_rate", org)
    assert (figure.value, figure.numerator, figure.denominator) == (D("57.14"), D("1600.00"), D("2800.00"))


def test_collected_at_time_of_service(org, clinic):
    v, p1, n, s = clinic["visit"], clinic["p1"], clinic["north"], clinic["south"]
    patient = PatientFactory(organization=org)
    account = PatientAccount.objects.create(organization=org, number="A1", guarantor_patient=patient,
                                            guarantor_name="G")
    visit = v(p1, n, at(date(2026, 3, 9), 10), S.COMPLETED, patient=patient)

    def paid(amount, on, *, appointment=None, location=n, status="posted"):
        return Payment.objects.create(organization=org, account=account, patient=patient, method="cash", status=status,
                                      amount=D(amount), received_on=on, appointment=appointment, location=location,
                                      idempotency_key=f"k{Payment.objects.count()}", request_fingerprint="f")

    paid("30.00", date(2026, 3, 9), appointment=visit)        # at the visit
    paid("50.00", date(2026, 3, 12), appointment=visit)       # three days later: not at the visit
    paid("20.00", date(2026, 3, 14))                          # a statement payment
    paid("99.00", date(2026, 3, 9), appointment=visit, status="voided")  # voided: excluded
    paid("100.00", date(2026, 3, 15), location=s)             # the south desk
    # practice: 30 / (30 + 50 + 20 + 100) = 30 / 200 = 15.00 %; north only: 30 / 100 = 30.00 %
    figure = value("time_of_service", org)
    assert (figure.value, figure.numerator, figure.denominator) == (D("15.00"), D("30.00"), D("200.00"))
    assert value("time_of_service", org, Scope(location_id=n.pk)).value == D("30.00")


@pytest.fixture
def claims(org):
    world = ClaimsWorld(org)
    family = DepartmentFactory(organization=org, name="Family")
    coverage = world.patient.coverages.first()

    def claim(status, *, submitted=None, adjudicated=None, department=None, history=(), frequency=ClaimFrequency.ORIGINAL):
        encounter = Encounter.objects.create(organization=org, patient=world.patient, provider=world.provider,
                                             location=world.location, service_date=date(2026, 3, 2),
                                             department=department)
        made = Claim.objects.create(organization=org, claim_number=f"C{Claim.objects.count() + 1}", encounter=encounter,
                                    patient=world.patient, coverage=coverage, payer=world.payer, status=status,
                                    place_of_service="11", service_from=date(2026, 3, 2), service_to=date(2026, 3, 2),
                                    rendering_provider=world.provider, total_charge=D("100.00"), frequency=frequency,
                                    submitted_at=at(submitted, 12) if submitted else None, adjudicated_on=adjudicated)
        for to in history:
            ClaimEvent.objects.create(claim=made, kind="status", to_status=to)
        return made

    return {"claim": claim, "family": family}


def test_clean_claim_rate(org, claims):
    c, fam = claims["claim"], claims["family"]
    c(ClaimStatus.PAID, submitted=date(2026, 3, 3), department=fam, history=[ClaimStatus.SUBMITTED, ClaimStatus.PAID])
    c(ClaimStatus.ACCEPTED, submitted=date(2026, 3, 4), department=fam)
    c(ClaimStatus.PAID, submitted=date(2026, 3, 5), history=[ClaimStatus.REJECTED, ClaimStatus.SUBMITTED])
    c(ClaimStatus.DENIED, submitted=date(2026, 3, 6), department=fam)
    c(ClaimStatus.PAID, submitted=date(2026, 3, 7), frequency=ClaimFrequency.REPLACEMENT)  # corrected: excluded
    c(ClaimStatus.PAID, submitted=date(2026, 2, 26))  # February: excluded
    c(ClaimStatus.DRAFT)  # never submitted: excluded
    # practice: 4 originals submitted in March; clean = the first two → 2 / 4 = 50.00 %
    figure = value("clean_claim_rate", org)
    assert (figure.value, figure.numerator, figure.denominator) == (D("50.00"), D(2), D(4))
    # Family: the 1st, 2nd and 4th; clean 2 → 2 / 3 = 66.67 %
    assert value("clean_claim_rate", org, Scope(department_id=fam.pk)).value == D("66.67")


def test_denial_rate(org, claims):
    c, fam = claims["claim"], claims["family"]
    c(ClaimStatus.PAID, adjudicated=date(2026, 3, 10), department=fam)
    c(ClaimStatus.DENIED, adjudicated=date(2026, 3, 11), department=fam, history=[ClaimStatus.DENIED])
    c(ClaimStatus.APPEALED, adjudicated=date(2026, 3, 12), history=[ClaimStatus.DENIED, ClaimStatus.APPEALED])
    c(ClaimStatus.PARTIALLY_PAID, adjudicated=date(2026, 3, 13))
    c(ClaimStatus.DENIED, adjudicated=date(2026, 4, 1))  # April: excluded
    # practice: 4 adjudicated in March, denied 2 (one since appealed) → 50.00 %; Family: 1 of 2 → 50.00 %
    figure = value("denial_rate", org)
    assert (figure.value, figure.numerator, figure.denominator) == (D("50.00"), D(2), D(4))
    c(ClaimStatus.PAID, adjudicated=date(2026, 3, 14), department=fam)
    # Family now 1 of 3 → 33.33 %
    assert value("denial_rate", org, Scope(department_id=fam.pk)).value == D("33.33")


def test_budget_variance(org):
    chart_install(organization=org)
    lab, family = DepartmentFactory(organization=org, name="Lab"), DepartmentFactory(organization=org, name="Family")
    accounts = {a.code: a for a in Account.objects.filter(organization=org)}
    supplies, rent, bank = accounts["6300"], accounts["6500"], accounts["1050"]
    for month, amount in ((3, "1000.00"), (4, "1000.00")):
        Budget.objects.create(organization=org, department=lab, account=supplies, month=date(2026, month, 1),
                              amount=D(amount))
    Budget.objects.create(organization=org, department=family, account=rent, month=date(2026, 3, 1), amount=D("2000.00"))

    def spend(day, account, amount, department):
        entry_post(organization=org, entry_date=day, kind=EntryKind.MANUAL, memo="spend", lines=[
            LineSpec(account=account, amount=D(amount), department=department),
            LineSpec(account=bank, amount=-D(amount))])

    spend(date(2026, 3, 5), supplies, "700.00", lab)
    spend(date(2026, 3, 25), supplies, "450.00", lab)
    spend(date(2026, 3, 1), rent, "2000.00", family)
    spend(date(2026, 4, 3), supplies, "999.00", lab)  # April: outside
    # practice: budget 1000 + 2000 = 3000; actual 700 + 450 + 2000 = 3150 → 3000 − 3150 = −150.00 (over budget)
    figure = value("budget_variance", org)
    assert (figure.value, figure.numerator, figure.denominator) == (D("-150.00"), D("3000.00"), D("3150.00"))
    # the lab: 1000 − 1150 = −150.00; the family department: 2000 − 2000 = 0.00
    assert value("budget_variance", org, Scope(department_id=lab.pk)).value == D("-150.00")
    assert value("budget_variance", org, Scope(department_id=family.pk)).value == D("0.00")


def test_credential_compliance(org):
    lab, family = DepartmentFactory(organization=org), DepartmentFactory(organization=org)
    a = StaffMemberFactory(organization=org, department=lab)
    b = StaffMemberFactory(organization=org, department=family)
    gone = StaffMemberFactory(organization=org, department=lab, status=StaffStatus.OFFBOARDED)
    verified = timezone.now()
    CredentialFactory(staff=a, expires_on=date(2026, 12, 31), verified_at=verified)   # current
    CredentialFactory(staff=a, expires_on=date(2026, 3, 15), verified_at=verified)    # lapsed before 31 March
    CredentialFactory(staff=a, expires_on=None, verified_at=verified)                 # never expires: current
    CredentialFactory(staff=b, expires_on=date(2027, 1, 1), verified_at=None)         # not verified
    CredentialFactory(staff=b, expires_on=date(2026, 3, 31), verified_at=verified)    # good to the last day
    CredentialFactory(staff=b, expires_on=date(2020, 1, 1), required=False)           # not required: excluded
    CredentialFactory(staff=gone, expires_on=date(2020, 1, 1))                        # offboarded: excluded
    # practice: 5 required; current 3 → 60.00 %; the lab: 2 of 3 → 66.67 %
    figure = value("credential_compliance", org)
    assert (figure.value, figure.numerator, figure.denominator) == (D("60.00"), D(3), D(5))
    assert value("credential_compliance", org, Scope(department_id=lab.pk)).value == D("66.67")


def test_training_compliance(org):
    lab, family = DepartmentFactory(organization=org), DepartmentFactory(organization=org)
    a = StaffMemberFactory(organization=org, department=lab)
    b = StaffMemberFactory(organization=org, department=family)
    course = CourseFactory(organization=org)

    def assigned(staff, due, status=AssignmentStatus.ASSIGNED, completed=None):
        TrainingAssignment.objects.create(organization=org, staff=staff, course=course, due_date=due, status=status,
                                          completed_on=completed)

    assigned(a, date(2026, 3, 10), AssignmentStatus.COMPLETED, date(2026, 3, 9))    # on time
    assigned(a, date(2026, 3, 10), AssignmentStatus.COMPLETED, date(2026, 3, 12))   # late
    assigned(a, date(2026, 3, 31))                                                   # not done
    assigned(b, date(2026, 3, 20), AssignmentStatus.COMPLETED, date(2026, 3, 20))   # on the day: on time
    assigned(b, date(2026, 3, 20), AssignmentStatus.CANCELLED)                       # cancelled: excluded
    assigned(b, date(2026, 4, 2))                                                    # due in April: excluded
    # practice: 4 due; on time 2 → 50.00 %; the lab: 1 of 3 → 33.33 %
    figure = value("training_compliance", org)
    assert (figure.value, figure.numerator, figure.denominator) == (D("50.00"), D(2), D(4))
    assert value("training_compliance", org, Scope(department_id=lab.pk)).value == D("33.33")


def test_overtime(org):
    unit = make_unit(org, nurses=2, cover=False)
    # 2 March 2026 is a Monday. Nurse 0 works 6 eight-hour days (48 h: 8 over 40); nurse 1 works 4 (32 h: none).
    published = make_period(unit, start=date(2026, 3, 2), days=7, status=PeriodStatus.PUBLISHED)
    fill(published, {**{(0, d): "D" for d in range(6)}, **{(1, d): "N" for d in range(4)}})
    draft = make_period(unit, start=date(2026, 3, 9), days=7, name="Draft")
    fill(draft, {(0, d): "D" for d in range(7)})  # a draft: excluded
    # practice: overtime 8 h of 48 + 32 = 80 h → 10.00 %
    figure = value("overtime", org)
    assert (figure.value, figure.numerator, figure.denominator) == (D("10.00"), D(8), D(80))
    # another department: nothing rostered → no figure
    other = DepartmentFactory(organization=org)
    assert value("overtime", org, Scope(department_id=other.pk)).value is None
    # a period cut mid-week counts only its own days: 2–4 March is 24 h for nurse 0, 24 h for nurse 1, no overtime
    assert value("overtime", org, start=date(2026, 3, 2), end=date(2026, 3, 4)).value == D("0.00")


def test_stockouts_are_supplied_by_the_inventory_app(org):
    # the figures are worked out by hand in test_kpi_stockouts.py
    kpi = registry.get("stockouts")
    assert kpi.available and kpi.source == "inventory" and value("stockouts", org).value == 0


def test_every_kpi_has_a_written_formula_and_a_unit():
    for kpi in registry.all_kpis():
        assert len(kpi.formula) > 60
        assert kpi.unit in ("%", "days", "minutes", "count", "$")
        if kpi.unit == "%":
            assert "÷" in kpi.formula and "Excluded" in kpi.formula
    assert len(registry.all_kpis()) == 13
