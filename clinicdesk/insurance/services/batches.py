"""Claim batches: scrubbed electronic claims written into 837P files (one batch per clearinghouse), sent, and the
answers read: the 999 sets the batch's status, the 277CA each claim's (accepted with the payer's claim number, or
rejected with the STC reason as a ClaimEvent)."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_event_rows
from clinicdesk.core.batch_sql import rows_insert
from clinicdesk.core.permissions import Perm, role_has
from clinicdesk.insurance.choices import (
    CLAIM_TRANSITIONS,
    BatchStatus,
    ClaimEventKind,
    ClaimStatus,
    ClearinghouseKind,
    SubscriberRelationship,
    TransactionKind,
)
from clinicdesk.insurance.clearinghouse.adapter import ClearinghouseError, clearinghouse_adapter
from clinicdesk.insurance.models import (
    Claim,
    ClaimBatch,
    ClaimEvent,
    RemittanceAdjustment,
    RemittanceClaim,
    RemittanceLine,
)
from clinicdesk.insurance.x12 import x837p
from clinicdesk.insurance.x12.codes import ACK_CODES, ACK_REJECTED, CLAIM_STATUS_CATEGORIES, describe
from clinicdesk.insurance.x12.records import Address, Adjustment
from clinicdesk.insurance.x12.segments import Envelope, X12Error
from clinicdesk.insurance.x12.x277ca import read_277ca
from clinicdesk.insurance.x12.x837p import claim_ids_by_transaction
from clinicdesk.insurance.x12.x999 import read_999

from .x12files import control_numbers_take, x12_exchange_keep

SEX = {"female": "F", "male": "M", "F": "F", "M": "M"}
RESPONSIBILITY = {1: "P", 2: "S", 3: "T"}


def _allowed(actor, organization) -> None:
    if actor.organization_id != organization.pk or not role_has(actor.role, Perm.CLAIMS_SUBMIT):
        raise PermissionDenied("You may not submit claims.")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def _claim_status_set(claim: Claim, to_status: str, *, actor, text: str = "", kind: str = ClaimEventKind.STATUS) -> None:
    """Move a claim one allowed step as a file or an acknowledgement says, with its ClaimEvent and audit row (the
    caller saves the claim with its other fields; `claim_transition` is the same rule for people's actions)."""
    if to_status not in CLAIM_TRANSITIONS[claim.status]:
        raise ValidationError({"claims": f"Claim {claim.claim_number} is {claim.get_status_display().lower()} and "
                                         f"cannot become {ClaimStatus(to_status).label.lower()}."})
    ClaimEvent.objects.create(claim=claim, kind=kind, from_status=claim.status, to_status=to_status, text=text,
                              actor=actor)
    audit_event(action="claim.status_changed", actor=actor, target=claim, patient=claim.patient,
                summary=f"Claim {claim.claim_number}: {ClaimStatus(claim.status).label} → {ClaimStatus(to_status).label}"
                        + (f" ({text[:80]})" if text else ""))
    claim.status = to_status


# ------------------------------------------------------------------------------------------------- building


def _address(line1: str, city: str, state: str, postal: str, line2: str = "") -> Address:
    return Address(line1=line1, line2=line2, city=city, state=state[:2].upper(), postal_code=_digits(postal))


def _subscriber(coverage, rank: int) -> x837p.Subscriber:
    patient = coverage.patient
    is_self = coverage.relationship == SubscriberRelationship.SELF
    if coverage.subscriber_address_line1:
        address = _address(coverage.subscriber_address_line1, coverage.subscriber_city, coverage.subscriber_state,
                           coverage.subscriber_postal_code)
    elif is_self and patient.address_line1:
        address = _address(patient.address_line1, patient.city, patient.state, patient.postal_code,
                           patient.address_line2)
    else:
        address = None
    birth = coverage.subscriber_date_of_birth or (patient.date_of_birth if is_self else None)
    plan = coverage.plan
    return x837p.Subscriber(
        member_id=coverage.member_id, last_name=coverage.subscriber_last_name,
        first_name=coverage.subscriber_first_name, birth_date=birth,
        sex=SEX.get(coverage.subscriber_sex, "U"), address=address, group_number=coverage.group_number,
        group_name=coverage.group_name, responsibility=RESPONSIBILITY.get(rank, "P"),
        filing_code=plan.filing_indicator if plan else coverage.payer.claim_filing_indicator,
    )


def _other_payers(claim: Claim) -> tuple[tuple[x837p.OtherPayer, ...], dict[int, list[x837p.LineAdjudication]]]:
    """For a secondary claim, the primary payer and what it paid (from the primary's remittance rows)."""
    primary = claim.primary_claim
    if primary is None:
        return (), {}
    rows = list(primary.remittance_claims.all())  # prefetched with their adjustments and lines by the batch
    paid = sum((row.paid for row in rows), Decimal("0")) if rows else None
    claim_adjustments = tuple(Adjustment(a.group_code, a.reason_code, a.amount, a.quantity)
                              for row in rows for a in row.adjustments.all() if a.line_id is None)
    by_line: dict[int, list[x837p.LineAdjudication]] = {}
    for row in rows:
        for line in row.lines.all():
            if line.claim_line_id is None:
                continue
            by_line.setdefault(line.claim_line_id, []).append(x837p.LineAdjudication(
                payer_id=primary.payer.payer_identifier, paid=line.paid, procedure_code=line.procedure_code,
                units=line.units, adjudicated_on=line.service_date or primary.adjudicated_on or claim.service_from,
                modifiers=tuple(m for m in line.modifiers.split(",") if m),
                adjustments=tuple(Adjustment(a.group_code, a.reason_code, a.amount, a.quantity)
                                  for a in line.adjustments.all()),
            ))
    other = x837p.OtherPayer(
        payer=x837p.Payer(primary.payer.payer_identifier, primary.payer.name),
        subscriber=_subscriber(primary.coverage, 1), paid=paid, adjustments=claim_adjustments,
        relationship=primary.coverage.relationship,
    )
    # the primary's lines adjudicated map onto this claim's lines by their billed service
    primary_lines = {line.service_line_id: line.pk for line in primary.lines.all()}
    return (other,), {service: by_line.get(line, []) for service, line in primary_lines.items()}


def _x837_claim(claim: Claim, organization) -> x837p.Claim:
    location = claim.encounter.location
    provider = x837p.BillingProvider(
        npi=organization.npi, name=organization.name, tax_id=_digits(organization.tax_id),
        address=_address(location.address_line1, location.city, location.state, location.postal_code,
                         location.address_line2))
    coverage = claim.coverage
    patient = None
    if coverage.relationship != SubscriberRelationship.SELF:
        person = claim.patient
        patient = x837p.Patient(
            last_name=person.last_name, first_name=person.first_name, birth_date=person.date_of_birth,
            sex=SEX.get(person.sex, "U"), relationship=coverage.relationship, middle_name=person.middle_name,
            address=_address(person.address_line1, person.city, person.state, person.postal_code,
                             person.address_line2))
    others, adjudicated = _other_payers(claim)
    doctor = claim.rendering_provider
    rendering = (x837p.RenderingProvider(doctor.npi, doctor.last_name, doctor.first_name, doctor.taxonomy_code)
                 if doctor.npi else None)
    lines = tuple(x837p.ServiceLine(
        procedure_code=line.procedure_code, charge=line.charge, service_date=line.service_date,
        units=Decimal(line.units), modifiers=tuple(line.modifier_list), diagnosis_pointers=tuple(line.pointer_list),
        line_control_number=str(line.pk), adjudications=tuple(adjudicated.get(line.service_line_id, ())),
    ) for line in claim.lines.all())
    original = claim.original_claim.payer_claim_number if claim.original_claim_id else ""
    return x837p.Claim(
        claim_id=claim.claim_number, billing_provider=provider, subscriber=_subscriber(coverage, claim.rank),
        payer=x837p.Payer(claim.payer.payer_identifier, claim.payer.name), diagnosis_codes=tuple(claim.diagnosis_codes),
        lines=lines, patient=patient, place_of_service=claim.place_of_service, frequency=claim.frequency,
        original_claim_reference=original,
        prior_authorization=claim.prior_authorization.number if claim.prior_authorization_id else "",
        rendering_provider=rendering, other_payers=others,
    )


def _problems(claim: Claim, organization) -> list[str]:
    where = f"Claim {claim.claim_number}"
    problems = []
    if claim.organization_id != organization.pk:
        return [f"{where} is another practice's."]
    if claim.status != ClaimStatus.SCRUBBED:
        problems.append(f"{where} is {claim.get_status_display().lower()}, not scrubbed.")
    clearinghouse = claim.payer.clearinghouse
    if clearinghouse is None or clearinghouse.kind == ClearinghouseKind.PAPER or not clearinghouse.is_active:
        problems.append(f"{where}: {claim.payer.name} takes paper claims (no active clearinghouse).")
    location = claim.encounter.location
    if len(_digits(location.postal_code)) != 9:
        problems.append(f"{where}: the location {location.name} needs its 9-digit ZIP+4 postal code for an 837P.")
    return problems


def _claims_submitted(claims: list[Claim], *, batch: ClaimBatch, actor, now) -> None:
    """The batch's claims move from scrubbed to submitted together: one update, one insert of their ClaimEvents and
    one of their audit rows, whatever the number of claims (each was checked scrubbed under the row lock)."""
    text = f"In batch {batch.file_name}."
    label = f"{ClaimStatus(ClaimStatus.SCRUBBED).label} → {ClaimStatus(ClaimStatus.SUBMITTED).label} ({text})"
    rows_insert(ClaimEvent, [
        ClaimEvent(claim=claim, kind=ClaimEventKind.STATUS, from_status=claim.status, to_status=ClaimStatus.SUBMITTED,
                   text=text, actor=actor) for claim in claims])
    audit_event_rows([{"action": "claim.status_changed", "actor": actor, "target": claim, "patient": claim.patient,
                       "summary": f"Claim {claim.claim_number}: {label}"} for claim in claims])
    Claim.objects.filter(pk__in=[claim.pk for claim in claims]).update(
        status=ClaimStatus.SUBMITTED, batch=batch, submitted_at=now, updated_at=now)
    for claim in claims:
        claim.status, claim.batch, claim.submitted_at, claim.updated_at = ClaimStatus.SUBMITTED, batch, now, now


def claim_batch_build(*, organization, claims, actor) -> list[ClaimBatch]:
    """Write scrubbed electronic claims into 837P files, one ClaimBatch per clearinghouse; the claims are submitted."""
    _allowed(actor, organization)
    ids = [claim.pk for claim in claims]
    if not ids:
        raise ValidationError({"claims": "Choose at least one claim."})
    if not organization.npi or len(_digits(organization.tax_id)) != 9:
        raise ValidationError({"organization": "The practice needs its NPI and its 9-digit tax ID for claims."})
    batches = []
    with transaction.atomic():
        locked = list(Claim.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        locked = list(Claim.objects.filter(pk__in=[c.pk for c in locked]).select_related(
            "payer__clearinghouse", "coverage__patient", "coverage__plan__payer", "coverage__payer", "patient",
            "encounter__location", "rendering_provider", "prior_authorization", "original_claim",
            "primary_claim__payer", "primary_claim__coverage__patient", "primary_claim__coverage__plan__payer",
            "primary_claim__coverage__payer",
        ).prefetch_related(
            "lines", "primary_claim__lines",
            Prefetch("primary_claim__remittance_claims", queryset=RemittanceClaim.objects.prefetch_related(
                Prefetch("adjustments", queryset=RemittanceAdjustment.objects.order_by("id")),
                Prefetch("lines", queryset=RemittanceLine.objects.prefetch_related(
                    Prefetch("adjustments", queryset=RemittanceAdjustment.objects.order_by("id"))))))
        ).order_by("pk"))
        problems = [problem for claim in locked for problem in _problems(claim, organization)]
        if len(locked) != len(set(ids)):
            problems.append("Some claims were not found.")
        if problems:
            raise ValidationError({"claims": problems})
        by_clearinghouse: dict[int, list[Claim]] = {}
        for claim in locked:
            by_clearinghouse.setdefault(claim.payer.clearinghouse_id, []).append(claim)
        now = timezone.now()
        for group in by_clearinghouse.values():
            clearinghouse = group[0].payer.clearinghouse
            interchange, group_number = control_numbers_take(organization=organization)
            location = group[0].encounter.location
            submitter = x837p.Submitter(
                name=organization.name, id=clearinghouse.submitter_id,
                contact_name=(actor.get_full_name() or actor.username)[:60],
                phone=_digits(location.phone)[-10:] or "0000000000")
            envelope = Envelope(
                sender_id=clearinghouse.submitter_id, receiver_id=clearinghouse.receiver_id,
                interchange_control_number=interchange, group_control_number=group_number,
                created=timezone.localtime(now).replace(tzinfo=None, microsecond=0), usage=clearinghouse.usage or "T")
            try:
                content = x837p.build_837p([_x837_claim(claim, organization) for claim in group], submitter=submitter,
                                           receiver=x837p.Receiver(clearinghouse.name, clearinghouse.receiver_id),
                                           envelope=envelope, reference=f"B{interchange:09d}")
            except X12Error as error:
                raise ValidationError({"claims": [f"The 837P could not be written: {error}"]}) from None
            batch = ClaimBatch.objects.create(
                organization=organization, clearinghouse=clearinghouse, interchange_control_number=interchange,
                group_control_number=group_number, file_name=f"837P-{interchange:09d}.x12", content=content,
                claim_count=len(group), total_charge=sum((c.total_charge for c in group), Decimal("0")),
                status=BatchStatus.BUILT, created_by=actor)
            _claims_submitted(group, batch=batch, actor=actor, now=now)
            batches.append(batch)
    return batches


# ------------------------------------------------------------------------------------------------- sending


def _stc_text(ack) -> str:
    parts = []
    for status in ack.statuses:
        parts.append(f"{status.category}:{status.code}" + (f":{status.entity}" if status.entity else "")
                     + f" {describe(CLAIM_STATUS_CATEGORIES, status.category)}")
    return "; ".join(parts)


def claim_batch_send(*, batch: ClaimBatch, actor) -> ClaimBatch:
    """Submit a built batch and read what comes back (999 and 277CA). A clearinghouse that refuses the file leaves
    the batch built and says why (ValidationError)."""
    _allowed(actor, batch.organization)
    if batch.status != BatchStatus.BUILT:
        raise ValidationError({"batch": f"Batch {batch.file_name} was already sent ({batch.get_status_display()})."})
    try:
        ack_999, ack_277 = clearinghouse_adapter(batch.clearinghouse).submit_837(batch.content)
    except ClearinghouseError as error:
        raise ValidationError({"batch": str(error)}) from None
    except Exception as error:  # noqa: BLE001 - the network: the batch stays built, to be sent again
        raise ValidationError({"batch": f"The clearinghouse did not answer ({type(error).__name__})."}) from None
    return claim_batch_read_answers(batch=batch, ack_999=ack_999, ack_277=ack_277, actor=actor)


def _set_errors(tx) -> str:
    return "; ".join(str(error) for error in tx.errors)[:300]


def _rejected_sets(acks, batch: ClaimBatch, sets: dict[tuple[str, str], list[str]]) -> dict[tuple[str, str], str]:
    """The transaction sets of the batch that a 999 turned away, each with why: every set of a group the AK9
    rejects, and each set whose IK5 rejects it. A set the 999 does not name in a group it accepts (A, E) or partly
    accepts (P) is not rejected: only what an acknowledgement actually rejects is."""
    rejected: dict[tuple[str, str], str] = {}
    for ack in acks:
        group = ack.group_control_number.lstrip("0") or "0"
        if group != str(batch.group_control_number):
            continue  # an answer about another file
        for tx in ack.transactions:
            if tx.status in ACK_REJECTED:
                errors = _set_errors(tx)
                rejected[(group, tx.control_number)] = (f"the 999 rejected transaction set {tx.control_number} that "
                                                        f"carried it ({describe(ACK_CODES, tx.status)})"
                                                        + (f": {errors}" if errors else ""))
        if ack.status in ACK_REJECTED:
            for key in sets:
                if key[0] == group:
                    rejected.setdefault(key, f"the 999 rejected the whole functional group {group} "
                                             f"({describe(ACK_CODES, ack.status)})")
    return rejected


def claim_batch_read_answers(*, batch: ClaimBatch, ack_999: str, ack_277: str, actor) -> ClaimBatch:
    """The 999 and (when it came with it) the 277CA of a sent batch. A claim is rejected only when an
    acknowledgement rejects it: its transaction set by the 999, or itself by a 277CA STC; the others stay submitted
    until a 277CA takes them into adjudication, and wait in the follow-up queue if none comes."""
    organization = batch.organization
    with transaction.atomic():
        batch = ClaimBatch.objects.select_for_update().get(pk=batch.pk)
        errors: list[dict] = []
        try:
            acks = read_999(ack_999)
        except X12Error as error:
            acks, errors = [], [{"segment": error.segment_id, "line": error.ordinal, "message": str(error)}]
        for ack in acks:
            for tx in ack.transactions:
                for segment_error in tx.errors:
                    errors.append({"segment": segment_error.segment_id, "line": segment_error.position,
                                   "message": f"ST {tx.control_number}: {segment_error}"})
        sets = claim_ids_by_transaction(batch.content)
        rejected_sets = _rejected_sets(acks, batch, sets)
        if not acks:
            batch.status = BatchStatus.SENT  # no readable 999: nothing is known yet, nothing is rejected
        elif not rejected_sets:
            batch.status = BatchStatus.ACCEPTED
        else:
            batch.status = BatchStatus.REJECTED if len(rejected_sets) == len(sets) else BatchStatus.PARTIAL
        x12_exchange_keep(organization=organization, transaction=TransactionKind.X999, direction="in",
                          content=ack_999, clearinghouse=batch.clearinghouse, batch=batch,
                          file_name=f"{batch.file_name}.999", summary=f"Batch {batch.get_status_display()}",
                          errors=errors)
        claims = {claim.claim_number: claim for claim in
                  Claim.objects.select_for_update().select_related("patient").filter(batch=batch)}
        rejected = 0
        for key, why in rejected_sets.items():
            for number in sets[key]:
                claim = claims.get(number)
                if claim is not None and claim.status == ClaimStatus.SUBMITTED:
                    rejected += 1
                    _claim_status_set(claim, ClaimStatus.REJECTED, actor=actor, kind=ClaimEventKind.ACK,
                                      text=f"Rejected: {why}")
                    claim.save(update_fields=["status", "updated_at"])
        counts = {"accepted": 0, "rejected": rejected, "pending": 0}
        if ack_277:
            _read_277ca(batch=batch, claims=claims, ack_277=ack_277, actor=actor, counts=counts)
        batch.sent_at = batch.sent_at or timezone.now()
        batch.save(update_fields=["status", "sent_at"])
        audit_event(action="claim_batch.sent", actor=actor, target=batch,
                    summary=f"Batch {batch.file_name}: {batch.get_status_display()}, {counts['accepted']} accepted, "
                            f"{counts['rejected']} rejected, {counts['pending']} received and pending")
    return batch


def claim_batch_read_277ca(*, batch: ClaimBatch, ack_277: str, actor) -> dict[str, int]:
    """A 277CA that came after the batch was sent (the payer's, days later): each claim it names is accepted,
    rejected or noted as received; claims it does not name are left as they are."""
    _allowed(actor, batch.organization)
    with transaction.atomic():
        batch = ClaimBatch.objects.select_for_update().get(pk=batch.pk)
        claims = {claim.claim_number: claim for claim in
                  Claim.objects.select_for_update().select_related("patient").filter(batch=batch)}
        counts = {"accepted": 0, "rejected": 0, "pending": 0}
        _read_277ca(batch=batch, claims=claims, ack_277=ack_277, actor=actor, counts=counts)
    return counts


def _read_277ca(*, batch: ClaimBatch, claims: dict[str, Claim], ack_277: str, actor, counts: dict[str, int]) -> None:
    answer_errors: list[dict] = []
    try:
        answers = read_277ca(ack_277)
    except X12Error as error:
        answers, answer_errors = [], [{"segment": error.segment_id, "line": error.ordinal, "message": str(error)}]
    for answer in answers:
        for ack in answer.claims:
            claim = claims.get(ack.claim_id)
            if claim is None or claim.status not in (ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED):
                continue
            outcome = ack.outcome
            counts[outcome] += 1
            if outcome == "rejected":
                _claim_status_set(claim, ClaimStatus.REJECTED, actor=actor, kind=ClaimEventKind.ACK,
                                  text=f"Rejected by {answer.payer_name}: {_stc_text(ack)}")
            elif outcome == "accepted" and claim.status == ClaimStatus.SUBMITTED:
                _claim_status_set(claim, ClaimStatus.ACCEPTED, actor=actor, kind=ClaimEventKind.ACK,
                                  text=f"Accepted by {answer.payer_name}"
                                       + (f", claim number {ack.payer_claim_control_number}"
                                          if ack.payer_claim_control_number else ""))
                claim.payer_claim_number = ack.payer_claim_control_number or claim.payer_claim_number
            elif outcome == "pending":
                # a receipt, not a decision: the history says so and the claim stays submitted
                ClaimEvent.objects.create(claim=claim, kind=ClaimEventKind.ACK, actor=actor,
                                          text=f"Received by {answer.payer_name}, not yet accepted for "
                                               f"adjudication: {_stc_text(ack)}")
                continue
            else:
                continue
            claim.save(update_fields=["status", "payer_claim_number", "updated_at"])
    x12_exchange_keep(organization=batch.organization, transaction=TransactionKind.X277CA, direction="in",
                      content=ack_277, clearinghouse=batch.clearinghouse, batch=batch,
                      file_name=f"{batch.file_name}.277", errors=answer_errors,
                      summary=f"{counts['accepted']} accepted, {counts['rejected']} rejected, "
                              f"{counts['pending']} received and pending")
