"""Claims: building them from posted encounters (money moved to the payer's items), the scrubber's edits, the
lifecycle, corrections, secondary claims, appeals and practice isolation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.core.audit import AuditEvent
from clinicdesk.insurance.choices import ClaimFrequency, ClaimStatus, PayerRuleKind
from clinicdesk.insurance.models import (
    Claim,
    ClaimEvent,
    PayerRule,
    PriorAuthorization,
    Remittance,
    RemittanceAdjustment,
    RemittanceClaim,
    RemittanceLine,
)
from clinicdesk.insurance.selectors.claims import ClaimFilters, claim_queue, primary_payments, ready_to_bill
from clinicdesk.insurance.services.claims import (
    appeal_create,
    claim_assign,
    claim_correct,
    claim_note_add,
    claim_resubmit,
    claim_secondary_build,
    claim_transition,
    claims_build,
    claims_build_ready,
)
from clinicdesk.insurance.services.scrubber import _npi_is_valid, claim_findings, claim_scrub
from clinicdesk.ledger.choices import PartyKind
from clinicdesk.ledger.models import JournalLine
from clinicdesk.ledger.selectors import item_balances

from .claims_world import TODAY, ClaimsWorld

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(org):
    return ClaimsWorld(org)


def _rules(claim, today=TODAY):
    return {f.rule for f in claim_findings(claim, today=today)}


# --- building ------------------------------------------------------------------------------------------------


def test_build_moves_each_charge_to_an_insurance_item_for_the_payer(w):
    # given
    encounter = w.posted(services=(("99213", "", 1), ("36415", "", 1)))
    patient_items = [s.item for s in encounter.services.all()]
    # when
    [claim] = claims_build(actor=w.biller, encounters=[encounter])
    # then
    assert claim.claim_number.startswith("C") and len(claim.claim_number) <= 20
    assert claim.status == ClaimStatus.DRAFT and claim.total_charge == Decimal("128.00")
    assert claim.diagnosis_codes == ["J06.9"] and claim.rendering_provider == w.provider
    lines = list(claim.lines.select_related("item"))
    assert [(ln.procedure_code, ln.charge, ln.diagnosis_pointers) for ln in lines] == [
        ("99213", Decimal("110.00"), "1"), ("36415", Decimal("18.00"), "1")]
    assert all(ln.item.party_kind == PartyKind.INSURANCE and ln.item.party_label == "Acme Health" for ln in lines)
    balances = item_balances(item_ids=[i.pk for i in patient_items] + [ln.item_id for ln in lines])
    assert [balances[i.pk] for i in patient_items] == [Decimal("0.00")] * 2
    assert [balances[ln.item_id] for ln in lines] == [Decimal("110.00"), Decimal("18.00")]
    entry_ids = set(JournalLine.objects.filter(item_id__in=[ln.item_id for ln in lines]).values_list("entry_id", flat=True))
    for entry_id in entry_ids:
        assert sum(JournalLine.objects.filter(entry_id=entry_id).values_list("amount", flat=True)) == 0
    assert AuditEvent.objects.filter(action="claim.built").exists()


def test_build_twice_makes_one_claim_and_skips_uncovered_patients(w):
    covered = w.posted()
    uncovered = w.posted(w.new_patient("Nobody", covered=False))
    assert len(claims_build(actor=w.biller, encounters=[covered, uncovered])) == 1
    assert claims_build(actor=w.biller, encounters=[covered]) == []
    assert Claim.objects.count() == 1


def test_coverage_not_in_force_on_the_service_date_is_not_billed(w):
    patient = w.new_patient("Later", covered=False)
    w.cover(patient, effective_from=date(2026, 12, 1))
    assert claims_build(actor=w.biller, encounters=[w.posted(patient)]) == []


def test_ready_to_bill_lists_posted_unbilled_encounters_and_batch_builds_them(w):
    w.posted()
    w.posted(w.new_patient("Second"))
    w.posted(w.new_patient("Cash", covered=False))
    rows = ready_to_bill(user=w.biller)
    assert len(rows) == 3 and sum(1 for r in rows if r.coverage is None) == 1
    assert len(claims_build_ready(actor=w.biller)) == 2
    assert [r.coverage for r in ready_to_bill(user=w.biller)] == [None]


def test_claims_of_another_practice_are_not_built_or_moved(w, other_org):
    other = ClaimsWorld(other_org)
    encounter = other.posted()
    assert claims_build(actor=w.biller, encounters=[encounter]) == []
    [claim] = claims_build(actor=other.biller, encounters=[encounter])
    with pytest.raises(ValidationError):
        claim_transition(claim=claim, to_status=ClaimStatus.CLOSED, actor=w.biller)
    with pytest.raises(ValidationError):
        claim_scrub(claim=claim, actor=w.biller)
    assert claim_queue(user=w.biller) == []


# --- the scrubber ----------------------------------------------------------------------------------------------


def test_a_clean_claim_scrubs_to_scrubbed(w):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted()])
    claim = claim_scrub(claim=claim, actor=w.biller, today=TODAY)
    assert claim.status == ClaimStatus.SCRUBBED and claim.findings.count() == 0
    assert ClaimEvent.objects.filter(claim=claim, kind="scrub").exists()


def test_npi_check_digit():
    assert _npi_is_valid("1234567893")
    assert not _npi_is_valid("1234567890")
    assert not _npi_is_valid("12345")


@pytest.mark.parametrize("breaks, rule", [
    (lambda w, c: w.org.__class__.objects.filter(pk=w.org.pk).update(npi=""), "billing_npi"),
    (lambda w, c: w.org.__class__.objects.filter(pk=w.org.pk).update(npi="1234567890"), "npi_check_digit"),
    (lambda w, c: w.org.__class__.objects.filter(pk=w.org.pk).update(tax_id=""), "billing_tax_id"),
    (lambda w, c: w.provider.__class__.objects.filter(pk=w.provider.pk).update(npi=""), "rendering_npi"),
    (lambda w, c: c.patient.__class__.objects.filter(pk=c.patient_id).update(city=""), "patient_address"),
    (lambda w, c: c.coverage.__class__.objects.filter(pk=c.coverage_id).update(member_id=""), "member_id"),
    (lambda w, c: c.coverage.__class__.objects.filter(pk=c.coverage_id).update(subscriber_last_name=""), "subscriber"),
    (lambda w, c: c.payer.__class__.objects.filter(pk=c.payer_id).update(payer_identifier=""), "payer_id"),
    (lambda w, c: Claim.objects.filter(pk=c.pk).update(diagnosis_codes=["M54.5"]), "dx_not_billable"),
    (lambda w, c: c.lines.update(diagnosis_pointers="1,2"), "dx_pointer"),
    (lambda w, c: c.lines.update(diagnosis_pointers="1,1,1,1,1"), "dx_pointer"),
    (lambda w, c: c.lines.update(modifiers="2X5"), "modifier"),
    (lambda w, c: Claim.objects.filter(pk=c.pk).update(place_of_service="99"), "place_of_service"),
    (lambda w, c: c.payer.__class__.objects.filter(pk=c.payer_id).update(timely_filing_days=10), "timely_filing"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_each_edit_fails_a_broken_claim_and_passes_the_clean_one(w, breaks, rule):
    # given: a clean claim
    [claim] = claims_build(actor=w.biller, encounters=[w.posted()])
    assert rule not in _rules(Claim.objects.get(pk=claim.pk))
    # when
    breaks(w, claim)
    # then
    claim = claim_scrub(claim=Claim.objects.get(pk=claim.pk), actor=w.biller, today=TODAY)
    finding = claim.findings.get(rule=rule) if claim.findings.filter(rule=rule).count() == 1 else claim.findings.filter(rule=rule).first()
    assert finding is not None and finding.severity == "error" and finding.message
    assert claim.status == ClaimStatus.DRAFT and claim.scrub_errors >= 1


def test_future_service_date_is_refused(w):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted()])
    assert "date_future" in _rules(claim, today=date(2026, 11, 1))
    assert "date_future" not in _rules(claim, today=TODAY)


def test_duplicate_service_on_another_open_claim(w):
    [first] = claims_build(actor=w.biller, encounters=[w.posted()])
    [second] = claims_build(actor=w.biller, encounters=[w.posted()])
    assert "duplicate" in _rules(second)
    claim_transition(claim=first, to_status=ClaimStatus.CLOSED, actor=w.biller)
    assert "duplicate" not in _rules(second)


def test_pregnancy_codes_need_a_female_patient_and_perinatal_codes_a_newborn(w):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted(diagnoses=("Z3A.20",))])
    assert "dx_sex" not in _rules(claim)
    claim.patient.__class__.objects.filter(pk=claim.patient_id).update(sex="male")
    assert "dx_sex" in _rules(Claim.objects.get(pk=claim.pk))
    baby = w.new_patient("Baby", date_of_birth=date(2026, 10, 20))
    [newborn] = claims_build(actor=w.biller, encounters=[w.posted(baby, diagnoses=("P59.9",))])
    assert "dx_age" not in _rules(newborn)
    adult = w.new_patient("Adult")
    [old] = claims_build(actor=w.biller, encounters=[w.posted(adult, diagnoses=("P59.9",))])
    assert "dx_age" in _rules(old)


def test_payer_rules(w):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted(services=(("97110", "", 3),))])
    assert not {r for r in _rules(claim) if r.startswith("payer_")}
    PayerRule.objects.create(organization=w.org, payer=w.payer, kind=PayerRuleKind.REQUIRE_MODIFIER, codes="97110",
                             values="GP")
    PayerRule.objects.create(organization=w.org, payer=w.payer, kind=PayerRuleKind.MAX_UNITS, codes="97110", values="2")
    PayerRule.objects.create(organization=w.org, kind=PayerRuleKind.REQUIRE_DIAGNOSIS_PREFIX, codes="97110",
                             values="M")
    PayerRule.objects.create(organization=w.org, payer=w.payer, kind=PayerRuleKind.REQUIRE_AUTH, codes="97110")
    assert {"payer_require_modifier", "payer_max_units", "payer_require_dx", "payer_require_auth"} <= _rules(claim)
    # the fixes
    claim.lines.update(modifiers="GP", units=2)
    Claim.objects.filter(pk=claim.pk).update(diagnosis_codes=["M54.50"])
    PriorAuthorization.objects.create(organization=w.org, patient=w.patient, coverage=claim.coverage, number="A1",
                                      procedure_codes="97110", units_authorized=10, starts_on=date(2026, 10, 1),
                                      ends_on=date(2026, 12, 31))
    assert not {r for r in _rules(Claim.objects.get(pk=claim.pk)) if r.startswith("payer_")}
    PayerRule.objects.create(organization=w.org, payer=w.payer, kind=PayerRuleKind.FORBID_CODE, codes="97110")
    assert "payer_forbid_code" in _rules(claim)


def test_auth_with_no_units_left_fails(w):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted(services=(("97110", "", 3),))])
    PayerRule.objects.create(organization=w.org, payer=w.payer, kind=PayerRuleKind.REQUIRE_AUTH, codes="97110")
    PriorAuthorization.objects.create(organization=w.org, patient=w.patient, coverage=claim.coverage, number="A2",
                                      procedure_codes="97110", units_authorized=4, units_used=2,
                                      starts_on=date(2026, 10, 1), ends_on=date(2026, 12, 31))
    assert "payer_require_auth" in _rules(claim)


# --- lifecycle -------------------------------------------------------------------------------------------------


def test_transitions_allowed_and_refused(w):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted()])
    with pytest.raises(ValidationError) as refused:
        claim_transition(claim=claim, to_status=ClaimStatus.PAID, actor=w.biller)
    assert "draft" in str(refused.value).lower() and "to_status" in refused.value.message_dict
    claim = claim_scrub(claim=claim, actor=w.biller, today=TODAY)
    claim = claim_transition(claim=claim, to_status=ClaimStatus.SUBMITTED, actor=w.biller)
    assert claim.submitted_at is not None
    claim = claim_transition(claim=claim, to_status=ClaimStatus.DENIED, actor=w.biller, note="CO-197 no authorisation")
    assert claim.denial_reason == "CO-197 no authorisation"
    assert list(claim.events.filter(kind="status").values_list("from_status", "to_status"))[-2:] == [
        ("scrubbed", "submitted"), ("submitted", "denied")]
    assert AuditEvent.objects.filter(action="claim.status_changed").count() == 2
    with pytest.raises(ValidationError):
        claim_transition(claim=claim, to_status="nonsense", actor=w.biller)


def test_rejected_claim_goes_back_to_draft_and_is_rescrubbed(w):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted()])
    claim_scrub(claim=claim, actor=w.biller, today=TODAY)
    claim_transition(claim=claim, to_status=ClaimStatus.SUBMITTED, actor=w.biller)
    claim_transition(claim=claim, to_status=ClaimStatus.REJECTED, actor=w.biller, note="Bad member ID")
    claim = claim_resubmit(claim=claim, actor=w.biller)
    assert claim.status in (ClaimStatus.SCRUBBED, ClaimStatus.DRAFT) and claim.scrubbed_at is not None


def test_corrected_and_void_claims_point_at_the_original(w):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted()])
    with pytest.raises(ValidationError):
        claim_correct(claim=claim, actor=w.biller)
    claim_scrub(claim=claim, actor=w.biller, today=TODAY)
    claim_transition(claim=claim, to_status=ClaimStatus.SUBMITTED, actor=w.biller)
    Claim.objects.filter(pk=claim.pk).update(payer_claim_number="ICN123")
    replacement = claim_correct(claim=Claim.objects.get(pk=claim.pk), actor=w.biller, note="Wrong units")
    assert replacement.frequency == ClaimFrequency.REPLACEMENT and replacement.original_claim_id == claim.pk
    assert replacement.payer_claim_number == "ICN123" and replacement.lines.count() == 1
    assert "duplicate" not in _rules(replacement)
    with pytest.raises(ValidationError):
        claim_correct(claim=claim, actor=w.biller, frequency=ClaimFrequency.VOID)
    claim_transition(claim=replacement, to_status=ClaimStatus.CLOSED, actor=w.biller)
    void = claim_correct(claim=claim, actor=w.biller, frequency=ClaimFrequency.VOID)
    assert void.frequency == "8"
    with pytest.raises(ValidationError):
        claim_correct(claim=claim, actor=w.biller, frequency="3")


def test_assign_and_notes_and_queue_filters(w, make_user):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted()])
    claim_assign(claim=claim, assignee=w.biller, actor=w.biller, follow_up_on=date(2026, 12, 1))
    claim_note_add(claim=claim, text="Called the payer", actor=w.biller)
    with pytest.raises(ValidationError):
        claim_note_add(claim=claim, text="  ", actor=w.biller)
    assert [c.pk for c in claim_queue(user=w.biller, filters=ClaimFilters(assigned_to_id=w.biller.pk))] == [claim.pk]
    assert claim_queue(user=w.biller, filters=ClaimFilters(unassigned=True)) == []
    [row] = claim_queue(user=w.biller, filters=ClaimFilters(age="0-30"), today=TODAY)
    assert row.age_days == 18 and row.age_bucket == "0-30"
    assert claim_queue(user=w.biller, filters=ClaimFilters(age="31-60"), today=TODAY) == []
    assert claim_queue(user=w.biller, filters=ClaimFilters(age="90+"), today=date(2027, 3, 1))
    assert claim_queue(user=w.biller, filters=ClaimFilters(status=(ClaimStatus.DENIED,))) == []


# --- secondary claims and appeals -----------------------------------------------------------------------------


def _paid_by_primary(w, claim, paid="80.00", co="20.00", pr="10.00"):
    claim_scrub(claim=claim, actor=w.biller, today=TODAY)
    claim_transition(claim=claim, to_status=ClaimStatus.SUBMITTED, actor=w.biller)
    claim_transition(claim=claim, to_status=ClaimStatus.PAID, actor=w.biller)
    remit = Remittance.objects.create(organization=w.org, payer=w.payer, payer_name="Acme Health", check_number="CHK1",
                                      total_paid=Decimal(paid), sha256="x" * 64)
    rc = RemittanceClaim.objects.create(remittance=remit, claim=claim, claim_number=claim.claim_number, status_code="1",
                                        charge=claim.total_charge, paid=Decimal(paid), patient_responsibility=Decimal(pr))
    line = claim.lines.get()
    rl = RemittanceLine.objects.create(remittance_claim=rc, claim_line=line, procedure_code=line.procedure_code,
                                       charge=line.charge, paid=Decimal(paid))
    RemittanceAdjustment.objects.create(remittance_claim=rc, line=rl, group_code="CO", reason_code="45", amount=Decimal(co))
    RemittanceAdjustment.objects.create(remittance_claim=rc, line=rl, group_code="PR", reason_code="2", amount=Decimal(pr))
    return rc


def test_secondary_claim_carries_the_primary_payment(w):
    from clinicdesk.insurance.models import Payer

    second_payer = Payer.objects.create(organization=w.org, name="Second Mutual", payer_identifier="SEC1")
    w.cover(w.patient, payer=second_payer, rank=2)
    [primary] = claims_build(actor=w.biller, encounters=[w.posted()])
    with pytest.raises(ValidationError):
        claim_secondary_build(primary_claim=primary, actor=w.biller)
    _paid_by_primary(w, primary)
    secondary = claim_secondary_build(primary_claim=primary, actor=w.biller)
    assert secondary.rank == 2 and secondary.payer == second_payer and secondary.primary_claim == primary
    assert secondary.lines.count() == 1
    # the primary's item still held 110.00 (nothing posted by the 835 here): it moves to the secondary payer
    item = secondary.lines.get().item
    assert item.party_label == "Second Mutual" and item_balances(item_ids=[item.pk])[item.pk] == Decimal("110.00")
    carried = primary_payments(secondary)
    assert carried["paid"] == Decimal("80.00")
    assert sorted(a[:2] for a in next(iter(carried["lines"].values()))["adjustments"]) == [("CO", "45"), ("PR", "2")]
    with pytest.raises(ValidationError):
        claim_secondary_build(primary_claim=primary, actor=w.biller)


def test_appeal_of_a_denied_claim(w):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted()])
    with pytest.raises(ValidationError):
        appeal_create(claim=claim, reason="Please pay", actor=w.biller)
    claim_scrub(claim=claim, actor=w.biller, today=TODAY)
    claim_transition(claim=claim, to_status=ClaimStatus.SUBMITTED, actor=w.biller)
    claim_transition(claim=claim, to_status=ClaimStatus.DENIED, actor=w.biller, note="CO-50 not medically necessary")
    with pytest.raises(ValidationError):
        appeal_create(claim=claim, reason=" ", actor=w.biller)
    appeal = appeal_create(claim=claim, reason="The visit was medically necessary.", actor=w.biller)
    assert appeal.status == "draft"
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.APPEALED
