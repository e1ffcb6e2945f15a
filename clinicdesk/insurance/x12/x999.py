"""999 implementation acknowledgements (005010X231A1): was a functional group accepted, and if not, where it failed.

AK9 says accepted (A), accepted with errors (E), partially accepted (P) or rejected (R); IK3 names a bad segment
and IK4 a bad element inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clinicdesk.insurance.x12.codes import ACK_CODES, describe
from clinicdesk.insurance.x12.segments import (
    Composite,
    Envelope,
    FunctionalGroup,
    InterchangeWriter,
    Segment,
    X12Error,
    only_transactions,
)

IMPLEMENTATION = "005010X231A1"
ACCEPTED = frozenset({"A", "E"})
SEGMENT_ERRORS = {
    "1": "Unrecognized segment",
    "2": "Unexpected segment",
    "3": "Required segment missing",
    "4": "Loop occurs over its maximum",
    "5": "Segment exceeds its maximum use",
    "6": "Segment not in the transaction set",
    "7": "Segment not in the proper sequence",
    "8": "Segment has data element errors",
    "I4": "Implementation 'not used' segment present",
    "I6": "Implementation dependent segment missing",
    "I7": "Implementation loop occurs under its minimum",
    "I8": "Implementation segment below its minimum use",
    "I9": "Implementation dependent 'not used' segment present",
}
ELEMENT_ERRORS = {
    "1": "Required data element missing",
    "2": "Conditional required data element missing",
    "3": "Too many data elements",
    "4": "Data element too short",
    "5": "Data element too long",
    "6": "Invalid character in data element",
    "7": "Invalid code value",
    "8": "Invalid date",
    "9": "Invalid time",
    "10": "Exclusion condition violated",
    "12": "Too many repetitions",
    "13": "Too many components",
    "I10": "Implementation 'not used' data element present",
    "I11": "Implementation too few repetitions",
    "I12": "Implementation pattern match failure",
    "I13": "Implementation dependent 'not used' data element present",
    "I6": "Code value not used in the implementation",
    "I9": "Implementation dependent data element missing",
}


@dataclass(slots=True)
class ElementError:
    """An IK4: the element (and component) at fault, its dictionary number, the error and the bad value."""

    position: int
    code: str
    component: int | None = None
    reference_number: str = ""
    bad_value: str = ""

    @property
    def description(self) -> str:
        return describe(ELEMENT_ERRORS, self.code)


@dataclass(slots=True)
class SegmentError:
    """An IK3: the segment at fault by id and position in its transaction (ST is 1), and its loop."""

    segment_id: str
    position: int
    code: str
    loop_id: str = ""
    elements: list[ElementError] = field(default_factory=list)

    @property
    def description(self) -> str:
        return describe(SEGMENT_ERRORS, self.code)

    def __str__(self) -> str:
        parts = [f"segment {self.position} ({self.segment_id}): {self.description}"]
        for element in self.elements:
            name = f"{self.segment_id}{element.position:02d}"
            if element.component:
                name += f"-{element.component}"
            value = f" '{element.bad_value}'" if element.bad_value else ""
            parts.append(f"{name}{value}: {element.description}")
        return "; ".join(parts)


@dataclass(slots=True)
class TransactionAck:
    set_id: str  # AK201
    control_number: str  # AK202, the ST02 acknowledged
    status: str  # IK501: A, E, R ...
    implementation: str = ""
    errors: list[SegmentError] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)  # IK502-IK506

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED


@dataclass(slots=True)
class FunctionalAck:
    """The answer about one functional group (GS/GE) that was sent."""

    functional_id: str  # AK101: HC for claims, HS for inquiries
    group_control_number: str  # AK102, the GS06 acknowledged
    status: str  # AK901: A, E, P, R
    version: str = ""  # AK103
    transactions: list[TransactionAck] = field(default_factory=list)
    included: int = 0  # AK902
    received: int = 0  # AK903
    accepted_count: int = 0  # AK904
    error_codes: list[str] = field(default_factory=list)  # AK905-AK909

    @property
    def status_name(self) -> str:
        return describe(ACK_CODES, self.status)

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED

    @property
    def rejected(self) -> bool:
        return self.status == "R"

    @property
    def partially_accepted(self) -> bool:
        return self.status == "P"


def acknowledge(group: FunctionalGroup, errors: dict[str, list[SegmentError]] | None = None) -> FunctionalAck:
    """The 999 for a group that was read: transactions with errors are rejected, the others accepted."""
    errors = errors or {}
    transactions = []
    for transaction in group.transactions:
        found = errors.get(transaction.control_number, [])
        transactions.append(TransactionAck(
            set_id=transaction.set_id, control_number=transaction.control_number, status="R" if found else "A",
            implementation=transaction.implementation, errors=found, error_codes=["5"] if found else [],
        ))
    accepted = sum(1 for ack in transactions if ack.accepted)
    status = "A" if accepted == len(transactions) else "R" if accepted == 0 else "P"
    return FunctionalAck(
        functional_id=group.functional_id, group_control_number=group.control_number, status=status,
        version=group.version, transactions=transactions, included=len(transactions), received=len(transactions),
        accepted_count=accepted, error_codes=["5"] if status != "A" else [],
    )


# ---------------------------------------------------------------------------------------------------- reading


def _int(segment: Segment, position: int) -> int:
    value = segment.get(position)
    if not value.isdigit():
        raise segment.error(f"{segment.name(position)} '{value}' is not a number")
    return int(value)


def _read_transaction(segments: list[Segment]) -> FunctionalAck:
    ack: FunctionalAck | None = None
    transaction: TransactionAck | None = None
    segment_error: SegmentError | None = None
    for segment in segments:
        sid = segment.id
        if sid == "AK1":
            ack = FunctionalAck(functional_id=segment.get(1), group_control_number=segment.get(2), status="",
                                version=segment.get(3))
        elif ack is None:
            raise segment.error("a 999 starts with AK1")
        elif sid == "AK2":
            transaction = TransactionAck(set_id=segment.get(1), control_number=segment.get(2), status="",
                                         implementation=segment.get(3))
            ack.transactions.append(transaction)
            segment_error = None
        elif sid == "IK3":
            if transaction is None:
                raise segment.error("IK3 outside an AK2")
            segment_error = SegmentError(segment_id=segment.get(1), position=_int(segment, 2),
                                         loop_id=segment.get(3), code=segment.get(4))
            transaction.errors.append(segment_error)
        elif sid == "IK4":
            if segment_error is None:
                raise segment.error("IK4 outside an IK3")
            position = segment.components(1)
            if not position or not position[0].isdigit() or (len(position) > 1 and not position[1].isdigit()
                                                              and position[1] != ""):
                raise segment.error(f"IK401 '{segment.get(1)}' is not an element position")
            segment_error.elements.append(ElementError(
                position=int(position[0]), component=int(position[1]) if len(position) > 1 and position[1] else None,
                reference_number=segment.get(2), code=segment.get(3), bad_value=segment.get(4),
            ))
        elif sid == "IK5":
            if transaction is None:
                raise segment.error("IK5 outside an AK2")
            transaction.status = segment.get(1)
            transaction.error_codes = [segment.get(p) for p in range(2, 7) if segment.get(p)]
            if transaction.status not in ACK_CODES:
                raise segment.error(f"IK501 '{transaction.status}' is not an acknowledgement code")
        elif sid == "AK9":
            ack.status = segment.get(1)
            if ack.status not in ACK_CODES:
                raise segment.error(f"AK901 '{ack.status}' is not an acknowledgement code")
            ack.included, ack.received, ack.accepted_count = _int(segment, 2), _int(segment, 3), _int(segment, 4)
            ack.error_codes = [segment.get(p) for p in range(5, 10) if segment.get(p)]
    if ack is None or not ack.status:
        raise X12Error("a 999 needs AK1 and AK9")
    return ack


def read_999(text: str) -> list[FunctionalAck]:
    return [_read_transaction(transaction.segments) for _, _, transaction in only_transactions(text, "999")]


# ---------------------------------------------------------------------------------------------------- writing


def write_999(acks: list[FunctionalAck], *, envelope: Envelope) -> str:
    """A 999 interchange, one transaction per acknowledged group."""
    if not acks:
        raise X12Error("a 999 needs at least one acknowledgement")
    writer = InterchangeWriter(envelope, functional_id="FA", version=IMPLEMENTATION)
    for ack in acks:
        tx = writer.transaction("999")
        tx.add("AK1", ack.functional_id, ack.group_control_number, ack.version or None)
        for transaction in ack.transactions:
            tx.add("AK2", transaction.set_id, transaction.control_number, transaction.implementation or None)
            for error in transaction.errors:
                tx.add("IK3", error.segment_id, str(error.position), error.loop_id or None, error.code)
                for element in error.elements:
                    position = Composite((str(element.position), str(element.component) if element.component else ""))
                    tx.add("IK4", position, element.reference_number or None, element.code,
                           element.bad_value or None)
            tx.add("IK5", transaction.status, *transaction.error_codes[:5])
        tx.add("AK9", ack.status, str(ack.included), str(ack.received), str(ack.accepted_count),
               *ack.error_codes[:5])
    return writer.render()
