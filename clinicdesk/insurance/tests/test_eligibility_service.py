"""eligibility_check: a 270 out, the 271 read into the check, both files kept, errors as a status."""

from datetime import date
from decimal import Decimal

import pytest

from clinicdesk.core.audit import AuditEvent
from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import EligibilityStatus, SubscriberRelationship, TransactionKind
from clinicdesk.insurance.models import ControlNumber, X12Exchange
from clinicdesk.insurance.services.eligibility import eligibility_check
from clinicdesk.insurance.x12.x270 import read_270
from clinicdesk.patients.tests.factories import PatientFactory

from .eligibility_setup import *  # noqa: F403  (the shared fixtures)
from .eligibility_setup import enrol, make_coverage

DAY = date(2026, 12, 1)


@pytest.fixture
def desk(make_user):
    return make_user(Role.FRONT_DESK, username="desk")


def test_an_active_member_reads_into_the_check(clearinghouse, coverage, desk):
    enrol(clearinghouse, coverage)
    check = eligibility_check(coverage=coverage, service_date=DAY, actor=desk)
    assert check.status == EligibilityStatus.ACTIVE, check.message
    assert check.plan_name == "Choice PPO"
    assert check.copay == Decimal("25")
    assert check.coinsurance_percent == Decimal("20")
    assert (check.deductible, check.deductible_remaining) == (Decimal("1500"), Decimal("900"))
    assert (check.out_of_pocket, check.out_of_pocket_remaining) == (Decimal("5000"), Decimal("4000"))
    assert check.benefits["copays"][0]["service_types"] == ["98"]
    inquiry = read_270(check.request_x12)[0]
    assert inquiry.trace_number == check.trace_number
    assert inquiry.provider_npi == "1234567893" and inquiry.member_id == "W123456789"
    assert inquiry.service_date == DAY and inquiry.dependent is None
    kinds = set(X12Exchange.objects.values_list("transaction", "direction"))
    assert kinds == {(TransactionKind.X270, "out"), (TransactionKind.X271, "in")}
    assert ControlNumber.objects.get(organization=coverage.organization).next_interchange == 2
    event = AuditEvent.objects.get(action="eligibility.checked")
    assert event.patient_id == coverage.patient_id


def test_control_numbers_advance(clearinghouse, coverage, desk):
    enrol(clearinghouse, coverage)
    first = eligibility_check(coverage=coverage, service_date=DAY, actor=desk)
    second = eligibility_check(coverage=coverage, service_date=DAY, actor=desk)
    assert first.request_x12.split("*")[13] != second.request_x12.split("*")[13]


def test_an_unknown_member_is_rejected_with_the_reason(clearinghouse, coverage, desk):
    check = eligibility_check(coverage=coverage, service_date=DAY, actor=desk)
    assert check.status == EligibilityStatus.REJECTED
    assert "75" in check.message and "not found" in check.message.lower()
    assert check.response_x12.count("AAA*N**75*C") == 1


def test_an_inactive_member(clearinghouse, coverage, desk):
    enrol(clearinghouse, coverage, active=False)
    check = eligibility_check(coverage=coverage, service_date=DAY, actor=desk)
    assert check.status == EligibilityStatus.INACTIVE
    assert check.copay is None


def test_a_dependent_is_asked_about_under_the_subscriber(clearinghouse, payer, plan, practice, desk):
    child = PatientFactory(organization=practice, first_name="Milo", last_name="Rivers", date_of_birth=date(2015, 3, 1))
    cover = make_coverage(child, payer, plan, relationship=SubscriberRelationship.CHILD, member_id="W55",
                          subscriber_first_name="Dana", subscriber_date_of_birth=date(1980, 4, 2))
    enrol(clearinghouse, cover)
    check = eligibility_check(coverage=cover, service_date=DAY, actor=desk)
    inquiry = read_270(check.request_x12)[0]
    assert inquiry.dependent.first_name == "Milo" and inquiry.subscriber.first_name == "Dana"
    assert check.status == EligibilityStatus.ACTIVE and check.copay == Decimal("25")


def test_a_paper_payer_is_an_error_not_a_crash(coverage, desk):
    payer = coverage.payer
    payer.clearinghouse = None
    payer.save()
    check = eligibility_check(coverage=coverage, service_date=DAY, actor=desk)
    assert check.status == EligibilityStatus.ERROR and "no clearinghouse" in check.message
    assert not X12Exchange.objects.exists()


def test_no_practice_npi_is_an_error(clearinghouse, coverage, desk):
    organization = coverage.organization
    organization.npi = ""
    organization.save()
    check = eligibility_check(coverage=coverage, service_date=DAY, actor=desk)
    assert check.status == EligibilityStatus.ERROR and "NPI" in check.message


def test_a_clearinghouse_failure_is_an_error(clearinghouse, coverage, desk, settings):
    settings.CLEARINGHOUSE_ADAPTER = "clinicdesk.insurance.tests.test_eligibility_service.Broken"
    check = eligibility_check(coverage=coverage, service_date=DAY, actor=desk)
    assert check.status == EligibilityStatus.ERROR and "did not answer" in check.message
    assert check.request_x12


def test_an_unreadable_answer_is_an_error(clearinghouse, coverage, desk, settings):
    settings.CLEARINGHOUSE_ADAPTER = "clinicdesk.insurance.tests.test_eligibility_service.Garbled"
    check = eligibility_check(coverage=coverage, service_date=DAY, actor=desk)
    assert check.status == EligibilityStatus.ERROR and "could not be read" in check.message
    assert X12Exchange.objects.filter(transaction=TransactionKind.X271).get().errors


def test_someone_of_another_practice_may_not_check(coverage, make_user, other_org):
    from django.core.exceptions import PermissionDenied

    stranger = make_user(Role.FRONT_DESK, organization=other_org, username="stranger")
    with pytest.raises(PermissionDenied):
        eligibility_check(coverage=coverage, service_date=DAY, actor=stranger)


class Broken:
    def __init__(self, row):
        pass

    def send_270(self, content):
        raise ConnectionError("down")


class Garbled(Broken):
    def send_270(self, content):
        return "ISA*garbage~"
