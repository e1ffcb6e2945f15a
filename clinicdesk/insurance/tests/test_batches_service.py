"""Claim batches: 837P files built from scrubbed claims (valid per pyx12), sent to the local clearinghouse, the
999 and 277CA read back into the batch's and the claims' statuses."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import BatchStatus, ClaimEventKind, ClaimStatus, SubscriberRelationship
from clinicdesk.insurance.models import ClaimEvent, Payer, X12Exchange
from clinicdesk.insurance.services.batches import claim_batch_build, claim_batch_send
from clinicdesk.insurance.x12.x837p import read_837p
from clinicdesk.patients.tests.factories import PatientFactory

from .eligibility_setup import *  # noqa: F403  (the shared fixtures)
from .eligibility_setup import enrol, make_claim, make_coverage
from .x12.validation import pyx12_errors


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller")


def test_a_batch_is_written_valid_and_the_claims_are_submitted(practice, coverage, biller):
    claim = make_claim(coverage)
    [batch] = claim_batch_build(organization=practice, claims=[claim], actor=biller)
    assert pyx12_errors(batch.content) == []
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED and claim.batch == batch
    assert batch.claim_count == 1 and batch.total_charge == Decimal("128.00")
    read = read_837p(batch.content).claims[0]
    assert read.claim_id == "C1001" and read.billing_provider.npi == "1234567893"
    assert read.billing_provider.address.postal_code == "627011234"
    assert read.rendering_provider.npi == "1245319599" and read.patient is None
    assert ClaimEvent.objects.filter(claim=claim, to_status=ClaimStatus.SUBMITTED).exists()


def test_a_dependent_claim_has_its_patient_loop(practice, payer, plan, biller):
    child = PatientFactory(organization=practice, first_name="Milo", last_name="Rivers", date_of_birth=date(2015, 3, 1),
                           address_line1="12 Elm St", city="Springfield", state="IL", postal_code="62701")
    cover = make_coverage(child, payer, plan, relationship=SubscriberRelationship.CHILD, member_id="W55",
                          subscriber_first_name="Dana", subscriber_date_of_birth=date(1980, 4, 2))
    [batch] = claim_batch_build(organization=practice, claims=[make_claim(cover)], actor=biller)
    assert pyx12_errors(batch.content) == []
    read = read_837p(batch.content).claims[0]
    assert read.patient.first_name == "Milo" and read.subscriber.first_name == "Dana"


def test_a_secondary_claim_carries_the_primary_payment(practice, patient, payer, plan, clearinghouse, biller):
    from clinicdesk.insurance.models import Remittance, RemittanceAdjustment, RemittanceClaim, RemittanceLine

    other = Payer.objects.create(organization=practice, name="Second Mutual", payer_identifier="SEC22",
                                 clearinghouse=clearinghouse)
    first = make_coverage(patient, payer, plan)
    second = make_coverage(patient, other, member_id="S777", rank=2)
    primary = make_claim(first, number="C1", status=ClaimStatus.ACCEPTED, charges=("100.00",))
    remittance = Remittance.objects.create(organization=practice, payer=payer, payer_name=payer.name,
                                           check_number="K1", total_paid=Decimal("60"), sha256="x")
    row = RemittanceClaim.objects.create(remittance=remittance, claim=primary, claim_number="C1", status_code="1",
                                         charge=Decimal("100"), paid=Decimal("60"))
    line = RemittanceLine.objects.create(remittance_claim=row, claim_line=primary.lines.get(), procedure_code="99213",
                                         charge=Decimal("100"), paid=Decimal("60"), service_date=date(2026, 11, 2))
    RemittanceAdjustment.objects.create(remittance_claim=row, line=line, group_code="CO", reason_code="45",
                                        amount=Decimal("20"))
    RemittanceAdjustment.objects.create(remittance_claim=row, line=line, group_code="PR", reason_code="2",
                                        amount=Decimal("20"))
    secondary = make_claim(second, number="C2", rank=2, primary=primary, charges=("100.00",),
                           doctor=primary.rendering_provider, location=primary.encounter.location)
    secondary.lines.update(service_line=primary.lines.get().service_line)
    [batch] = claim_batch_build(organization=practice, claims=[secondary], actor=biller)
    assert pyx12_errors(batch.content) == []
    read = read_837p(batch.content).claims[0]
    assert read.subscriber.responsibility == "S"
    [other_payer] = read.other_payers
    assert other_payer.payer.payer_id == "ACME1" and other_payer.paid == Decimal("60")
    [adjudication] = read.lines[0].adjudications
    assert adjudication.paid == Decimal("60") and {a.reason for a in adjudication.adjustments} == {"45", "2"}


def test_one_batch_per_clearinghouse(practice, patient, payer, plan, biller, clearinghouse):
    from clinicdesk.insurance.models import Clearinghouse

    elsewhere = Clearinghouse.objects.create(organization=practice, name="Other house", submitter_id="R2",
                                             receiver_id="OTHER")
    other = Payer.objects.create(organization=practice, name="Other Payer", payer_identifier="OTH1",
                                 clearinghouse=elsewhere)
    a = make_claim(make_coverage(patient, payer, plan), number="C1")
    b = make_claim(make_coverage(patient, other, member_id="Z1", rank=2), number="C2",
                   doctor=a.rendering_provider, location=a.encounter.location)
    batches = claim_batch_build(organization=practice, claims=[a, b], actor=biller)
    assert len(batches) == 2
    assert len({batch.interchange_control_number for batch in batches}) == 2


def test_unscrubbed_paper_and_zip5_claims_are_refused_naming_each(practice, coverage, biller):
    draft = make_claim(coverage, number="D1", status=ClaimStatus.DRAFT)
    with pytest.raises(ValidationError) as refused:
        claim_batch_build(organization=practice, claims=[draft], actor=biller)
    assert "Claim D1 is draft, not scrubbed." in refused.value.message_dict["claims"]
    location = draft.encounter.location
    location.postal_code = "62701"
    location.save()
    payer = coverage.payer
    payer.clearinghouse = None
    payer.save()
    with pytest.raises(ValidationError) as refused:
        claim_batch_build(organization=practice, claims=[make_claim(coverage, number="D2", location=location,
                                                                    doctor=draft.rendering_provider)], actor=biller)
    messages = " ".join(refused.value.message_dict["claims"])
    assert "paper" in messages and "ZIP+4" in messages


def test_a_front_desk_user_may_not_build(practice, coverage, make_user):
    with pytest.raises(PermissionDenied):
        claim_batch_build(organization=practice, claims=[make_claim(coverage)], actor=make_user(Role.FRONT_DESK))


def test_sending_reads_the_999_and_277ca(practice, clearinghouse, coverage, patient, payer, biller):
    enrol(clearinghouse, coverage)
    known = make_claim(coverage, number="C1")
    stranger = make_coverage(PatientFactory(organization=practice, address_line1="1 A St", city="X", state="IL",
                                            postal_code="62701"), payer, member_id="NOBODY")
    unknown = make_claim(stranger, number="C2", doctor=known.rendering_provider, location=known.encounter.location)
    [batch] = claim_batch_build(organization=practice, claims=[known, unknown], actor=biller)
    batch = claim_batch_send(batch=batch, actor=biller)
    assert batch.status == BatchStatus.ACCEPTED and batch.sent_at
    known.refresh_from_db()
    unknown.refresh_from_db()
    assert known.status == ClaimStatus.ACCEPTED and known.payer_claim_number.startswith("LCH")
    assert unknown.status == ClaimStatus.REJECTED
    event = ClaimEvent.objects.get(claim=unknown, kind=ClaimEventKind.ACK)
    assert "A3:21" in event.text
    assert set(X12Exchange.objects.filter(batch=batch).values_list("transaction", flat=True)) == {"999", "277CA"}
    with pytest.raises(ValidationError, match="already sent"):
        claim_batch_send(batch=batch, actor=biller)


def test_a_refused_file_leaves_the_batch_built(practice, coverage, biller):
    [batch] = claim_batch_build(organization=practice, claims=[make_claim(coverage)], actor=biller)
    batch.content = batch.content.replace("SE*", "SE*9", 1)
    batch.save()
    with pytest.raises(ValidationError, match="refused the file"):
        claim_batch_send(batch=batch, actor=biller)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.BUILT
