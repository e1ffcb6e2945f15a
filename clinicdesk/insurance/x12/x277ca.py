"""277CA claim acknowledgements (005010X214): which claims of a batch the payer took in, which it turned away.

Each claim is found by the id the office sent (TRN02 at the patient level, the 837's CLM01); its STC category says
accepted (A1, A2 ...) or rejected (A3, A6, A7 ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from clinicdesk.insurance.x12.codes import (
    ACCEPTED_CATEGORIES,
    ADJUDICATION_CATEGORIES,
    CLAIM_STATUS_CATEGORIES,
    REJECTED_CATEGORIES,
    describe,
)
from clinicdesk.insurance.x12.segments import (
    Composite,
    Envelope,
    InterchangeWriter,
    Segment,
    TransactionWriter,
    X12Error,
    d8,
    money,
    only_transactions,
    parse_date_range,
)
from clinicdesk.insurance.x12.x837p import ClaimBatch

IMPLEMENTATION = "005010X214"


@dataclass(slots=True)
class ClaimStatus:
    """An STC01 composite: the category (A1, A3 ...), the status code and the entity it concerns."""

    category: str
    code: str
    entity: str = ""

    @property
    def category_name(self) -> str:
        return describe(CLAIM_STATUS_CATEGORIES, self.category)


@dataclass(slots=True)
class ClaimAck:
    claim_id: str  # TRN02: the claim id sent on the 837 (CLM01)
    statuses: list[ClaimStatus]
    status_date: date
    charge: Decimal
    provider_npi: str
    provider_name: str
    patient_last_name: str = ""
    patient_first_name: str = ""
    member_id: str = ""
    payer_claim_control_number: str = ""  # REF*1K
    service_from: date | None = None
    service_to: date | None = None

    @property
    def accepted(self) -> bool:
        return bool(self.statuses) and self.statuses[0].category in ACCEPTED_CATEGORIES

    @property
    def rejected(self) -> bool:
        return any(status.category in REJECTED_CATEGORIES for status in self.statuses)

    @property
    def outcome(self) -> str:
        """"rejected" when any status rejects the claim, "accepted" when one takes it into adjudication (A2, A5),
        else "pending": a receipt (A0, A1) or no answer yet (E0 ...)."""
        if self.rejected:
            return "rejected"
        if any(status.category in ADJUDICATION_CATEGORIES for status in self.statuses):
            return "accepted"
        return "pending"


@dataclass(slots=True)
class ClaimAcknowledgement:
    """One 277CA: the payer, the batch it answers, when it got and processed it, and each claim's fate."""

    payer_name: str
    payer_id: str
    submitter_name: str
    submitter_id: str
    batch_reference: str  # TRN02 at the receiver level: the 837's BHT03
    received: date
    processed: date
    claims: list[ClaimAck] = field(default_factory=list)
    reference: str = ""  # BHT03 of the 277CA itself

    @property
    def accepted(self) -> list[ClaimAck]:
        return [claim for claim in self.claims if claim.accepted]

    @property
    def rejected(self) -> list[ClaimAck]:
        return [claim for claim in self.claims if claim.rejected]

    def by_claim_id(self) -> dict[str, ClaimAck]:
        return {claim.claim_id: claim for claim in self.claims}


def acknowledge_claims(batch: ClaimBatch, *, payer_name: str, payer_id: str, received: date, processed: date,
                       rejections: dict[str, list[ClaimStatus]] | None = None,
                       payer_claim_numbers: dict[str, str] | None = None) -> ClaimAcknowledgement:
    """The 277CA for a batch that was read: claims named in `rejections` are rejected with those statuses, the
    others accepted (A2:20) with the payer's claim number from `payer_claim_numbers` when given."""
    rejections = rejections or {}
    payer_claim_numbers = payer_claim_numbers or {}
    claims = []
    for claim in batch.claims:
        patient = claim.patient
        claims.append(ClaimAck(
            claim_id=claim.claim_id,
            statuses=rejections.get(claim.claim_id) or [ClaimStatus("A2", "20", "PR")],
            status_date=processed, charge=claim.total, provider_npi=claim.billing_provider.npi,
            provider_name=claim.billing_provider.name,
            patient_last_name=patient.last_name if patient else claim.subscriber.last_name,
            patient_first_name=patient.first_name if patient else claim.subscriber.first_name,
            member_id=claim.subscriber.member_id,
            payer_claim_control_number=payer_claim_numbers.get(claim.claim_id, ""),
            service_from=min(line.service_date for line in claim.lines),
            service_to=max(line.service_date for line in claim.lines),
        ))
    return ClaimAcknowledgement(
        payer_name=payer_name, payer_id=payer_id, submitter_name=batch.submitter.name,
        submitter_id=batch.submitter.id, batch_reference=batch.reference, received=received, processed=processed,
        claims=claims,
    )


# ---------------------------------------------------------------------------------------------------- reading


def _statuses(segment: Segment) -> list[ClaimStatus]:
    statuses = []
    for position in (1, 10, 11):
        parts = segment.components(position)
        if parts:
            parts += ["", ""]
            statuses.append(ClaimStatus(parts[0], parts[1], parts[2]))
    if not statuses or statuses[0].category not in CLAIM_STATUS_CATEGORIES:
        raise segment.error(f"STC01 '{segment.get(1)}' does not start with a claim status category")
    return statuses


def _read_transaction(segments: list[Segment]) -> ClaimAcknowledgement:
    ack = ClaimAcknowledgement("", "", "", "", "", date.min, date.min)
    level = ""
    provider = ("", "")
    patient: tuple[str, str, str] = ("", "", "")
    claim: ClaimAck | None = None
    trace = ""
    for segment in segments:
        sid = segment.id
        if sid == "BHT":
            ack.reference = segment.get(3)
        elif sid == "HL":
            level = segment.get(3)
            claim, trace = None, ""
        elif sid == "NM1":
            if level == "20":
                ack.payer_name, ack.payer_id = segment.get(3), segment.get(9)
            elif level == "21":
                ack.submitter_name, ack.submitter_id = segment.get(3), segment.get(9)
            elif level == "19":
                provider = (segment.get(9), segment.get(3))
            elif level == "PT":
                patient = (segment.get(3), segment.get(4), segment.get(9))
        elif sid == "TRN":
            if level == "21":
                ack.batch_reference = segment.get(2)
            elif level == "PT":
                trace = segment.get(2)
        elif sid == "DTP" and level == "20":
            if segment.get(1) == "050":
                ack.received = segment.date(3, required=True)
            elif segment.get(1) == "009":
                ack.processed = segment.date(3, required=True)
        elif sid == "STC" and level == "PT":
            if claim is not None:
                claim.statuses.extend(_statuses(segment))
                continue
            if not trace:
                raise segment.error("a claim status without the claim's TRN")
            claim = ClaimAck(
                claim_id=trace, statuses=_statuses(segment), status_date=segment.date(2, required=True),
                charge=segment.amount(4) or Decimal("0"), provider_npi=provider[0], provider_name=provider[1],
                patient_last_name=patient[0], patient_first_name=patient[1], member_id=patient[2],
            )
            ack.claims.append(claim)
        elif sid == "REF" and claim is not None and segment.get(1) == "1K":
            claim.payer_claim_control_number = segment.get(2)
        elif sid == "DTP" and claim is not None and segment.get(1) == "472":
            claim.service_from, claim.service_to = parse_date_range(segment, 2, 3)
    return ack


def read_277ca(text: str) -> list[ClaimAcknowledgement]:
    return [_read_transaction(transaction.segments) for _, _, transaction in only_transactions(text, "277")]


# ---------------------------------------------------------------------------------------------------- writing


def _stc(status: ClaimStatus) -> Composite:
    return Composite((status.category, status.code, status.entity))


def _write_totals(tx: TransactionWriter, claims: list[ClaimAck], processed: date | None, *, accepted_qualifier: str,
                  rejected_qualifier: str) -> None:
    """The receipt of a group of claims (STC A1:19) with how many, and how much, were accepted and rejected."""
    accepted = [claim for claim in claims if not claim.rejected]
    rejected = [claim for claim in claims if claim.rejected]
    total = sum((claim.charge for claim in claims), Decimal("0"))
    # the receiver level dates its receipt; the provider level leaves STC02 out
    tx.add("STC", Composite(("A1", "19", "PR")), d8(processed) if processed else None, "WQ", money(total))
    if accepted:
        tx.add("QTY", accepted_qualifier, str(len(accepted)))
    if rejected:
        tx.add("QTY", rejected_qualifier, str(len(rejected)))
    if accepted:
        tx.add("AMT", "YU", money(sum((claim.charge for claim in accepted), Decimal("0"))))
    if rejected:
        tx.add("AMT", "YY", money(sum((claim.charge for claim in rejected), Decimal("0"))))


def write_277ca(acks: list[ClaimAcknowledgement], *, envelope: Envelope) -> str:
    """A 277CA interchange, one transaction per acknowledgement."""
    if not acks:
        raise X12Error("a 277CA needs at least one acknowledgement")
    writer = InterchangeWriter(envelope, functional_id="HN", version=IMPLEMENTATION)
    created = envelope.created
    for ack in acks:
        tx = writer.transaction("277")
        tx.add("BHT", "0085", "08", ack.reference or ack.batch_reference, d8(created.date()),
               created.strftime("%H%M"), "TH")
        tx.add("HL", "1", None, "20", "1")
        tx.add("NM1", "PR", "2", ack.payer_name, None, None, None, None, "PI", ack.payer_id)
        tx.add("TRN", "1", ack.reference or ack.batch_reference)
        tx.add("DTP", "050", "D8", d8(ack.received))
        tx.add("DTP", "009", "D8", d8(ack.processed))
        tx.add("HL", "2", "1", "21", "1")
        tx.add("NM1", "41", "2", ack.submitter_name, None, None, None, None, "46", ack.submitter_id)
        tx.add("TRN", "2", ack.batch_reference)
        _write_totals(tx, ack.claims, ack.processed, accepted_qualifier="90", rejected_qualifier="AA")
        hl = 2
        by_provider: dict[tuple[str, str], list[ClaimAck]] = {}
        for claim in ack.claims:
            by_provider.setdefault((claim.provider_npi, claim.provider_name), []).append(claim)
        for (npi, name), claims in by_provider.items():
            hl += 1
            provider_hl = hl
            tx.add("HL", str(provider_hl), "2", "19", "1")
            tx.add("NM1", "85", "2", name, None, None, None, None, "XX", npi)
            tx.add("TRN", "1", "0")
            _write_totals(tx, claims, None, accepted_qualifier="QA", rejected_qualifier="QC")
            for claim in claims:
                hl += 1
                tx.add("HL", str(hl), str(provider_hl), "PT")
                tx.add("NM1", "QC", "1", claim.patient_last_name, claim.patient_first_name, None, None, None,
                       "MI" if claim.member_id else None, claim.member_id or None)
                tx.add("TRN", "2", claim.claim_id)
                first, *more = claim.statuses
                tx.add("STC", _stc(first), d8(claim.status_date), "WQ" if claim.accepted else "U",
                       money(claim.charge), None, None, None, None, None,
                       *(_stc(status) for status in more[:2]))
                if claim.payer_claim_control_number:
                    tx.add("REF", "1K", claim.payer_claim_control_number)
                if claim.service_from:
                    end = claim.service_to or claim.service_from
                    tx.add("DTP", "472", "RD8", f"{d8(claim.service_from)}-{d8(end)}")
    return writer.render()
