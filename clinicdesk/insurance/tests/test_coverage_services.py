"""Services and selectors of the coverage side: payers and their import, coverages (ranks, dates, plan/payer,
practices), card images, prior authorisations and their warnings, and the copay source billing asks."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from clinicdesk.billing.services.copay_sources import copay_due
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.choices import DocumentCategory
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import CoverageRank, EligibilityStatus, PayerRuleKind, Sex, SubscriberRelationship
from ..models import Coverage, EligibilityCheck, Payer, PayerRule
from ..selectors.coverage import (
    authorization_for,
    authorization_warnings,
    coverage_for,
    coverage_list,
    coverages_in_force,
    payer_list,
)
from ..services import coverage as svc
from .factories_coverage import AuthorizationFactory, ClearinghouseFactory, CoverageFactory, PayerFactory, PlanFactory

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def desk(make_user):
    return make_user(Role.FRONT_DESK)


@pytest.fixture
def patient(org):
    return PatientFactory(organization=org, first_name="Rosa", last_name="Diaz", date_of_birth=date(1980, 4, 2),
                          address_line1="1 Main St", city="Kingston", state="NY", postal_code="12401")


@pytest.fixture
def plan(org):
    return PlanFactory(payer=PayerFactory(organization=org))


def test_self_copies_the_patient_and_the_plan_prefills(desk, patient, plan):
    coverage = svc.coverage_create(patient=patient, actor=desk, payer=plan.payer, plan=plan, member_id="XYZ1",
                                   relationship=SubscriberRelationship.SELF)
    assert coverage.subscriber_first_name == "Rosa" and coverage.subscriber_last_name == "Diaz"
    assert coverage.subscriber_date_of_birth == date(1980, 4, 2) and coverage.subscriber_sex == Sex.FEMALE
    assert coverage.subscriber_city == "Kingston" and coverage.subscriber_state == "NY"
    assert (coverage.copay, coverage.coinsurance_percent, coverage.deductible) == (
        Decimal("25.00"), Decimal("20"), Decimal("1500.00"))
    assert AuditEvent.objects.filter(action="insurance.coverage_added", patient_id=patient.pk).exists()


def test_a_typed_copay_beats_the_plan(desk, patient, plan):
    coverage = svc.coverage_create(patient=patient, actor=desk, payer=plan.payer, plan=plan, member_id="X",
                                   copay=Decimal("10.00"))
    assert coverage.copay == Decimal("10.00") and coverage.deductible == Decimal("1500.00")


@pytest.mark.parametrize(("data", "field"), [
    ({"member_id": "  "}, "member_id"),
    ({"member_id": "A", "effective_from": date(2026, 5, 1), "effective_to": date(2026, 4, 1)}, "effective_to"),
    ({"member_id": "A", "coinsurance_percent": Decimal("120")}, "coinsurance_percent"),
    ({"member_id": "A", "copay": Decimal("-1")}, "copay"),
])
def test_bad_coverage_is_refused_naming_the_field(desk, patient, plan, data, field):
    with pytest.raises(ValidationError) as exc:
        svc.coverage_create(patient=patient, actor=desk, payer=plan.payer, plan=plan, **data)
    assert field in exc.value.message_dict
    assert not Coverage.objects.exists()


def test_a_plan_of_another_payer_is_refused(desk, patient, plan, org):
    other_payer = PayerFactory(organization=org)
    with pytest.raises(ValidationError) as exc:
        svc.coverage_create(patient=patient, actor=desk, payer=other_payer, plan=plan, member_id="A")
    assert "plan" in exc.value.message_dict


def test_another_practices_payer_or_patient_is_refused(desk, patient, other_org):
    foreign = PayerFactory(organization=other_org)
    with pytest.raises(ValidationError) as exc:
        svc.coverage_create(patient=patient, actor=desk, payer=foreign, member_id="A")
    assert "payer" in exc.value.message_dict
    stranger = PatientFactory(organization=other_org)
    with pytest.raises(ValidationError):
        svc.coverage_create(patient=stranger, actor=desk, payer=PayerFactory(organization=other_org), member_id="A")


def test_one_active_coverage_per_rank(desk, patient, plan):
    svc.coverage_create(patient=patient, actor=desk, payer=plan.payer, member_id="A")
    with pytest.raises(ValidationError) as exc:
        svc.coverage_create(patient=patient, actor=desk, payer=plan.payer, member_id="B")
    assert "rank" in exc.value.message_dict
    # and the database refuses it too
    with pytest.raises(IntegrityError), transaction.atomic():
        CoverageFactory(patient=patient, rank=CoverageRank.PRIMARY)


def test_a_rank_swap_happens_in_one_transaction(desk, patient, plan):
    # given a primary and a secondary
    first = svc.coverage_create(patient=patient, actor=desk, payer=plan.payer, member_id="A")
    second = svc.coverage_create(patient=patient, actor=desk, payer=PayerFactory(organization=patient.organization),
                                 member_id="B", rank=CoverageRank.SECONDARY)
    # when they are swapped
    svc.coverage_reorder(patient=patient, actor=desk, order=[second, first])
    # then
    first.refresh_from_db()
    second.refresh_from_db()
    assert (second.rank, first.rank) == (CoverageRank.PRIMARY, CoverageRank.SECONDARY)
    assert coverage_for(patient, on=date.today()).pk == second.pk


def test_reorder_must_list_every_active_coverage_once(desk, patient, plan):
    first = svc.coverage_create(patient=patient, actor=desk, payer=plan.payer, member_id="A")
    svc.coverage_create(patient=patient, actor=desk, payer=plan.payer, member_id="B", rank=CoverageRank.SECONDARY)
    with pytest.raises(ValidationError) as exc:
        svc.coverage_reorder(patient=patient, actor=desk, order=[first])
    assert "order" in exc.value.message_dict
    assert first.__class__.objects.get(pk=first.pk).rank == CoverageRank.PRIMARY


def test_an_ended_coverage_frees_its_rank_and_stops_covering(desk, patient, plan):
    old = svc.coverage_create(patient=patient, actor=desk, payer=plan.payer, member_id="A",
                              effective_from=date(2025, 1, 1))
    svc.coverage_end(coverage=old, actor=desk, on=date(2025, 12, 31))
    new = svc.coverage_create(patient=patient, actor=desk, payer=plan.payer, member_id="B",
                              effective_from=date(2026, 1, 1))
    assert coverage_for(patient, on=date(2026, 2, 1)).pk == new.pk
    assert coverage_for(patient, on=date(2025, 6, 1)) is None  # the ended one no longer counts
    with pytest.raises(ValidationError):
        svc.coverage_end(coverage=new, actor=desk, on=date(2025, 6, 1))


def test_coverage_for_respects_dates_and_rank(patient):
    CoverageFactory(patient=patient, effective_from=date(2026, 1, 1), effective_to=date(2026, 6, 30))
    CoverageFactory(patient=patient, rank=CoverageRank.SECONDARY)
    assert coverage_for(patient, on=date(2026, 3, 1)) is not None
    assert coverage_for(patient, on=date(2026, 7, 1)) is None
    assert coverage_for(patient, on=date(2026, 7, 1), rank=CoverageRank.SECONDARY) is not None
    assert [c.rank for c in coverages_in_force(patient, on=date(2026, 3, 1))] == [1, 2]


def test_coverage_list_is_audited_and_scoped(desk, patient, other_org):
    CoverageFactory(patient=patient)
    assert len(coverage_list(actor=desk, patient=patient)) == 1
    assert AuditEvent.objects.filter(action="insurance.coverage_viewed", patient_id=patient.pk).count() == 1
    from django.http import Http404

    with pytest.raises(Http404):
        coverage_list(actor=desk, patient=PatientFactory(organization=other_org))


def test_card_pictures_are_filed_as_insurance_card_documents(desk, patient, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    coverage = CoverageFactory(patient=patient)
    svc.coverage_card_upload(coverage=coverage, actor=desk, side="front",
                             file=SimpleUploadedFile("card.png", PNG, content_type="image/png"))
    coverage.refresh_from_db()
    assert coverage.card_front.category == DocumentCategory.INSURANCE_CARD
    assert coverage.card_front.patient_id == patient.pk
    with pytest.raises(ValidationError):
        svc.coverage_card_upload(coverage=coverage, actor=desk, side="side",
                                 file=SimpleUploadedFile("card.png", PNG, content_type="image/png"))


# --- payers --------------------------------------------------------------------------------------------------


def test_payer_save_checks_the_clearinghouse_practice(desk, org, other_org):
    with pytest.raises(ValidationError) as exc:
        svc.payer_save(organization=org, actor=desk, name="X", payer_identifier="x1",
                       clearinghouse=ClearinghouseFactory(organization=other_org))
    assert "clearinghouse" in exc.value.message_dict
    payer = svc.payer_save(organization=org, actor=desk, name="X", payer_identifier=" x1 ")
    assert payer.payer_identifier == "X1" and payer.is_paper


def test_plan_save_refuses_bad_percent(desk, org):
    payer = PayerFactory(organization=org)
    with pytest.raises(ValidationError) as exc:
        svc.plan_save(payer=payer, actor=desk, name="P", default_coinsurance_percent=Decimal("101"))
    assert "default_coinsurance_percent" in exc.value.message_dict


def test_payer_import_dry_run_then_import(desk, org):
    ClearinghouseFactory(organization=org, name="Local")
    PayerFactory(organization=org, name="Old name", payer_identifier="60054")
    PayerFactory(organization=org, name="Same", payer_identifier="SAME1")
    text = ("payer_id,name,claim_filing_indicator,state,clearinghouse,timely_filing_days\n"
            "60054,Hudson PPO,12,NY,Local,180\n"
            "NEW1,New Payer,CI,NY,paper,365\n"
            "SAME1,Same,,,,\n")
    result = svc.payer_import(organization=org, file=text, actor=desk, dry_run=True)
    assert [r.outcome for r in result.rows] == ["updated", "new", "unchanged"] and not result.saved
    assert not Payer.objects.filter(payer_identifier="NEW1").exists()
    result = svc.payer_import(organization=org, file=text, actor=desk, dry_run=False)
    assert result.saved and Payer.objects.get(payer_identifier="60054").timely_filing_days == 180
    assert Payer.objects.get(payer_identifier="NEW1").clearinghouse is None
    again = svc.payer_import(organization=org, file=text, actor=desk, dry_run=False)
    assert again.counts["unchanged"] == 3


def test_one_bad_line_refuses_the_file_naming_line_and_column(desk, org):
    text = "payer_id,name,claim_filing_indicator,timely_filing_days\nOK1,Fine,CI,90\nBAD1,Bad,QQ,90\nBAD2,Worse,CI,x\n"
    result = svc.payer_import(organization=org, file=text, actor=desk, dry_run=False)
    assert not result.saved and not Payer.objects.exists()
    messages = [r.message for r in result.errors]
    assert "Line 3, column claim_filing_indicator" in messages[0]
    assert "Line 4, column timely_filing_days" in messages[1]


def test_payer_import_refuses_a_file_without_the_columns(desk, org):
    with pytest.raises(ValidationError) as exc:
        svc.payer_import(organization=org, file="id,title\n1,2\n", actor=desk, dry_run=True)
    assert "file" in exc.value.message_dict


def test_payer_list_is_scoped(desk, org, other_org):
    PayerFactory(organization=org, name="Mine")
    PayerFactory(organization=other_org, name="Theirs")
    assert [p.name for p in payer_list(actor=desk)] == ["Mine"]


# --- authorisations ------------------------------------------------------------------------------------------


def test_authorization_create_use_and_limits(desk, patient):
    coverage = CoverageFactory(patient=patient)
    auth = svc.authorization_create(coverage=coverage, actor=desk, number="A1", procedure_codes="97110, 97140",
                                    units_authorized=3, starts_on=date(2026, 1, 1), ends_on=date(2026, 3, 31))
    assert auth.procedure_codes == "97110,97140"
    assert authorization_for(patient, "97140", date(2026, 2, 1)).pk == auth.pk
    assert authorization_for(patient, "97140", date(2026, 4, 1)) is None
    svc.authorization_use(authorization=auth, units=2, actor=desk)
    with pytest.raises(ValidationError) as exc:
        svc.authorization_use(authorization=auth, units=2, actor=desk)
    assert "units" in exc.value.message_dict
    svc.authorization_use(authorization=auth, units=1, actor=desk)
    assert authorization_for(patient, "97110", date(2026, 2, 1)) is None  # none left


@pytest.mark.parametrize(("data", "field"), [
    ({"ends_on": date(2025, 1, 1)}, "ends_on"),
    ({"procedure_codes": " , "}, "procedure_codes"),
    ({"units_used": 11}, "units_used"),
])
def test_bad_authorization_is_refused(desk, patient, data, field):
    coverage = CoverageFactory(patient=patient)
    base = {"number": "A1", "procedure_codes": "97110", "units_authorized": 10, "starts_on": date(2026, 1, 1),
            "ends_on": date(2026, 3, 31)}
    with pytest.raises(ValidationError) as exc:
        svc.authorization_create(coverage=coverage, actor=desk, **{**base, **data})
    assert field in exc.value.message_dict


def test_authorization_warnings_follow_the_payer_rules(desk, patient):
    coverage = CoverageFactory(patient=patient)
    PayerRule.objects.create(organization=patient.organization, payer=coverage.payer, kind=PayerRuleKind.REQUIRE_AUTH,
                             codes="97110")
    on = date(2026, 2, 1)
    assert authorization_warnings(patient, ["97110", "99213"], on) == [
        f"{coverage.payer.name} needs a prior authorisation for 97110 on 02/01/2026; none is on file with units left."]
    AuthorizationFactory(coverage=coverage, procedure_codes="97110", units_authorized=10)
    assert authorization_warnings(patient, ["97110"], on) == []
    assert authorization_warnings(patient, ["99213"], on) == []


# --- the copay billing asks for ------------------------------------------------------------------------------


def test_copay_due_comes_from_the_primary_coverage_or_its_eligibility(patient):
    from clinicdesk.scheduling.tests.factories import AppointmentFactory

    appointment = AppointmentFactory(organization=patient.organization, patient=patient)
    assert copay_due(patient, appointment) is None  # no coverage: billing prefills nothing
    coverage = CoverageFactory(patient=patient, copay=Decimal("30.00"))
    assert copay_due(patient, appointment) == Decimal("30.00")
    EligibilityCheck.objects.create(organization=patient.organization, coverage=coverage, trace_number="T1",
                                    service_date=appointment.starts_at.date(), status=EligibilityStatus.ACTIVE,
                                    copay=Decimal("35.00"))
    assert copay_due(patient, appointment) == Decimal("35.00")
    coverage.effective_to = appointment.starts_at.date() - timedelta(days=400)
    coverage.effective_from = coverage.effective_to - timedelta(days=30)
    coverage.save()
    assert copay_due(patient, appointment) is None
