"""Claims: built from posted encounters (the charge's balance moves to an insurance open item for the payer),
moved through their life one allowed step at a time, corrected, voided, resent, assigned, noted and appealed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.models import Encounter, ServiceLine
from clinicdesk.billing.services.payments import responsibility_transfer
from clinicdesk.core.audit import audit_event, audit_event_rows
from clinicdesk.core.money import format_money
from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import OpenItem
from clinicdesk.ledger.selectors import item_balances
from clinicdesk.ledger.services import (
    EntrySpec,
    LineSpec,
    entries_post,
    entry_post,
    open_item_create,
    open_items_create,
)

from ..choices import (
    CLAIM_TRANSITIONS,
    OPEN_CLAIM_STATUSES,
    AppealStatus,
    ClaimEventKind,
    ClaimFrequency,
    ClaimStatus,
    CoverageRank,
)
from ..models import Appeal, Claim, ClaimEvent, ClaimLine, Coverage

SENT_STATUSES = frozenset({ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID,
                           ClaimStatus.DENIED, ClaimStatus.APPEALED})


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def coverage_in_force(*, patient, day: date, rank: int = CoverageRank.PRIMARY) -> Coverage | None:
    """The patient's active coverage of `rank` that is in force on `day`, if any."""
    return (Coverage.objects.select_related("payer").filter(
        patient=patient, rank=rank, is_active=True)
        .filter(Q(effective_from__isnull=True) | Q(effective_from__lte=day))
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day)).first())


def _claim_number(claim: Claim) -> str:
    return f"C{claim.pk:07d}"


def _move_to_payer(*, item: OpenItem, amount: Decimal, payer_name: str, claim_number: str, actor) -> OpenItem:
    """Move `amount` of an item's balance onto a new insurance item named for the payer, as a balanced TRANSFER."""
    reason = f"Billed to {payer_name} on claim {claim_number}"
    if item.party_kind != PartyKind.INSURANCE:
        transfer = responsibility_transfer(item=item, amount=amount, to_party=PartyKind.INSURANCE, actor=actor,
                                           reason=reason, party_label=payer_name)
        return (OpenItem.objects.filter(lines__entry_id=transfer.entry_id, party_kind=PartyKind.INSURANCE)
                .exclude(pk=item.pk).get())
    # From one payer to the next (primary to secondary): both sides are insurance receivables.
    target = open_item_create(organization=item.organization, patient=item.patient, service_date=item.service_date,
                              description=item.description, party_kind=PartyKind.INSURANCE, party_label=payer_name)
    entry_post(organization=item.organization, entry_date=timezone.localdate(), kind=EntryKind.TRANSFER,
               memo=reason[:300], actor=actor, lines=[LineSpec(account=target.account, amount=amount, item=target),
                                                      LineSpec(account=item.account, amount=-amount, item=item)])
    return target


def _event(claim: Claim, kind: str, *, actor, text: str = "", from_status: str = "", to_status: str = "") -> ClaimEvent:
    return ClaimEvent.objects.create(claim=claim, kind=kind, from_status=from_status, to_status=to_status,
                                     text=text, actor=_user(actor))


def _new_claim(*, encounter: Encounter, coverage: Coverage, actor, rank: int, primary_claim=None, original_claim=None,
               frequency: str = ClaimFrequency.ORIGINAL) -> Claim:
    diagnoses = [d.code for d in sorted(encounter.diagnoses.all(), key=lambda d: d.sequence)]
    services = sorted(encounter.services.all(), key=lambda s: s.sequence)
    claim = Claim(
        organization_id=encounter.organization_id, claim_number="T" + uuid.uuid4().hex[:19],
        encounter=encounter, patient=encounter.patient, coverage=coverage, payer=coverage.payer, rank=rank,
        primary_claim=primary_claim, original_claim=original_claim, frequency=frequency,
        place_of_service=encounter.place_of_service, service_from=encounter.service_date,
        service_to=encounter.service_date, diagnosis_codes=diagnoses, rendering_provider_id=encounter.provider_id,
        total_charge=sum((s.amount for s in services), Decimal("0")), created_by=_user(actor),
        payer_claim_number=original_claim.payer_claim_number if original_claim is not None else "",
    )
    claim.full_clean(exclude=["claim_number", "encounter", "patient", "coverage", "payer", "rendering_provider",
                              "organization", "primary_claim", "original_claim"])
    claim.save()
    claim.claim_number = _claim_number(claim)
    claim.save(update_fields=["claim_number"])
    return claim


def _lines(claim: Claim, services, items: dict[int, OpenItem | None]) -> list[ClaimLine]:
    return ClaimLine.objects.bulk_create([ClaimLine(
        claim=claim, sequence=n, service_line=s, item=items.get(s.pk), service_date=claim.service_from,
        procedure_code=s.procedure_code, modifiers=s.modifiers, units=s.units, charge=s.amount,
        diagnosis_pointers=s.diagnosis_pointers) for n, s in enumerate(services, start=1)])


@transaction.atomic
def claims_build(*, actor, encounters: Sequence[Encounter]) -> list[Claim]:
    """A primary claim for each posted encounter whose patient has a primary coverage in force on the service date
    and no open claim for it yet; each service's patient balance moves to an insurance item for the payer.
    Encounters that cannot be billed are passed over (the ready-to-bill list says why)."""
    built: list[Claim] = []
    ids = [e.pk for e in encounters]
    locked = (Encounter.objects.select_for_update(of=("self",)).select_related("patient", "organization")
              .prefetch_related("diagnoses", "services__item").filter(pk__in=ids, organization_id=actor.organization_id))
    for encounter in locked:
        if encounter.status != EncounterStatus.POSTED:
            continue
        if Claim.objects.filter(encounter=encounter, rank=CoverageRank.PRIMARY, status__in=OPEN_CLAIM_STATUSES).exists():
            continue
        coverage = coverage_in_force(patient=encounter.patient, day=encounter.service_date)
        if coverage is None:
            continue
        claim = _new_claim(encounter=encounter, coverage=coverage, actor=actor, rank=CoverageRank.PRIMARY)
        services = sorted(encounter.services.all(), key=lambda s: s.sequence)
        balances = item_balances(item_ids=[s.item_id for s in services if s.item_id])
        items: dict[int, OpenItem | None] = {}
        for s in services:
            balance = balances.get(s.item_id, Decimal("0")) if s.item_id else Decimal("0")
            if balance > 0:
                items[s.pk] = _move_to_payer(item=s.item, amount=balance, payer_name=coverage.payer.name,
                                             claim_number=claim.claim_number, actor=actor)
        _lines(claim, services, items)
        _event(claim, ClaimEventKind.STATUS, actor=actor, to_status=ClaimStatus.DRAFT,
               text=f"Built for {coverage.payer.name}, {format_money(claim.total_charge)}")
        audit_event(action="claim.built", actor=actor, target=claim, patient=encounter.patient,
                    summary=f"Claim {claim.claim_number} to {coverage.payer.name} for "
                            f"{encounter.service_date:%m/%d/%Y}, {format_money(claim.total_charge)}")
        built.append(claim)
    return built


def claims_build_ready(*, actor) -> list[Claim]:
    """Build claims for the whole ready-to-bill list."""
    from ..selectors.claims import ready_to_bill

    return claims_build(actor=actor, encounters=[row.encounter for row in ready_to_bill(user=actor) if row.coverage])


@transaction.atomic
def claim_secondary_build(*, primary_claim: Claim, actor) -> Claim:
    """The secondary claim once the primary is paid: same services, to the secondary coverage in force, carrying
    (through `primary_claim`) what the primary paid and adjusted; what is still owed on each service moves to an
    insurance item for the secondary payer."""
    primary = Claim.objects.select_for_update().select_related("encounter", "patient").get(pk=primary_claim.pk)
    if primary.organization_id != actor.organization_id:
        raise ValidationError({"claim": "The claim belongs to another practice."})
    if primary.rank != CoverageRank.PRIMARY:
        raise ValidationError({"claim": "Only a primary claim has a secondary."})
    if primary.status not in (ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.CLOSED):
        raise ValidationError({"status": f"The primary claim is {primary.get_status_display().lower()}; "
                                         "bill the secondary once the primary has paid."})
    if not primary.remittance_claims.exists():
        raise ValidationError({"claim": "The primary's remittance is not posted yet; the secondary carries its payment."})
    if primary.secondary_claims.filter(status__in=OPEN_CLAIM_STATUSES).exists():
        raise ValidationError({"claim": "A secondary claim is already open for this claim."})
    coverage = coverage_in_force(patient=primary.patient, day=primary.service_from, rank=CoverageRank.SECONDARY)
    if coverage is None:
        raise ValidationError({"coverage": f"{primary.patient} has no secondary coverage in force on "
                                           f"{primary.service_from:%m/%d/%Y}."})
    claim = _new_claim(encounter=primary.encounter, coverage=coverage, actor=actor, rank=CoverageRank.SECONDARY,
                       primary_claim=primary)
    primary_lines = list(primary.lines.select_related("service_line__item", "item"))
    sources = [ln.service_line.item for ln in primary_lines if ln.service_line.item_id] + \
              [ln.item for ln in primary_lines if ln.item_id]
    balances = item_balances(item_ids=[i.pk for i in sources])
    items: dict[int, OpenItem | None] = {}
    for ln in primary_lines:
        # What the primary left is either back with the patient (its share) or still on the primary's item.
        for source in (ln.service_line.item, ln.item):
            if source is not None and balances.get(source.pk, Decimal("0")) > 0 and ln.service_line_id not in items:
                items[ln.service_line_id] = _move_to_payer(item=source, amount=balances[source.pk],
                                                           payer_name=coverage.payer.name,
                                                           claim_number=claim.claim_number, actor=actor)
    _lines(claim, [ln.service_line for ln in primary_lines], items)
    _event(claim, ClaimEventKind.STATUS, actor=actor, to_status=ClaimStatus.DRAFT,
           text=f"Secondary to {coverage.payer.name} after claim {primary.claim_number}")
    audit_event(action="claim.built", actor=actor, target=claim, patient=primary.patient,
                summary=f"Secondary claim {claim.claim_number} to {coverage.payer.name}")
    return claim


@transaction.atomic
def claim_transition(*, claim: Claim, to_status: str, actor, note: str = "") -> Claim:
    """Move a claim one allowed step (choices.CLAIM_TRANSITIONS); anything else is refused, naming its status."""
    claim = Claim.objects.select_for_update().select_related("patient").get(pk=claim.pk)
    if claim.organization_id != actor.organization_id:
        raise ValidationError({"claim": "The claim belongs to another practice."})
    if to_status not in ClaimStatus.values:
        raise ValidationError({"to_status": f"'{to_status}' is not a claim status."})
    current = claim.status
    if to_status not in CLAIM_TRANSITIONS[current]:
        raise ValidationError({"to_status": f"A claim that is {claim.get_status_display().lower()} cannot become "
                                            f"{ClaimStatus(to_status).label.lower()}."})
    if to_status == ClaimStatus.SCRUBBED and claim.findings.filter(severity="error").exists():
        raise ValidationError({"to_status": "The claim has scrubber errors; fix them and scrub again."})
    claim.status = to_status
    fields = ["status", "updated_at"]
    if to_status == ClaimStatus.SUBMITTED:
        claim.submitted_at = timezone.now()
        fields.append("submitted_at")
    if to_status in (ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED):
        claim.adjudicated_on = timezone.localdate()
        fields.append("adjudicated_on")
    if to_status == ClaimStatus.DENIED and note:
        claim.denial_reason = note[:200]
        fields.append("denial_reason")
    claim.save(update_fields=fields)
    _event(claim, ClaimEventKind.STATUS, actor=actor, from_status=current, to_status=to_status, text=note)
    audit_event(action="claim.status_changed", actor=actor, target=claim, patient=claim.patient,
                summary=f"Claim {claim.claim_number}: {ClaimStatus(current).label} → {ClaimStatus(to_status).label}"
                        + (f" ({note[:80]})" if note else ""))
    return claim


@transaction.atomic
def claim_printed(*, claim: Claim, actor) -> Claim:
    """A paper claim's CMS-1500 was printed for mailing: it counts as submitted."""
    claim = claim_transition(claim=claim, to_status=ClaimStatus.SUBMITTED, actor=actor, note="CMS-1500 printed")
    claim.printed_at = timezone.now()
    claim.save(update_fields=["printed_at"])
    return claim


@transaction.atomic
def claim_correct(*, claim: Claim, actor, frequency: str = ClaimFrequency.REPLACEMENT, note: str = "") -> Claim:
    """A corrected claim (frequency 7, replacing) or a void (8) of a claim the payer has: a new draft pointing at
    the original, with the payer's claim number the payer needs to find it."""
    original = Claim.objects.select_for_update().get(pk=claim.pk)
    if original.organization_id != actor.organization_id:
        raise ValidationError({"claim": "The claim belongs to another practice."})
    if frequency not in (ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID):
        raise ValidationError({"frequency": "Choose replacement (7) or void (8)."})
    if original.status not in SENT_STATUSES:
        raise ValidationError({"status": f"A claim that is {original.get_status_display().lower()} has not reached the "
                                         "payer; fix it and send it instead of correcting it."})
    if original.corrections.filter(status__in=(ClaimStatus.DRAFT, ClaimStatus.SCRUBBED)).exists():
        raise ValidationError({"claim": "A correction of this claim is already being prepared."})
    encounter = Encounter.objects.prefetch_related("diagnoses", "services").get(pk=original.encounter_id)
    new = _new_claim(encounter=encounter, coverage=original.coverage, actor=actor, rank=original.rank,
                     primary_claim=original.primary_claim, original_claim=original, frequency=frequency)
    old_lines = {ln.service_line_id: ln.item for ln in original.lines.select_related("item")}
    _lines(new, sorted(encounter.services.all(), key=lambda s: s.sequence), old_lines)
    kind = "Void" if frequency == ClaimFrequency.VOID else "Corrected claim"
    _event(new, ClaimEventKind.STATUS, actor=actor, to_status=ClaimStatus.DRAFT,
           text=f"{kind} of {original.claim_number}" + (f": {note}" if note else ""))
    _event(original, ClaimEventKind.NOTE, actor=actor, text=f"{kind} {new.claim_number} started" + (f": {note}" if note else ""))
    audit_event(action="claim.corrected", actor=actor, target=new, patient=original.patient,
                summary=f"{kind} {new.claim_number} of {original.claim_number}")
    return new


@transaction.atomic
def claim_resubmit(*, claim: Claim, actor) -> Claim:
    """A rejected claim goes back to draft and is scrubbed again, ready to be fixed and resent."""
    from .scrubber import claim_scrub

    claim = claim_transition(claim=claim, to_status=ClaimStatus.DRAFT, actor=actor, note="Back to draft to resend")
    return claim_scrub(claim=claim, actor=actor)


@transaction.atomic
def claim_assign(*, claim: Claim, assignee, actor, follow_up_on: date | None = None) -> Claim:
    """Give a claim to a biller to work, with a follow-up date."""
    if claim.organization_id != actor.organization_id:
        raise ValidationError({"claim": "The claim belongs to another practice."})
    if assignee is not None and assignee.organization_id != claim.organization_id:
        raise ValidationError({"assigned_to": "That user works for another practice."})
    claim.assigned_to = assignee
    claim.follow_up_on = follow_up_on
    claim.save(update_fields=["assigned_to", "follow_up_on", "updated_at"])
    text = f"Assigned to {assignee}" if assignee else "Unassigned"
    if follow_up_on:
        text += f", follow up on {follow_up_on:%m/%d/%Y}"
    _event(claim, ClaimEventKind.ASSIGNED, actor=actor, text=text)
    audit_event(action="claim.assigned", actor=actor, target=claim, patient=claim.patient,
                summary=f"Claim {claim.claim_number}: {text}")
    return claim


@transaction.atomic
def claim_note_add(*, claim: Claim, text: str, actor, follow_up_on: date | None = None) -> ClaimEvent:
    """A note on a claim's history (a call to the payer, what they said), optionally with a new follow-up date."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the note."})
    if claim.organization_id != actor.organization_id:
        raise ValidationError({"claim": "The claim belongs to another practice."})
    if follow_up_on is not None:
        claim.follow_up_on = follow_up_on
        claim.save(update_fields=["follow_up_on", "updated_at"])
    event = _event(claim, ClaimEventKind.NOTE, actor=actor, text=text[:2000])
    audit_event(action="claim.noted", actor=actor, target=claim, patient=claim.patient,
                summary=f"Note on claim {claim.claim_number}")
    return event


# --- appeals -------------------------------------------------------------------------------------------------

APPEAL_TEMPLATE_CODE = "claim_appeal"


def appeal_letter_body(*, claim: Claim, reason: str) -> str:
    """The claim's facts for the appeal letter, as simple HTML (escaped), appended to the template's wording."""
    from django.utils.html import escape

    lines = "".join(
        f"<li>{escape(ln.procedure_code)}{(' ' + escape(ln.modifiers)) if ln.modifiers else ''}, "
        f"{ln.service_date:%m/%d/%Y}, {escape(format_money(ln.charge))}</li>" for ln in claim.lines.all())
    return (f"<p><strong>Payer:</strong> {escape(claim.payer.name)}<br><strong>Claim number:</strong> "
            f"{escape(claim.claim_number)}{' (payer ' + escape(claim.payer_claim_number) + ')' if claim.payer_claim_number else ''}"
            f"<br><strong>Member ID:</strong> {escape(claim.coverage.member_id)}<br><strong>Dates of service:</strong> "
            f"{claim.service_from:%m/%d/%Y}{' to ' + format(claim.service_to, '%m/%d/%Y') if claim.service_to != claim.service_from else ''}"
            f"<br><strong>Billed:</strong> {escape(format_money(claim.total_charge))}; <strong>paid:</strong> "
            f"{escape(format_money(claim.paid_amount))}<br><strong>Denial reason:</strong> "
            f"{escape(claim.denial_reason or 'not stated')}</p><ul>{lines}</ul><p>{escape(reason)}</p>")


@transaction.atomic
def appeal_create(*, claim: Claim, reason: str, actor) -> Appeal:
    """Appeal a denied (or underpaid) claim: the appeal with its letter drafted from the practice's appeal template
    (when it has one) and the claim's facts; the claim moves to appealed."""
    from clinicdesk.communications.models import MessageTemplate
    from clinicdesk.communications.services.letters import letter_start, letter_update

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the claim should be paid."})
    if claim.organization_id != actor.organization_id:
        raise ValidationError({"claim": "The claim belongs to another practice."})
    claim = Claim.objects.select_for_update(of=("self",)).select_related("patient", "payer", "coverage").get(pk=claim.pk)
    if claim.status not in (ClaimStatus.DENIED, ClaimStatus.PARTIALLY_PAID, ClaimStatus.PAID):
        raise ValidationError({"status": f"A claim that is {claim.get_status_display().lower()} cannot be appealed."})
    letter = None
    template = MessageTemplate.objects.filter(organization_id=claim.organization_id, code=APPEAL_TEMPLATE_CODE,
                                              is_active=True).first()
    if template is not None and actor.has_perm_code("letters.write"):
        letter = letter_start(actor=actor, patient=claim.patient, template=template, signer=claim.rendering_provider)
        letter = letter_update(actor=actor, letter=letter, subject=f"Appeal of claim {claim.claim_number}",
                               body_html=letter.body_html + appeal_letter_body(claim=claim, reason=reason))
    appeal = Appeal(organization_id=claim.organization_id, claim=claim, reason=reason, letter=letter,
                    created_by=_user(actor))
    appeal.full_clean(exclude=["claim", "letter", "organization"])
    appeal.save()
    claim_transition(claim=claim, to_status=ClaimStatus.APPEALED, actor=actor, note=f"Appealed: {reason[:150]}")
    return appeal


@transaction.atomic
def appeal_decide(*, appeal: Appeal, status: str, actor, on: date | None = None, note: str = "") -> Appeal:
    """Record that the appeal was sent, won or lost (a lost appeal puts the claim back to denied); `note` (the
    payer's words, a reference) goes on the claim's history."""
    if appeal.organization_id != actor.organization_id:
        raise ValidationError({"appeal": "The appeal belongs to another practice."})
    allowed = {AppealStatus.DRAFT: {AppealStatus.SENT}, AppealStatus.SENT: {AppealStatus.WON, AppealStatus.LOST}}
    if status not in allowed.get(appeal.status, set()):
        raise ValidationError({"status": f"An appeal that is {appeal.get_status_display().lower()} cannot become "
                                         f"{status}."})
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationError({"on": "The date is in the future; record it on the day it happens."})
    if status != AppealStatus.SENT and appeal.sent_on and on < appeal.sent_on:
        raise ValidationError({"on": f"The appeal was sent on {appeal.sent_on:%m/%d/%Y}; the payer's answer cannot "
                                     "come before that."})
    note = (note or "").strip()
    appeal.status = status
    if status == AppealStatus.SENT:
        appeal.sent_on = on
    else:
        appeal.decided_on = on
    appeal.save(update_fields=["status", "sent_on", "decided_on", "updated_at"])
    claim = appeal.claim
    if status == AppealStatus.LOST and claim.status == ClaimStatus.APPEALED:
        claim_transition(claim=claim, to_status=ClaimStatus.DENIED, actor=actor, note="Appeal lost")
    text = f"Appeal {appeal.get_status_display().lower()} on {on:%m/%d/%Y}" + (f": {note}" if note else "")
    _event(claim, ClaimEventKind.NOTE, actor=actor, text=text)
    audit_event(action="appeal.decided", actor=actor, target=appeal, patient=claim.patient,
                summary=f"Appeal of claim {claim.claim_number}: {appeal.get_status_display()}")
    return appeal


# --- claims adjudicated before the practice used clinicdesk (the FHIR import) ------------------------------


@dataclass(frozen=True)
class AdjudicatedLine:
    """What the payer decided on one service line: allowed, paid, and the patient's share."""

    service_line: ServiceLine
    allowed: Decimal
    paid: Decimal
    patient_responsibility: Decimal


@dataclass(frozen=True)
class AdjudicatedClaim:
    """A claim another system sent and the payer answered (an ExplanationOfBenefit)."""

    encounter: Encounter
    coverage: Coverage
    payer_claim_number: str
    adjudicated_on: date
    lines: Sequence[AdjudicatedLine]


@transaction.atomic
def claims_record_adjudicated(*, claims: Sequence[AdjudicatedClaim], actor) -> list[Claim]:
    """Record claims that were billed and paid before the practice's history came here, in one batch.

    Each becomes a paid claim (so the encounter is never billed again) with its lines. The money is what the remittance
    posting does for a paid claim, dated the day it was adjudicated: the payer's share of each service moves from the
    patient's item to an insurance item for the payer (a transfer), the payer's payment settles that item (into the
    operating bank), and what the payer did not allow is a contractual adjustment; the patient's share stays theirs."""
    errors: list[str] = []
    for n, claim in enumerate(claims, start=1):
        where = f"Claim {n} ({claim.payer_claim_number})"
        if claim.coverage.patient_id != claim.encounter.patient_id:
            errors.append(f"{where}: the coverage is not the patient's.")
        for line in claim.lines:
            charge = line.service_line.amount
            if line.service_line.encounter_id != claim.encounter.pk:
                errors.append(f"{where}: service {line.service_line.sequence} is not on the claim's encounter.")
            if min(line.allowed, line.paid, line.patient_responsibility) < 0 or line.allowed > charge \
                    or line.paid + line.patient_responsibility != line.allowed:
                errors.append(f"{where}, service {line.service_line.sequence}: paid {line.paid} and patient share "
                              f"{line.patient_responsibility} must add up to the allowed {line.allowed}, "
                              f"at most the charge {charge}.")
    if errors:
        raise ValidationError({"claims": errors})
    if not claims:
        return []
    organization = claims[0].encounter.organization
    user = _user(actor)
    built = []
    for claim in claims:
        encounter = claim.encounter
        paid = sum((ln.paid for ln in claim.lines), Decimal("0"))
        responsibility = sum((ln.patient_responsibility for ln in claim.lines), Decimal("0"))
        built.append(Claim(
            organization_id=encounter.organization_id, claim_number="T" + uuid.uuid4().hex[:19], encounter=encounter,
            patient_id=encounter.patient_id, coverage=claim.coverage, payer_id=claim.coverage.payer_id,
            rank=CoverageRank.PRIMARY, status=ClaimStatus.PAID, place_of_service=encounter.place_of_service,
            service_from=encounter.service_date, service_to=encounter.service_date, diagnosis_codes=[],
            rendering_provider_id=encounter.provider_id,
            total_charge=sum((ln.service_line.amount for ln in claim.lines), Decimal("0")),
            allowed_amount=paid + responsibility, paid_amount=paid, patient_responsibility=responsibility,
            payer_claim_number=claim.payer_claim_number[:50], adjudicated_on=claim.adjudicated_on, created_by=user,
        ))
    Claim.objects.bulk_create(built)
    for row in built:
        row.claim_number = _claim_number(row)
    Claim.objects.bulk_update(built, ["claim_number"])
    insurance_items: list[OpenItem] = []
    claim_lines: list[ClaimLine] = []
    for row, claim in zip(built, claims, strict=True):
        for n, line in enumerate(claim.lines, start=1):
            service = line.service_line
            item = None
            if line.paid > 0:
                item = OpenItem(patient_id=row.patient_id, party_kind=PartyKind.INSURANCE,
                                party_label=claim.coverage.payer.name[:120], service_date=row.service_from,
                                description=service.item.description if service.item_id else str(service))
                insurance_items.append(item)
            claim_lines.append(ClaimLine(
                claim=row, sequence=n, service_line=service, item=item, service_date=row.service_from,
                procedure_code=service.procedure_code, modifiers=service.modifiers, units=service.units,
                charge=service.amount, diagnosis_pointers=service.diagnosis_pointers, allowed_amount=line.allowed,
                paid_amount=line.paid, patient_responsibility=line.patient_responsibility))
    open_items_create(organization=organization, items=insurance_items)
    for cl in claim_lines:
        cl.item_id = cl.item.pk if cl.item is not None else None
    ClaimLine.objects.bulk_create(claim_lines)
    specs = []
    lines_of = {}
    for cl in claim_lines:
        lines_of.setdefault(cl.claim_id, []).append(cl)
    for row, claim in zip(built, claims, strict=True):
        memo = f"Claim {row.claim_number} ({row.payer_claim_number}) adjudicated by {claim.coverage.payer.name}"
        moves, payment = [], []
        for cl, line in zip(lines_of.get(row.pk, []), claim.lines, strict=True):
            patient_item = line.service_line.item
            if cl.item is not None:
                moves += [LineSpec(account=cl.item.account, amount=line.paid, item=cl.item, memo=memo[:200]),
                          LineSpec(account=patient_item.account, amount=-line.paid, item=patient_item, memo=memo[:200])]
                payment += [LineSpec(account=AccountRole.OPERATING_BANK, amount=line.paid, patient=row.patient_id,
                                     memo=memo[:200]),
                            LineSpec(account=cl.item.account, amount=-line.paid, item=cl.item, memo=memo[:200])]
            written_off = cl.charge - line.allowed
            if written_off and patient_item is not None:
                payment += [LineSpec(account=AccountRole.CONTRACTUAL_ADJUSTMENT, amount=written_off,
                                     patient=row.patient_id, memo=f"{memo}: not allowed"[:200]),
                            LineSpec(account=patient_item.account, amount=-written_off, item=patient_item,
                                     memo=f"{memo}: not allowed"[:200])]
        if moves:
            specs.append(EntrySpec(entry_date=claim.adjudicated_on, kind=EntryKind.TRANSFER, lines=moves,
                                   memo=f"Billed to {claim.coverage.payer.name} on claim {row.claim_number}"[:300],
                                   reference=f"claim-transfer:{row.pk}"))
        if payment:
            specs.append(EntrySpec(entry_date=claim.adjudicated_on, kind=EntryKind.PAYMENT, lines=payment,
                                   memo=memo[:300], reference=f"claim-payment:{row.pk}"))
    entries_post(organization=organization, entries=specs, actor=actor)
    ClaimEvent.objects.bulk_create([
        ClaimEvent(claim=row, kind=ClaimEventKind.STATUS, to_status=ClaimStatus.PAID, actor=user,
                   text=f"Imported: adjudicated by {claim.coverage.payer.name} on {claim.adjudicated_on:%m/%d/%Y}, "
                        f"paid {format_money(row.paid_amount)}")
        for row, claim in zip(built, claims, strict=True)])
    audit_event_rows([
        {"action": "claim.imported", "actor": actor, "target": row, "patient": row.patient,
         "summary": f"Claim {row.claim_number} for {row.service_from:%m/%d/%Y} imported as paid "
                    f"{format_money(row.paid_amount)} by {claim.coverage.payer.name}"}
        for row, claim in zip(built, claims, strict=True)])
    return built
