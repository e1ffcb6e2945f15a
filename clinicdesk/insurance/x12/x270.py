"""270 eligibility inquiries (005010X279A1) for one or many subscribers or their dependents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clinicdesk.insurance.x12.segments import (
    Envelope,
    InterchangeWriter,
    Repeated,
    Segment,
    X12Error,
    d8,
    only_transactions,
)

IMPLEMENTATION = "005010X279A1"
SEXES = ("M", "F", "U")


@dataclass(frozen=True, slots=True)
class InquiryPerson:
    last_name: str
    first_name: str
    birth_date: date | None = None
    sex: str = ""  # M, F, U
    middle_name: str = ""


@dataclass(frozen=True, slots=True)
class EligibilityInquiry:
    """One question to a payer: is this member (or their dependent) covered on this date, for these services."""

    trace_number: str  # echoed back in the 271's TRN, to match the answer to the question
    payer_id: str
    payer_name: str
    provider_npi: str  # or the identifier provider_id_qualifier names
    provider_name: str  # the practice (an organization) unless provider_first_name is given
    member_id: str
    subscriber: InquiryPerson
    service_date: date
    service_types: tuple[str, ...] = ("30",)
    dependent: InquiryPerson | None = None
    provider_first_name: str = ""
    provider_id_qualifier: str = "XX"  # XX is the NPI; SV a number the payer assigned


def build_270(inquiries: list[EligibilityInquiry], *, envelope: Envelope, originator_id: str,
              reference: str = "1") -> str:
    """A 270 interchange: one transaction, one payer and provider level per pair, one subscriber level each.

    `originator_id` is TRN03, the 10-character id of the company asking ("1" + its EIN, or "9" + another id).
    """
    if not inquiries:
        raise X12Error("a 270 needs at least one inquiry")
    writer = InterchangeWriter(envelope, functional_id="HS", version=IMPLEMENTATION)
    tx = writer.transaction("270")
    tx.add("BHT", "0022", "13", reference, d8(envelope.created.date()), envelope.created.strftime("%H%M"))
    grouped: dict[tuple[str, str, str], list[EligibilityInquiry]] = {}
    for inquiry in inquiries:
        key = (inquiry.payer_id, inquiry.provider_npi, inquiry.provider_name)
        grouped.setdefault(key, []).append(inquiry)
    hl = 0
    for group in grouped.values():
        first = group[0]
        hl += 1
        payer_hl = hl
        tx.add("HL", str(payer_hl), None, "20", "1")
        tx.add("NM1", "PR", "2", first.payer_name, None, None, None, None, "PI", first.payer_id)
        hl += 1
        provider_hl = hl
        tx.add("HL", str(provider_hl), str(payer_hl), "21", "1")
        if first.provider_first_name:
            tx.add("NM1", "1P", "1", first.provider_name, first.provider_first_name, None, None, None,
                   first.provider_id_qualifier, first.provider_npi)
        else:
            tx.add("NM1", "1P", "2", first.provider_name, None, None, None, None, first.provider_id_qualifier,
                   first.provider_npi)
        for inquiry in group:
            _check(inquiry)
            hl += 1
            subscriber_hl = hl
            tx.add("HL", str(subscriber_hl), str(provider_hl), "22", "1" if inquiry.dependent else "0")
            patient = inquiry.dependent or inquiry.subscriber
            if inquiry.dependent is None:
                tx.add("TRN", "1", inquiry.trace_number, originator_id)
            sub = inquiry.subscriber
            tx.add("NM1", "IL", "1", sub.last_name, sub.first_name, sub.middle_name or None, None, None, "MI",
                   inquiry.member_id)
            if sub.birth_date:
                tx.add("DMG", "D8", d8(sub.birth_date), sub.sex or None)
            if inquiry.dependent is not None:
                hl += 1
                tx.add("HL", str(hl), str(subscriber_hl), "23", "0")
                tx.add("TRN", "1", inquiry.trace_number, originator_id)
                tx.add("NM1", "03", "1", patient.last_name, patient.first_name, patient.middle_name or None)
                if patient.birth_date:
                    tx.add("DMG", "D8", d8(patient.birth_date), patient.sex or None)
            tx.add("DTP", "291", "D8", d8(inquiry.service_date))
            tx.add("EQ", Repeated(inquiry.service_types))
    return writer.render()


def _check(inquiry: EligibilityInquiry) -> None:
    if not inquiry.member_id:
        raise X12Error(f"inquiry {inquiry.trace_number}: the member id is required")
    if not inquiry.trace_number:
        raise X12Error("an inquiry needs a trace number")
    if not inquiry.service_types or len(inquiry.service_types) > 99:
        raise X12Error(f"inquiry {inquiry.trace_number}: 1 to 99 service type codes")
    for person in (inquiry.subscriber, inquiry.dependent):
        if person is not None and person.sex and person.sex not in SEXES:
            raise X12Error(f"inquiry {inquiry.trace_number}: sex '{person.sex}' is not M, F or U")


def _read_transaction(segments: list[Segment]) -> list[EligibilityInquiry]:
    inquiries: list[EligibilityInquiry] = []
    payer = ("", "")
    provider = ("", "", "", "XX")
    member_id = ""
    trace = ""
    subscriber: InquiryPerson | None = None
    dependent: InquiryPerson | None = None
    service_date = None
    service_types: list[str] = []
    level = ""

    def flush() -> None:
        nonlocal dependent, service_date, service_types, trace
        if level in ("22", "23") and service_types:
            if service_date is None:
                raise X12Error(f"inquiry {trace}: no service date (DTP*291)")
            inquiries.append(EligibilityInquiry(
                trace_number=trace, payer_id=payer[0], payer_name=payer[1], provider_npi=provider[0],
                provider_name=provider[1], provider_first_name=provider[2], provider_id_qualifier=provider[3],
                member_id=member_id,
                subscriber=subscriber or InquiryPerson("", ""), service_date=service_date,
                service_types=tuple(service_types), dependent=dependent,
            ))
        service_types, service_date, trace = [], None, ""

    for segment in segments:
        sid = segment.id
        if sid == "HL":
            flush()
            level = segment.get(3)
            if level == "22":
                dependent = None
        elif sid == "NM1":
            entity = segment.get(1)
            if entity == "PR":
                payer = (segment.get(9), segment.get(3))
            elif entity == "1P":
                provider = (segment.get(9), segment.get(3), segment.get(4), segment.get(8))
            elif entity == "IL":
                member_id = segment.get(9)
                subscriber = InquiryPerson(segment.get(3), segment.get(4), middle_name=segment.get(5))
            elif entity == "03":
                dependent = InquiryPerson(segment.get(3), segment.get(4), middle_name=segment.get(5))
        elif sid == "TRN":
            trace = segment.get(2)
        elif sid == "DMG":
            person = dependent if level == "23" else subscriber
            if person is None:
                raise segment.error("DMG before the person's name")
            updated = InquiryPerson(person.last_name, person.first_name, segment.date(2), segment.get(3),
                                    person.middle_name)
            if level == "23":
                dependent = updated
            else:
                subscriber = updated
        elif sid == "DTP" and segment.get(1) == "291":
            if segment.get(2) not in ("D8", "RD8"):
                raise segment.error(f"DTP02 '{segment.get(2)}' is not D8 or RD8")
            service_date = segment.date(3, required=True)
        elif sid == "EQ":
            service_types.extend(segment.repetitions(1))
    flush()
    return inquiries


def read_270(text: str) -> list[EligibilityInquiry]:
    """The inquiries of a 270 interchange, one per subscriber or dependent asked about."""
    inquiries: list[EligibilityInquiry] = []
    for _, _, transaction in only_transactions(text, "270"):
        inquiries.extend(_read_transaction(transaction.segments))
    return inquiries
