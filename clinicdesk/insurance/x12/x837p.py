"""837P professional claims (005010X222A1): batches written from dataclasses, and read back.

Claims are grouped under their billing provider (HL 20) and subscriber (HL 22); a dependent patient gets its own
level (HL 23). A transaction holds at most 5,000 claims, as the guide recommends; bigger batches get more of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from clinicdesk.core.npi import npi_is_valid
from clinicdesk.insurance.x12.records import Address, Adjustment, read_cas, read_n4, write_address, write_cas
from clinicdesk.insurance.x12.segments import (
    Composite,
    Envelope,
    InterchangeWriter,
    Segment,
    TransactionWriter,
    X12Error,
    d8,
    money,
    number,
    only_transactions,
)

IMPLEMENTATION = "005010X222A1"
MAX_CLAIMS_PER_TRANSACTION = 5000
MAX_DIAGNOSES = 12
MAX_LINES = 50
FREQUENCIES = {"1": "Original", "7": "Replacement of a prior claim", "8": "Void of a prior claim"}
RELATIONSHIPS = {"01": "Spouse", "19": "Child", "20": "Employee", "21": "Unknown", "39": "Organ donor",
                 "40": "Cadaver donor", "53": "Life partner", "G8": "Other relationship"}
SELF = "18"


@dataclass(frozen=True, slots=True)
class Submitter:
    name: str
    id: str
    contact_name: str
    phone: str


@dataclass(frozen=True, slots=True)
class Receiver:
    name: str
    id: str


@dataclass(frozen=True, slots=True)
class BillingProvider:
    npi: str
    name: str
    tax_id: str  # EIN, 9 digits
    address: Address  # the postal code has 9 digits in 5010
    taxonomy: str = ""


@dataclass(frozen=True, slots=True)
class RenderingProvider:
    npi: str
    last_name: str
    first_name: str
    taxonomy: str = ""


@dataclass(frozen=True, slots=True)
class Payer:
    payer_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Subscriber:
    member_id: str
    last_name: str
    first_name: str
    birth_date: date | None = None
    sex: str = "U"
    address: Address | None = None
    group_number: str = ""
    group_name: str = ""
    responsibility: str = "P"  # SBR01: P primary, S secondary, T tertiary
    filing_code: str = "CI"  # SBR09: CI commercial, MB Medicare B, MC Medicaid, BL Blue Cross ...
    middle_name: str = ""


@dataclass(frozen=True, slots=True)
class Patient:
    """The patient when not the subscriber (a dependent)."""

    last_name: str
    first_name: str
    birth_date: date
    sex: str
    address: Address
    relationship: str = "19"  # PAT01: 01 spouse, 19 child, G8 other ...
    middle_name: str = ""


@dataclass(frozen=True, slots=True)
class LineAdjudication:
    """How another (earlier) payer decided a line: loop 2430, SVD with its CAS and date."""

    payer_id: str
    paid: Decimal
    procedure_code: str
    units: Decimal
    adjudicated_on: date
    modifiers: tuple[str, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceLine:
    procedure_code: str
    charge: Decimal
    service_date: date
    units: Decimal = Decimal("1")
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = (1,)
    line_control_number: str = ""
    adjudications: tuple[LineAdjudication, ...] = ()


@dataclass(frozen=True, slots=True)
class OtherPayer:
    """Another payer of the claim (loops 2320/2330): for a secondary claim, the primary and what it paid."""

    payer: Payer
    subscriber: Subscriber
    paid: Decimal | None = None
    adjustments: tuple[Adjustment, ...] = ()  # claim-level adjustments of that payer
    relationship: str = SELF  # the patient's relationship to that payer's subscriber


@dataclass(frozen=True, slots=True)
class Claim:
    claim_id: str  # the patient control number, echoed back on the 277CA and the 835
    billing_provider: BillingProvider
    subscriber: Subscriber
    payer: Payer
    diagnosis_codes: tuple[str, ...]  # ICD-10-CM, the first is the principal
    lines: tuple[ServiceLine, ...]
    patient: Patient | None = None  # None when the patient is the subscriber
    place_of_service: str = "11"
    frequency: str = "1"  # 1 original, 7 replacement, 8 void
    original_claim_reference: str = ""  # the payer's claim control number of the claim replaced or voided
    prior_authorization: str = ""
    rendering_provider: RenderingProvider | None = None
    other_payers: tuple[OtherPayer, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0"))


@dataclass(slots=True)
class ClaimBatch:
    """What an 837P file held: who sent it to whom, its reference and its claims."""

    submitter: Submitter
    receiver: Receiver
    reference: str
    claims: list[Claim] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------- writing


def _check(claim: Claim) -> None:
    where = f"claim {claim.claim_id}"
    if not claim.claim_id or len(claim.claim_id) > 20:
        raise X12Error(f"{where}: the claim id must be 1 to 20 characters")
    if not npi_is_valid(claim.billing_provider.npi):
        raise X12Error(f"{where}: billing provider NPI '{claim.billing_provider.npi}' is not valid")
    if len(claim.billing_provider.address.postal_code) != 9:
        raise X12Error(f"{where}: the billing provider's postal code must have 9 digits")
    if claim.rendering_provider and not npi_is_valid(claim.rendering_provider.npi):
        raise X12Error(f"{where}: rendering provider NPI '{claim.rendering_provider.npi}' is not valid")
    if not 1 <= len(claim.diagnosis_codes) <= MAX_DIAGNOSES:
        raise X12Error(f"{where}: 1 to {MAX_DIAGNOSES} diagnosis codes")
    if not 1 <= len(claim.lines) <= MAX_LINES:
        raise X12Error(f"{where}: 1 to {MAX_LINES} service lines")
    if claim.frequency not in FREQUENCIES:
        raise X12Error(f"{where}: frequency '{claim.frequency}' is not 1, 7 or 8")
    if claim.frequency in ("7", "8") and not claim.original_claim_reference:
        raise X12Error(f"{where}: a replacement or void needs the original claim's reference (REF*F8)")
    if claim.patient is None and (claim.subscriber.birth_date is None or claim.subscriber.address is None):
        raise X12Error(f"{where}: a subscriber who is the patient needs a birth date and an address")
    if claim.patient is not None and claim.patient.relationship not in RELATIONSHIPS:
        raise X12Error(f"{where}: relationship '{claim.patient.relationship}' is not a patient relationship code")
    for number_, line in enumerate(claim.lines, 1):
        if line.charge < 0 or line.units <= 0:
            raise X12Error(f"{where}, line {number_}: the charge and the units must be positive")
        if not 1 <= len(line.diagnosis_pointers) <= 4 or any(
            not 1 <= pointer <= len(claim.diagnosis_codes) for pointer in line.diagnosis_pointers
        ):
            raise X12Error(f"{where}, line {number_}: 1 to 4 diagnosis pointers, each to a diagnosis of the claim")
        if len(line.modifiers) > 4:
            raise X12Error(f"{where}, line {number_}: at most 4 modifiers")


def _person_name(tx: TransactionWriter, entity: str, last: str, first: str, middle: str, id_qualifier: str | None,
                 identifier: str | None) -> None:
    tx.add("NM1", entity, "1", last, first, middle or None, None, None, id_qualifier, identifier)


def _write_subscriber(tx: TransactionWriter, subscriber: Subscriber, payer: Payer, *, is_patient: bool) -> None:
    tx.add("SBR", subscriber.responsibility, SELF if is_patient else None, subscriber.group_number or None,
           subscriber.group_name if subscriber.group_name and not subscriber.group_number else None,
           None, None, None, None, subscriber.filing_code)
    _person_name(tx, "IL", subscriber.last_name, subscriber.first_name, subscriber.middle_name, "MI",
                 subscriber.member_id)
    if subscriber.address:
        write_address(tx, subscriber.address)
    if subscriber.birth_date:
        tx.add("DMG", "D8", d8(subscriber.birth_date), subscriber.sex)
    tx.add("NM1", "PR", "2", payer.name, None, None, None, None, "PI", payer.payer_id)


def _write_claim(tx: TransactionWriter, claim: Claim) -> None:
    tx.add("CLM", claim.claim_id, money(claim.total), None, None,
           Composite((claim.place_of_service, "B", claim.frequency)), "Y", "A", "Y", "Y")
    if claim.prior_authorization:
        tx.add("REF", "G1", claim.prior_authorization)
    if claim.frequency in ("7", "8"):
        tx.add("REF", "F8", claim.original_claim_reference)
    codes = [code.replace(".", "").upper() for code in claim.diagnosis_codes]
    tx.add("HI", Composite(("ABK", codes[0])), *(Composite(("ABF", code)) for code in codes[1:]))
    if claim.rendering_provider:
        rp = claim.rendering_provider
        _person_name(tx, "82", rp.last_name, rp.first_name, "", "XX", rp.npi)
        if rp.taxonomy:
            tx.add("PRV", "PE", "PXC", rp.taxonomy)
    for other in claim.other_payers:
        sub = other.subscriber
        tx.add("SBR", sub.responsibility, other.relationship, sub.group_number or None,
               sub.group_name if sub.group_name and not sub.group_number else None,
               None, None, None, None, sub.filing_code)
        write_cas(tx, other.adjustments)
        if other.paid is not None:
            tx.add("AMT", "D", money(other.paid))
        tx.add("OI", None, None, "Y", None, None, "Y")
        _person_name(tx, "IL", sub.last_name, sub.first_name, sub.middle_name, "MI", sub.member_id)
        tx.add("NM1", "PR", "2", other.payer.name, None, None, None, None, "PI", other.payer.payer_id)
    for index, line in enumerate(claim.lines, 1):
        tx.add("LX", str(index))
        tx.add("SV1", Composite(("HC", line.procedure_code, *line.modifiers)), money(line.charge), "UN",
               number(line.units), None, None, Composite(tuple(str(p) for p in line.diagnosis_pointers)))
        tx.add("DTP", "472", "D8", d8(line.service_date))
        if line.line_control_number:
            tx.add("REF", "6R", line.line_control_number)
        for adjudication in line.adjudications:
            tx.add("SVD", adjudication.payer_id, money(adjudication.paid),
                   Composite(("HC", adjudication.procedure_code, *adjudication.modifiers)), None,
                   number(adjudication.units))
            write_cas(tx, adjudication.adjustments)
            tx.add("DTP", "573", "D8", d8(adjudication.adjudicated_on))


SubscriberKey = tuple[Subscriber, Payer, Patient | None]


class _BatchWriter:
    """Writes grouped claims into transactions, numbering the levels (HL) anew in each transaction."""

    def __init__(self, writer: InterchangeWriter, *, submitter: Submitter, receiver: Receiver, reference: str) -> None:
        self.writer = writer
        self.submitter = submitter
        self.receiver = receiver
        self.reference = reference
        self.tx = self.start_transaction()

    def start_transaction(self) -> TransactionWriter:
        created = self.writer.envelope.created
        tx = self.writer.transaction("837")
        tx.add("BHT", "0019", "00", self.reference, d8(created.date()), created.strftime("%H%M"), "CH")
        tx.add("NM1", "41", "2", self.submitter.name, None, None, None, None, "46", self.submitter.id)
        tx.add("PER", "IC", self.submitter.contact_name, "TE", self.submitter.phone)
        tx.add("NM1", "40", "2", self.receiver.name, None, None, None, None, "46", self.receiver.id)
        self.tx, self.hl, self.claims, self.provider_hl = tx, 0, 0, 0
        return tx

    def provider_level(self, provider: BillingProvider) -> None:
        self.hl += 1
        self.provider_hl = self.hl
        tx = self.tx
        tx.add("HL", str(self.hl), None, "20", "1")
        if provider.taxonomy:
            tx.add("PRV", "BI", "PXC", provider.taxonomy)
        tx.add("NM1", "85", "2", provider.name, None, None, None, None, "XX", provider.npi)
        write_address(tx, provider.address)
        tx.add("REF", "EI", provider.tax_id)

    def subscriber_level(self, subscriber: Subscriber, payer: Payer, patient: Patient | None,
                         claims: list[Claim]) -> None:
        tx = self.tx
        self.hl += 1
        subscriber_hl = self.hl
        tx.add("HL", str(subscriber_hl), str(self.provider_hl), "22", "0" if patient is None else "1")
        _write_subscriber(tx, subscriber, payer, is_patient=patient is None)
        if patient is not None:
            self.hl += 1
            tx.add("HL", str(self.hl), str(subscriber_hl), "23", "0")
            tx.add("PAT", patient.relationship)
            _person_name(tx, "QC", patient.last_name, patient.first_name, patient.middle_name, None, None)
            write_address(tx, patient.address)
            tx.add("DMG", "D8", d8(patient.birth_date), patient.sex)
        for claim in claims:
            _write_claim(tx, claim)
        self.claims += len(claims)

    def write(self, grouped: dict[BillingProvider, dict[SubscriberKey, list[Claim]]]) -> None:
        for provider, by_subscriber in grouped.items():
            provider_open = False  # a provider level is written with its first subscriber, never left empty
            for (subscriber, payer, patient), group in by_subscriber.items():
                for start in range(0, len(group), MAX_CLAIMS_PER_TRANSACTION):
                    chunk = group[start:start + MAX_CLAIMS_PER_TRANSACTION]
                    if self.claims and self.claims + len(chunk) > MAX_CLAIMS_PER_TRANSACTION:
                        self.start_transaction()
                        provider_open = False
                    if not provider_open:
                        self.provider_level(provider)
                        provider_open = True
                    self.subscriber_level(subscriber, payer, patient, chunk)


def build_837p(claims: list[Claim], *, submitter: Submitter, receiver: Receiver, envelope: Envelope,
               reference: str) -> str:
    """An 837P interchange for a batch of claims; `reference` (BHT03) names the batch back on the 999 and 277CA.

    The claims come out grouped by billing provider, then by subscriber, payer and patient, in the order first seen.
    """
    if not claims:
        raise X12Error("an 837P needs at least one claim")
    grouped: dict[BillingProvider, dict[SubscriberKey, list[Claim]]] = {}
    for claim in claims:
        _check(claim)
        key = (claim.subscriber, claim.payer, claim.patient)
        grouped.setdefault(claim.billing_provider, {}).setdefault(key, []).append(claim)
    writer = InterchangeWriter(envelope, functional_id="HC", version=IMPLEMENTATION)
    _BatchWriter(writer, submitter=submitter, receiver=receiver, reference=reference).write(grouped)
    return writer.render()


# ---------------------------------------------------------------------------------------------------- reading

SUBMITTER_UNKNOWN = Submitter("", "", "", "")
RECEIVER_UNKNOWN = Receiver("", "")


def _codes(segment: Segment, position: int) -> tuple[str, tuple[str, ...]]:
    parts = segment.components(position)
    if len(parts) < 2 or parts[0] != "HC":
        raise segment.error(f"{segment.name(position)} '{segment.get(position)}' is not an HC procedure code")
    return parts[1], tuple(part for part in parts[2:6] if part)


def _icd10(code: str) -> str:
    """An ICD-10-CM code as the office writes it: the dot the 837 leaves out comes back after the category."""
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def _address(segments: list[Segment], index: int) -> tuple[Address | None, int]:
    """The N3/N4 pair starting at `index`, if there is one."""
    if index < len(segments) and segments[index].id == "N3":
        if index + 1 < len(segments) and segments[index + 1].id == "N4":
            return read_n4(segments[index + 1], segments[index]), index + 2
        raise segments[index].error("N3 without N4")
    return None, index


def _read_transaction(segments: list[Segment], batch: ClaimBatch) -> None:
    provider: BillingProvider | None = None
    subscriber: Subscriber | None = None
    payer: Payer | None = None
    patient: Patient | None = None
    pending: dict | None = None
    other: dict | None = None
    line: dict | None = None
    adjudication: dict | None = None
    hl_level = ""
    index = 0

    def finish_claim() -> None:
        nonlocal pending, line, other, adjudication
        if pending is None:
            return
        finish_line()
        finish_other()
        lines = tuple(pending.pop("lines"))
        others = tuple(pending.pop("others"))
        claim_segment = pending.pop("segment")
        claim = Claim(lines=lines, other_payers=others, **pending)
        if claim.total != pending_total[0]:
            raise claim_segment.error(f"CLM02 says {pending_total[0]}, the lines add up to {claim.total}")
        batch.claims.append(claim)
        pending = None

    def finish_other() -> None:
        nonlocal other
        if other is not None and pending is not None:
            if "member_id" not in other["subscriber"] or not other["payer_id"]:
                raise other["segment"].error("another payer (SBR) without its subscriber (NM1*IL) and payer (NM1*PR)")
            pending["others"].append(OtherPayer(
                payer=Payer(other["payer_id"], other["payer_name"]),
                subscriber=Subscriber(**other["subscriber"]), paid=other["paid"],
                adjustments=tuple(other["adjustments"]), relationship=other["relationship"],
            ))
        other = None

    def finish_line() -> None:
        nonlocal line, adjudication
        finish_adjudication()
        if line is not None and pending is not None:
            if line["service_date"] is None:
                raise line.pop("segment").error("a service line without its date (DTP*472)")
            line.pop("segment")
            line["adjudications"] = tuple(line["adjudications"])
            pending["lines"].append(ServiceLine(**line))
        line = None

    def finish_adjudication() -> None:
        nonlocal adjudication
        if adjudication is not None and line is not None:
            if adjudication["adjudicated_on"] is None:
                raise adjudication.pop("segment").error("a line adjudication without its date (DTP*573)")
            adjudication.pop("segment")
            adjudication["adjustments"] = tuple(adjudication["adjustments"])
            line["adjudications"].append(LineAdjudication(**adjudication))
        adjudication = None

    pending_total = [Decimal("0")]
    subscriber_fields: dict = {}
    taxonomy = ""
    relationship = "19"
    while index < len(segments):
        segment = segments[index]
        sid = segment.id
        index += 1
        if sid == "BHT":
            batch.reference = segment.get(3)
        elif sid == "NM1" and segment.get(1) == "41":
            batch.submitter = Submitter(segment.get(3), segment.get(9), "", "")
        elif sid == "PER" and segment.get(1) == "IC" and provider is None:
            batch.submitter = Submitter(batch.submitter.name, batch.submitter.id, segment.get(2), segment.get(4))
        elif sid == "NM1" and segment.get(1) == "40":
            batch.receiver = Receiver(segment.get(3), segment.get(9))
        elif sid == "HL":
            finish_claim()
            hl_level = segment.get(3)
            if hl_level == "20":
                provider = None
                taxonomy = ""
            elif hl_level == "22":
                subscriber, payer, patient = None, None, None
            elif hl_level != "23":
                raise segment.error(f"HL03 '{hl_level}' is not 20, 22 or 23")
        elif sid == "PRV" and hl_level == "20" and pending is None:
            taxonomy = segment.get(3)
        elif sid == "NM1" and segment.get(1) == "85":
            address, index = _address(segments, index)
            tax_id = ""
            while index < len(segments) and segments[index].id == "REF":
                if segments[index].get(1) == "EI":
                    tax_id = segments[index].get(2)
                index += 1
            if address is None:
                raise segment.error("the billing provider needs an address (N3/N4)")
            provider = BillingProvider(segment.get(9), segment.get(3), tax_id, address, taxonomy)
        elif sid == "SBR" and pending is None:
            subscriber_fields = {
                "responsibility": segment.get(1), "group_number": segment.get(3), "group_name": segment.get(4),
                "filing_code": segment.get(9),
            }
        elif sid == "NM1" and segment.get(1) == "IL" and pending is None:
            address, index = _address(segments, index)
            birth_date, sex = None, "U"
            if index < len(segments) and segments[index].id == "DMG":
                birth_date, sex = segments[index].date(2), segments[index].get(3)
                index += 1
            subscriber = Subscriber(
                member_id=segment.get(9), last_name=segment.get(3), first_name=segment.get(4),
                middle_name=segment.get(5), birth_date=birth_date, sex=sex, address=address, **subscriber_fields,
            )
        elif sid == "NM1" and segment.get(1) == "PR" and pending is None:
            payer = Payer(segment.get(9), segment.get(3))
        elif sid == "PAT":
            relationship = segment.get(1)
        elif sid == "NM1" and segment.get(1) == "QC":
            address, index = _address(segments, index)
            if address is None or index >= len(segments) or segments[index].id != "DMG":
                raise segment.error("the patient needs an address (N3/N4) and a DMG")
            dmg = segments[index]
            index += 1
            patient = Patient(segment.get(3), segment.get(4), dmg.date(2, required=True), dmg.get(3), address,
                              relationship, segment.get(5))
        elif sid == "CLM":
            finish_claim()
            if provider is None or subscriber is None or payer is None:
                raise segment.error("a claim before its billing provider, subscriber and payer")
            pending_total[0] = segment.amount(2, required=True)
            pending = {
                "segment": segment, "claim_id": segment.get(1), "billing_provider": provider,
                "subscriber": subscriber, "payer": payer, "patient": patient, "diagnosis_codes": (),
                "place_of_service": segment.component(5, 1), "frequency": segment.component(5, 3),
                "lines": [], "others": [],
            }
        elif pending is None:
            continue
        elif sid == "REF" and line is None and other is None:
            if segment.get(1) == "G1":
                pending["prior_authorization"] = segment.get(2)
            elif segment.get(1) == "F8":
                pending["original_claim_reference"] = segment.get(2)
        elif sid == "HI":
            pending["diagnosis_codes"] = tuple(
                _icd10(segment.component(position, 2)) for position in range(1, 13) if segment.get(position)
            )
        elif sid == "NM1" and segment.get(1) == "82":
            taxonomy_ = ""
            if index < len(segments) and segments[index].id == "PRV":
                taxonomy_ = segments[index].get(3)
                index += 1
            pending["rendering_provider"] = RenderingProvider(segment.get(9), segment.get(3), segment.get(4),
                                                              taxonomy_)
        elif sid == "SBR":
            finish_other()
            other = {
                "subscriber": {"responsibility": segment.get(1), "group_number": segment.get(3),
                               "group_name": segment.get(4), "filing_code": segment.get(9)},
                "relationship": segment.get(2), "adjustments": [], "paid": None, "payer_id": "", "payer_name": "",
                "segment": segment,
            }
        elif sid == "CAS" and other is not None and line is None:
            other["adjustments"].extend(read_cas(segment))
        elif sid == "AMT" and other is not None and segment.get(1) == "D":
            other["paid"] = segment.amount(2, required=True)
        elif sid == "NM1" and other is not None and line is None and segment.get(1) == "IL":
            other["subscriber"].update(member_id=segment.get(9), last_name=segment.get(3),
                                       first_name=segment.get(4), middle_name=segment.get(5), birth_date=None,
                                       sex="U", address=None)
        elif sid == "NM1" and other is not None and line is None and segment.get(1) == "PR":
            other["payer_id"], other["payer_name"] = segment.get(9), segment.get(3)
        elif sid == "LX":
            finish_line()
            finish_other()
        elif sid == "SV1":
            code, modifiers = _codes(segment, 1)
            line = {
                "procedure_code": code, "modifiers": modifiers, "charge": segment.amount(2, required=True),
                "units": segment.amount(4) or Decimal("1"), "service_date": None, "adjudications": [],
                "diagnosis_pointers": tuple(int(p) for p in segment.components(7) if p.isdigit()) or (1,),
                "segment": segment,
            }
        elif sid == "DTP" and line is not None and adjudication is None and segment.get(1) == "472":
            line["service_date"] = segment.date(3, required=True)
        elif sid == "REF" and line is not None and segment.get(1) == "6R":
            line["line_control_number"] = segment.get(2)
        elif sid == "SVD" and line is not None:
            finish_adjudication()
            code, modifiers = _codes(segment, 3)
            adjudication = {
                "payer_id": segment.get(1), "paid": segment.amount(2, required=True), "procedure_code": code,
                "modifiers": modifiers, "units": segment.amount(5) or Decimal("1"), "adjustments": [],
                "adjudicated_on": None, "segment": segment,
            }
        elif sid == "CAS" and adjudication is not None:
            adjudication["adjustments"].extend(read_cas(segment))
        elif sid == "DTP" and adjudication is not None and segment.get(1) == "573":
            adjudication["adjudicated_on"] = segment.date(3, required=True)
    finish_claim()


def claim_ids_by_transaction(text: str) -> dict[tuple[str, str], list[str]]:
    """(GS06, ST02) of each transaction set of an 837P with the claim ids (CLM01) it carries: what a 999 that
    accepts or rejects a set says about each claim."""
    found: dict[tuple[str, str], list[str]] = {}
    for _, group, transaction in only_transactions(text, "837"):
        found[(group.control_number.lstrip("0") or "0", transaction.control_number)] = [
            segment.get(1) for segment in transaction.segments if segment.id == "CLM"]
    return found


def read_837p(text: str) -> ClaimBatch:
    """The claims of an 837P interchange (every transaction), with the submitter and receiver of the first."""
    batch = ClaimBatch(SUBMITTER_UNKNOWN, RECEIVER_UNKNOWN, "")
    for _, group, transaction in only_transactions(text, "837"):
        if not group.version.startswith(IMPLEMENTATION[:10]):
            raise group.gs.error(f"version {group.version} is not an 837P ({IMPLEMENTATION})")
        _read_transaction(transaction.segments, batch)
    return batch
