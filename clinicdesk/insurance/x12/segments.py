"""X12 interchanges: the tokenizer, the ISA/GS/ST envelopes with their control numbers and counts, and the writer.

The separators come from the ISA itself (fixed width, 106 characters): the element separator is its 4th character,
the repetition separator ISA11, the sub-element separator ISA16 and the segment terminator the character after it.
Every error names the segment by its ordinal in the interchange (1-based) and its id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache

ISA_LENGTH = 106

# Segment ids the readers of this package understand; anything else in a transaction is refused by name.
KNOWN_SEGMENTS = frozenset({
    "AAA", "AK1", "AK2", "AK9", "AMT", "BHT", "BPR", "CAS", "CL1", "CLM", "CLP", "CN1", "CR1", "CR2", "CRC", "CTP",
    "CTX", "CUR", "DMG", "DTM", "DTP", "EB", "EQ", "GE", "GS", "HCP", "HI", "HL", "HSD", "IEA", "III", "IK3", "IK4",
    "IK5", "INS", "ISA", "K3", "LE", "LIN", "LQ", "LS", "LX", "MEA", "MIA", "MOA", "MSG", "N1", "N2", "N3", "N4",
    "NM1", "NTE", "OI", "PAT", "PER", "PLB", "PRV", "PS1", "PWK", "QTY", "RDM", "REF", "SBR", "SE", "ST", "STC",
    "SV1", "SV2", "SV3", "SV5", "SVC", "SVD", "TOO", "TRN", "TS2", "TS3",
})

# CCYYMMDD from 1900 on: an earlier year is a keying error (11111111), not a date anyone bills for
_DATE_RE = re.compile(r"(19|2\d)\d{6}\Z")
_TIME_RE = re.compile(r"\d{4}(\d{2}(\d{1,2})?)?\Z")


class X12Error(ValueError):
    """A malformed interchange; `ordinal` (1-based) and `segment_id` say where."""

    def __init__(self, message: str, *, ordinal: int | None = None, segment_id: str = "") -> None:
        self.ordinal = ordinal
        self.segment_id = segment_id
        self.reason = message
        where = f"segment {ordinal} ({segment_id}): " if ordinal is not None else ""
        super().__init__(where + message)


@dataclass(frozen=True, slots=True)
class Separators:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"

    def all(self) -> str:
        return self.element + self.component + self.repetition + self.segment


@dataclass(slots=True)
class Segment:
    """One segment: `elements[0]` is the id, so `elements[n]` is element n as the guides number it."""

    elements: list[str]
    ordinal: int = 0
    separators: Separators = field(default_factory=Separators, repr=False)

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, position: int, default: str = "") -> str:
        try:
            return self.elements[position]
        except IndexError:
            return default

    def components(self, position: int) -> list[str]:
        value = self.get(position)
        return value.split(self.separators.component) if value else []

    def component(self, position: int, index: int) -> str:
        """Sub-element `index` (1-based) of element `position`, '' when absent."""
        parts = self.components(position)
        return parts[index - 1] if len(parts) >= index else ""

    def repetitions(self, position: int) -> list[str]:
        value = self.get(position)
        return value.split(self.separators.repetition) if value else []

    def error(self, message: str) -> X12Error:
        return X12Error(message, ordinal=self.ordinal, segment_id=self.id)

    def name(self, position: int) -> str:
        return f"{self.id}{position:02d}"

    def date(self, position: int, *, required: bool = False) -> date | None:
        return parse_date(self, position, required=required)

    def amount(self, position: int, *, required: bool = False) -> Decimal | None:
        return parse_amount(self, position, required=required)

    def __str__(self) -> str:
        return self.separators.element.join(self.elements)


def parse_date(segment: Segment, position: int, *, required: bool = False) -> date | None:
    """CCYYMMDD (or CCYYMMDD-CCYYMMDD, whose first date is taken) into a date; a bad one is named."""
    value = segment.get(position)
    if not value:
        if required:
            raise segment.error(f"{segment.name(position)} is required (a date CCYYMMDD)")
        return None
    first = value.split("-", 1)[0]
    if not _DATE_RE.match(first):
        raise segment.error(f"{segment.name(position)} '{value}' is not a date (CCYYMMDD)")
    try:
        return date(int(first[:4]), int(first[4:6]), int(first[6:8]))
    except ValueError:
        raise segment.error(f"{segment.name(position)} '{value}' is not a date (CCYYMMDD)") from None


def parse_date_range(segment: Segment, qualifier_position: int, position: int) -> tuple[date | None, date | None]:
    """A DTP/DTM value with its format qualifier: D8 gives (d, d), RD8 gives (from, to)."""
    value = segment.get(position)
    if not value:
        return None, None
    parts = value.split("-")
    dates = []
    for part in parts[:2]:
        if not _DATE_RE.match(part):
            raise segment.error(f"{segment.name(position)} '{value}' is not a date (CCYYMMDD)")
        try:
            dates.append(date(int(part[:4]), int(part[4:6]), int(part[6:8])))
        except ValueError:
            raise segment.error(f"{segment.name(position)} '{value}' is not a date (CCYYMMDD)") from None
    return dates[0], dates[-1]


def parse_amount(segment: Segment, position: int, *, required: bool = False) -> Decimal | None:
    value = segment.get(position)
    if not value:
        if required:
            raise segment.error(f"{segment.name(position)} is required (an amount)")
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise segment.error(f"{segment.name(position)} '{value}' is not a number") from None
    if not amount.is_finite():
        raise segment.error(f"{segment.name(position)} '{value}' is not a number")
    return amount


def _parse_time(segment: Segment, position: int) -> time:
    value = segment.get(position)
    if not _TIME_RE.match(value):
        raise segment.error(f"{segment.name(position)} '{value}' is not a time (HHMM)")
    try:
        return time(int(value[:2]), int(value[2:4]), int(value[4:6] or 0))
    except ValueError:
        raise segment.error(f"{segment.name(position)} '{value}' is not a time (HHMM)") from None


# ---------------------------------------------------------------------------------------------------- reading


def tokenize(text: str) -> tuple[Separators, list[Segment]]:
    """Split an interchange into segments, taking the separators from its ISA."""
    text = text.lstrip()
    if not text.startswith("ISA"):
        raise X12Error("an interchange starts with ISA", ordinal=1, segment_id=re.match(r"\w*", text[:3]).group())
    if len(text) < ISA_LENGTH:
        raise X12Error(f"the ISA is {len(text)} characters, it must be {ISA_LENGTH}", ordinal=1, segment_id="ISA")
    element = text[3]
    isa_fields = text[:ISA_LENGTH].split(element)
    if len(isa_fields) != 17:
        raise X12Error(
            f"the ISA has {len(isa_fields) - 1} elements, it must have 16 at fixed widths", ordinal=1, segment_id="ISA"
        )
    component = text[ISA_LENGTH - 2]
    terminator = text[ISA_LENGTH - 1]
    repetition = isa_fields[11] if isa_fields[12] >= "00501" else ""
    if len({element, component, terminator, *([repetition] if repetition else [])}) != (4 if repetition else 3):
        raise X12Error("the ISA separators are not distinct", ordinal=1, segment_id="ISA")
    if element.isalnum() or component.isalnum() or terminator.isalnum() or repetition.isalnum():
        raise X12Error("the ISA separators must not be letters or digits", ordinal=1, segment_id="ISA")
    separators = Separators(element=element, component=component, repetition=repetition or "^", segment=terminator)
    segments: list[Segment] = []
    for raw in text.split(terminator):
        raw = raw.strip("\r\n")
        if not raw:
            continue
        segments.append(Segment(raw.split(element), len(segments) + 1, separators))
    return separators, segments


@dataclass(slots=True)
class Transaction:
    set_id: str  # ST01: 835, 837, 270 ...
    control_number: str  # ST02
    implementation: str  # ST03 (the guide's version), may be empty
    segments: list[Segment]  # between ST and SE
    st: Segment
    se: Segment


@dataclass(slots=True)
class FunctionalGroup:
    functional_id: str  # GS01: HP, HC, HS, HB, FA, HN
    sender_id: str
    receiver_id: str
    created: datetime
    control_number: str
    version: str  # GS08
    transactions: list[Transaction]
    gs: Segment


@dataclass(slots=True)
class Interchange:
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    created: datetime
    version: str  # ISA12
    control_number: str
    ack_requested: bool
    usage: str  # P production, T test
    separators: Separators
    groups: list[FunctionalGroup]

    def transactions(self, set_id: str | None = None) -> Iterator[tuple[FunctionalGroup, Transaction]]:
        for group in self.groups:
            for transaction in group.transactions:
                if set_id is None or transaction.set_id == set_id:
                    yield group, transaction


def _isa_datetime(isa: Segment) -> datetime:
    value = isa.get(9)
    problem = f"ISA09 '{value}' is not a date (YYMMDD)"
    if not re.fullmatch(r"\d{6}", value):
        raise isa.error(problem)
    try:
        day = date(2000 + int(value[:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        raise isa.error(problem) from None
    return datetime.combine(day, _parse_time(isa, 10))


def read_interchange(
    text: str, *, require_5010: bool = True, known_segments: frozenset[str] = KNOWN_SEGMENTS
) -> Interchange:
    """Tokenize and check the envelopes: pairs, control numbers, counts, the 5010 version, the segment ids."""
    separators, segments = tokenize(text)
    isa = segments[0]
    if len(isa.elements) != 17:
        raise isa.error(f"the ISA has {len(isa.elements) - 1} elements, it must have 16")
    if require_5010 and isa.get(12) != "00501":
        raise isa.error(f"version {isa.get(12)} is not 5010 (00501)")
    interchange = Interchange(
        sender_qualifier=isa.get(5), sender_id=isa.get(6).strip(), receiver_qualifier=isa.get(7),
        receiver_id=isa.get(8).strip(), created=_isa_datetime(isa), version=isa.get(12), control_number=isa.get(13),
        ack_requested=isa.get(14) == "1", usage=isa.get(15), separators=separators, groups=[],
    )
    if not re.fullmatch(r"\d{9}", interchange.control_number):
        raise isa.error(f"ISA13 '{interchange.control_number}' is not a 9-digit control number")
    group: FunctionalGroup | None = None
    transaction: Transaction | None = None
    for segment in segments[1:]:
        sid = segment.id
        if sid == "ISA":
            raise segment.error("a second ISA before the IEA")
        if sid == "IEA":
            if group is not None:
                raise segment.error(f"IEA before the GE of group {group.control_number}")
            if segment.get(2) != interchange.control_number:
                raise segment.error(f"IEA02 '{segment.get(2)}' does not match ISA13 '{interchange.control_number}'")
            if segment.get(1) != str(len(interchange.groups)):
                groups = len(interchange.groups)
                raise segment.error(f"IEA01 says {segment.get(1)} groups, the interchange has {groups}")
            if segment.ordinal != len(segments):
                extra = segments[segment.ordinal]
                raise extra.error("segments after the IEA")
            return interchange
        if sid == "GS":
            if group is not None:
                raise segment.error(f"GS before the GE of group {group.control_number}")
            version = segment.get(8)
            if require_5010 and not version.startswith("005010"):
                raise segment.error(f"version {version} is not 5010")
            group = FunctionalGroup(
                functional_id=segment.get(1), sender_id=segment.get(2), receiver_id=segment.get(3),
                created=datetime.combine(parse_date(segment, 4, required=True), _parse_time(segment, 5)),
                control_number=segment.get(6), version=version, transactions=[], gs=segment,
            )
            if not group.control_number.isdigit():
                raise segment.error(f"GS06 '{group.control_number}' is not a control number")
            continue
        if sid == "GE":
            if group is None:
                raise segment.error("GE without a GS")
            if transaction is not None:
                raise segment.error(f"GE before the SE of transaction {transaction.control_number}")
            if segment.get(2) != group.control_number:
                raise segment.error(f"GE02 '{segment.get(2)}' does not match GS06 '{group.control_number}'")
            if segment.get(1) != str(len(group.transactions)):
                raise segment.error(f"GE01 says {segment.get(1)} transactions, the group has {len(group.transactions)}")
            interchange.groups.append(group)
            group = None
            continue
        if group is None:
            raise segment.error(f"{sid} outside a GS/GE group")
        if sid == "ST":
            if transaction is not None:
                raise segment.error(f"ST before the SE of transaction {transaction.control_number}")
            transaction = Transaction(
                set_id=segment.get(1), control_number=segment.get(2), implementation=segment.get(3), segments=[],
                st=segment, se=segment,
            )
            if not transaction.control_number:
                raise segment.error("ST02 (the control number) is missing")
            if transaction.implementation and require_5010 and not transaction.implementation.startswith("005010"):
                raise segment.error(f"version {transaction.implementation} is not 5010")
            continue
        if transaction is None:
            raise segment.error(f"{sid} outside an ST/SE transaction")
        if sid == "SE":
            count = len(transaction.segments) + 2
            if segment.get(1) != str(count):
                raise segment.error(f"SE01 says {segment.get(1)} segments, the transaction has {count}")
            if segment.get(2) != transaction.control_number:
                raise segment.error(f"SE02 '{segment.get(2)}' does not match ST02 '{transaction.control_number}'")
            transaction.se = segment
            group.transactions.append(transaction)
            transaction = None
            continue
        if sid not in known_segments:
            raise segment.error(f"unknown segment {sid} at segment {segment.ordinal}")
        transaction.segments.append(segment)
    last = segments[-1]
    if transaction is not None:
        raise last.error(f"no SE for transaction {transaction.control_number}")
    if group is not None:
        raise last.error(f"no GE for group {group.control_number}")
    raise last.error("no IEA")


def only_transactions(text: str, set_id: str) -> Iterator[tuple[Interchange, FunctionalGroup, Transaction]]:
    """The transactions of one kind in an interchange; a file holding none of that kind is an error."""
    interchange = read_interchange(text)
    found = False
    for group, transaction in interchange.transactions():
        if transaction.set_id != set_id:
            raise transaction.st.error(f"a {transaction.set_id} transaction where a {set_id} was expected")
        found = True
        yield interchange, group, transaction
    if not found:
        raise X12Error(f"no {set_id} transaction in the interchange")


# ---------------------------------------------------------------------------------------------------- writing


class Composite(tuple):
    """An element made of sub-elements, joined by the component separator."""


class Repeated(tuple):
    """An element repeated, joined by the repetition separator."""


Element = str | Composite | Repeated | None


@lru_cache(maxsize=8192)
def d8(value: date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


@lru_cache(maxsize=8192)
def money(value: Decimal) -> str:
    """An amount as X12 writes it: no trailing zeros beyond the cents, no exponent."""
    text = format(value.quantize(Decimal("0.01")), "f")
    if text.endswith(".00"):
        text = text[:-3]
    elif "." in text and text.endswith("0"):
        text = text[:-1]
    return "0" if text in ("-0", "") else text


def number(value: Decimal | int) -> str:
    text = format(Decimal(value).normalize(), "f")
    return "0" if text == "-0" else text


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who an interchange is from and to, its control numbers and when it was made."""

    sender_id: str
    receiver_id: str
    interchange_control_number: int
    group_control_number: int
    created: datetime
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    application_sender: str = ""  # GS02, the sender id when empty
    application_receiver: str = ""
    usage: str = "P"  # P production, T test
    ack_requested: bool = False


class TransactionWriter:
    """The segments of one ST/SE transaction; `add` cleans the values and drops trailing empty elements."""

    __slots__ = ("control_number", "implementation", "lines", "separators", "set_id", "_special")

    def __init__(self, set_id: str, control_number: str, implementation: str, separators: Separators) -> None:
        self.set_id = set_id
        self.control_number = control_number
        self.implementation = implementation
        self.separators = separators
        self.lines: list[str] = []
        # a separator inside a name or address would split the segment; it becomes a space
        self._special = re.compile("[" + re.escape(separators.all()) + "]")

    def add(self, segment_id: str, *elements: Element) -> None:
        sep = self.separators
        special = self._special
        values = [segment_id]
        for element in elements:
            if element is None:
                values.append("")
            elif type(element) is str:
                values.append(special.sub(" ", element) if special.search(element) else element)
            elif isinstance(element, Composite):
                parts = [special.sub(" ", str(part or "")) for part in element]
                while parts and not parts[-1]:
                    parts.pop()
                values.append(sep.component.join(parts))
            elif isinstance(element, Repeated):
                values.append(sep.repetition.join(special.sub(" ", str(part)) for part in element))
            else:
                values.append(special.sub(" ", str(element)))
        while len(values) > 1 and not values[-1]:
            values.pop()
        self.lines.append(sep.element.join(values))

    def render(self) -> list[str]:
        sep = self.separators.element
        st = ["ST", self.set_id, self.control_number] + ([self.implementation] if self.implementation else [])
        se = ["SE", str(len(self.lines) + 2), self.control_number]
        return [sep.join(st), *self.lines, sep.join(se)]


class InterchangeWriter:
    """One ISA/IEA interchange holding one GS/GE group; transactions are numbered 0001, 0002 ..."""

    def __init__(
        self, envelope: Envelope, *, functional_id: str, version: str, separators: Separators | None = None
    ) -> None:
        self.envelope = envelope
        self.functional_id = functional_id
        self.version = version
        self.separators = separators or Separators()
        self.transactions: list[TransactionWriter] = []
        for name, value, width in (
            ("sender id", envelope.sender_id, 15), ("receiver id", envelope.receiver_id, 15),
        ):
            if not value or len(value) > width:
                raise X12Error(f"the {name} '{value}' must be 1 to {width} characters")
        if not 0 < envelope.interchange_control_number < 10**9:
            raise X12Error("the interchange control number must be 1 to 999999999")
        if not 0 < envelope.group_control_number < 10**9:
            raise X12Error("the group control number must be 1 to 999999999")

    def transaction(self, set_id: str, *, implementation: str | None = None) -> TransactionWriter:
        writer = TransactionWriter(
            set_id, f"{len(self.transactions) + 1:04d}",
            self.version if implementation is None else implementation, self.separators,
        )
        self.transactions.append(writer)
        return writer

    def render(self, *, newline: bool = True) -> str:
        env, sep = self.envelope, self.separators
        e = sep.element
        created = env.created
        isa = e.join([
            "ISA", "00", " " * 10, "00", " " * 10, env.sender_qualifier, env.sender_id.ljust(15),
            env.receiver_qualifier, env.receiver_id.ljust(15), created.strftime("%y%m%d"), created.strftime("%H%M"),
            sep.repetition, "00501", f"{env.interchange_control_number:09d}", "1" if env.ack_requested else "0",
            env.usage, sep.component,
        ])
        gs = e.join([
            "GS", self.functional_id, env.application_sender or env.sender_id,
            env.application_receiver or env.receiver_id, created.strftime("%Y%m%d"), created.strftime("%H%M"),
            str(env.group_control_number), "X", self.version,
        ])
        lines = [isa, gs]
        for transaction in self.transactions:
            lines.extend(transaction.render())
        lines.append(e.join(["GE", str(len(self.transactions)), str(env.group_control_number)]))
        lines.append(e.join(["IEA", "1", f"{env.interchange_control_number:09d}"]))
        terminator = sep.segment + ("\n" if newline else "")
        return terminator.join(lines) + terminator


def segments_by_id(segments: Iterable[Segment], *ids: str) -> list[Segment]:
    wanted = set(ids)
    return [segment for segment in segments if segment.id in wanted]
