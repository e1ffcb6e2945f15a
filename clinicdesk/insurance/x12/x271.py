"""271 eligibility responses (005010X279A1): read into what the front desk needs per subscriber, and write them.

Active means an EB01 of 1 to 5, inactive 6 to 8. Copays are EB01=B, coinsurance A, deductibles C and out-of-pocket
maximums G; EB06 says the period (23 calendar year, 22 service year, 29 remaining ...) and EB12 the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from clinicdesk.insurance.x12.codes import AAA_REASONS, BENEFIT_INFO, SERVICE_TYPES, TIME_PERIODS, describe
from clinicdesk.insurance.x12.records import Address, read_n4, write_address
from clinicdesk.insurance.x12.segments import (
    Envelope,
    InterchangeWriter,
    Repeated,
    Segment,
    TransactionWriter,
    X12Error,
    d8,
    money,
    number,
    only_transactions,
    parse_date_range,
)

IMPLEMENTATION = "005010X279A1"
ACTIVE = frozenset("12345")
INACTIVE = frozenset("678")
REMAINING = "29"


@dataclass(slots=True)
class Rejection:
    """An AAA: the request could not be answered, and why."""

    reason: str  # AAA03
    follow_up: str = ""  # AAA04: C correct and resubmit, N do not resubmit, R resubmit ...
    valid: bool = False  # AAA01

    @property
    def reason_name(self) -> str:
        return describe(AAA_REASONS, self.reason)


@dataclass(slots=True)
class BenefitEntity:
    """Someone a benefit names (loop 2120, inside LS/LE): the primary care provider (P3), another payer (PRP) ..."""

    entity: str  # NM101: P3 primary care provider, PR payer, 1P provider ...
    last_name: str  # or the organization's name
    first_name: str = ""
    id_qualifier: str = ""
    id: str = ""
    entity_type: str = "1"  # NM102: 1 person, 2 organization


@dataclass(slots=True)
class Benefit:
    """One EB segment with its dates and messages."""

    info: str  # EB01
    coverage_level: str = ""  # EB02: IND, FAM ...
    service_types: tuple[str, ...] = ()  # EB03
    insurance_type: str = ""  # EB04
    plan_name: str = ""  # EB05
    time_period: str = ""  # EB06
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08, a fraction: 0.2 is 20 %
    quantity_qualifier: str = ""  # EB09
    quantity: Decimal | None = None  # EB10
    authorization_required: str = ""  # EB11: Y, N, U
    in_network: bool | None = None  # EB12: Y in network, N out of network, W or absent both
    dates: dict[str, tuple[date | None, date | None]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    entities: list[BenefitEntity] = field(default_factory=list)

    @property
    def info_name(self) -> str:
        return describe(BENEFIT_INFO, self.info)

    @property
    def time_period_name(self) -> str:
        return describe(TIME_PERIODS, self.time_period) if self.time_period else ""

    @property
    def service_type_names(self) -> list[str]:
        return [describe(SERVICE_TYPES, code) for code in self.service_types]

    @property
    def is_remaining(self) -> bool:
        return self.time_period == REMAINING


@dataclass(slots=True)
class Eligibility:
    """A subscriber's (or a dependent's) answer: who, since when, and their benefits."""

    role: str  # "subscriber" or "dependent"
    last_name: str
    first_name: str
    member_id: str = ""
    middle_name: str = ""
    birth_date: date | None = None
    sex: str = ""
    address: Address | None = None
    group_number: str = ""  # REF*6P
    trace_numbers: list[str] = field(default_factory=list)  # TRN02, the inquiry's trace number comes back here
    dates: dict[str, tuple[date | None, date | None]] = field(default_factory=dict)  # DTP qualifier -> (from, to)
    rejections: list[Rejection] = field(default_factory=list)
    benefits: list[Benefit] = field(default_factory=list)
    dependents: list[Eligibility] = field(default_factory=list)

    @property
    def active(self) -> bool | None:
        """True with any active benefit (EB01 1-5), False when only inactive ones (6-8), None when neither."""
        infos = {benefit.info for benefit in self.benefits}
        if infos & ACTIVE:
            return True
        if infos & INACTIVE:
            return False
        return None

    @property
    def plan_names(self) -> list[str]:
        names: list[str] = []
        for benefit in self.benefits:
            if benefit.plan_name and benefit.plan_name not in names:
                names.append(benefit.plan_name)
        return names

    def _of(self, info: str) -> list[Benefit]:
        return [benefit for benefit in self.benefits if benefit.info == info]

    @property
    def copays(self) -> list[Benefit]:
        return self._of("B")

    @property
    def coinsurance(self) -> list[Benefit]:
        return self._of("A")

    @property
    def deductibles(self) -> list[Benefit]:
        return self._of("C")

    @property
    def out_of_pocket(self) -> list[Benefit]:
        return self._of("G")

    def copay_for(self, service_type: str, *, in_network: bool = True) -> Decimal | None:
        """The copay for a service type in (or out of) network; a benefit without EB12 counts for both."""
        for benefit in self.copays:
            if service_type in benefit.service_types and benefit.in_network in (in_network, None):
                return benefit.amount
        return None

    def _amount(self, benefits: list[Benefit], *, remaining: bool, in_network: bool) -> Decimal | None:
        for level in ("IND", ""):
            for benefit in benefits:
                if (benefit.is_remaining == remaining and benefit.in_network in (in_network, None)
                        and benefit.amount is not None and (not level or benefit.coverage_level in (level, ""))):
                    return benefit.amount
        return None

    def deductible(self, *, remaining: bool = False, in_network: bool = True) -> Decimal | None:
        return self._amount(self.deductibles, remaining=remaining, in_network=in_network)

    def out_of_pocket_total(self, *, in_network: bool = True) -> Decimal | None:
        return self._amount(self.out_of_pocket, remaining=False, in_network=in_network)

    def out_of_pocket_remaining(self, *, in_network: bool = True) -> Decimal | None:
        return self._amount(self.out_of_pocket, remaining=True, in_network=in_network)

    def _date(self, qualifier: str) -> date | None:
        return self.dates.get(qualifier, (None, None))[0]

    @property
    def primary_care_provider(self) -> BenefitEntity | None:
        """The primary care provider on file with the payer (EB01=L with its P3 entity), if any."""
        for benefit in self._of("L"):
            for entity in benefit.entities:
                if entity.entity == "P3":
                    return entity
        return None

    @property
    def plan_begin(self) -> date | None:
        return self._date("346")

    @property
    def eligibility_begin(self) -> date | None:
        return self._date("356")

    @property
    def plan_date(self) -> date | None:
        return self._date("291")


@dataclass(slots=True)
class EligibilityResponse:
    payer_name: str
    payer_id: str
    provider_name: str
    provider_id: str
    provider_id_qualifier: str = "XX"
    rejections: list[Rejection] = field(default_factory=list)  # the payer or the provider level refused
    subscribers: list[Eligibility] = field(default_factory=list)
    reference: str = ""  # BHT03

    def everyone(self) -> list[Eligibility]:
        people = []
        for subscriber in self.subscribers:
            people.append(subscriber)
            people.extend(subscriber.dependents)
        return people


# ---------------------------------------------------------------------------------------------------- reading


def _aaa(segment: Segment) -> Rejection:
    return Rejection(reason=segment.get(3), follow_up=segment.get(4), valid=segment.get(1) == "Y")


def _network(segment: Segment) -> bool | None:
    value = segment.get(12)
    return True if value == "Y" else False if value == "N" else None


def _read_transaction(segments: list[Segment]) -> list[EligibilityResponse]:
    responses: list[EligibilityResponse] = []
    response: EligibilityResponse | None = None
    person: Eligibility | None = None
    subscriber: Eligibility | None = None
    benefit: Benefit | None = None
    level = ""
    in_ls = False
    n3: Segment | None = None
    reference = ""
    traces: list[str] = []
    for segment in segments:
        sid = segment.id
        if sid == "BHT":
            reference = segment.get(3)
        elif sid == "HL":
            level = segment.get(3)
            person, benefit, in_ls, traces = None, None, False, []
            if level == "20":
                response = EligibilityResponse("", "", "", "", reference=reference)
                responses.append(response)
            elif response is None:
                raise segment.error("an HL before the information source (HL03=20)")
            elif level not in ("21", "22", "23"):
                raise segment.error(f"HL03 '{level}' is not 20, 21, 22 or 23")
        elif in_ls:
            if sid == "LE":
                in_ls = False
            elif sid == "NM1" and benefit is not None:
                benefit.entities.append(BenefitEntity(
                    entity=segment.get(1), entity_type=segment.get(2), last_name=segment.get(3),
                    first_name=segment.get(4), id_qualifier=segment.get(8), id=segment.get(9),
                ))
        elif sid == "LS":
            in_ls = True
        elif sid == "NM1":
            if response is None:
                raise segment.error("NM1 before the first HL")
            if level == "20":
                response.payer_name, response.payer_id = segment.get(3), segment.get(9)
            elif level == "21":
                response.provider_name, response.provider_id = segment.get(3), segment.get(9)
                response.provider_id_qualifier = segment.get(8)
            elif level in ("22", "23"):
                person = Eligibility(
                    role="subscriber" if level == "22" else "dependent", last_name=segment.get(3),
                    first_name=segment.get(4), middle_name=segment.get(5), member_id=segment.get(9),
                    trace_numbers=traces,
                )
                if level == "22":
                    subscriber = person
                    response.subscribers.append(person)
                else:
                    if subscriber is None:
                        raise segment.error("a dependent (HL03=23) without a subscriber")
                    subscriber.dependents.append(person)
        elif sid == "TRN":
            # the trace numbers come before the name of the person they belong to
            (person.trace_numbers if person is not None else traces).append(segment.get(2))
        elif sid == "AAA":
            # an AAA after a benefit (loop 2110) refuses part of the inquiry: it is the person's too
            target = person.rejections if person is not None else response.rejections if response else None
            if target is None:
                raise segment.error("AAA before the first HL")
            target.append(_aaa(segment))
        elif person is None:
            continue
        elif sid == "REF" and benefit is None:
            if segment.get(1) == "6P":
                person.group_number = segment.get(2)
        elif sid == "N3" and benefit is None:
            n3 = segment
        elif sid == "N4" and benefit is None:
            person.address = read_n4(segment, n3)
            n3 = None
        elif sid == "DMG":
            person.birth_date = segment.date(2)
            person.sex = segment.get(3)
        elif sid == "DTP":
            dates = benefit.dates if benefit is not None else person.dates
            dates[segment.get(1)] = parse_date_range(segment, 2, 3)
        elif sid == "EB":
            info = segment.get(1)
            if info not in BENEFIT_INFO:
                raise segment.error(f"EB01 '{info}' is not a benefit code")
            benefit = Benefit(
                info=info, coverage_level=segment.get(2), service_types=tuple(segment.repetitions(3)),
                insurance_type=segment.get(4), plan_name=segment.get(5), time_period=segment.get(6),
                amount=segment.amount(7), percent=segment.amount(8), quantity_qualifier=segment.get(9),
                quantity=segment.amount(10), authorization_required=segment.get(11), in_network=_network(segment),
            )
            person.benefits.append(benefit)
        elif sid == "MSG" and benefit is not None:
            benefit.messages.append(segment.get(1))
    return responses


def read_271(text: str) -> list[EligibilityResponse]:
    """Every information source (payer) answer of a 271 interchange."""
    responses: list[EligibilityResponse] = []
    for _, _, transaction in only_transactions(text, "271"):
        responses.extend(_read_transaction(transaction.segments))
    return responses


# ---------------------------------------------------------------------------------------------------- writing


def _write_dates(tx: TransactionWriter, dates: dict[str, tuple[date | None, date | None]]) -> None:
    for qualifier, (start, end) in dates.items():
        if start is None:
            continue
        if end is not None and end != start:
            tx.add("DTP", qualifier, "RD8", f"{d8(start)}-{d8(end)}")
        else:
            tx.add("DTP", qualifier, "D8", d8(start))


def _write_person(tx: TransactionWriter, person: Eligibility, *, originator_id: str) -> None:
    for trace in person.trace_numbers:
        tx.add("TRN", "2", trace, originator_id)
    if person.role == "subscriber":
        tx.add("NM1", "IL", "1", person.last_name, person.first_name, person.middle_name or None, None, None, "MI",
               person.member_id)
    else:
        tx.add("NM1", "03", "1", person.last_name, person.first_name, person.middle_name or None)
    if person.group_number:
        tx.add("REF", "6P", person.group_number)
    if person.address:
        write_address(tx, person.address)
    for rejection in person.rejections:
        tx.add("AAA", "Y" if rejection.valid else "N", None, rejection.reason, rejection.follow_up)
    if person.birth_date:
        tx.add("DMG", "D8", d8(person.birth_date), person.sex or None)
    _write_dates(tx, person.dates)
    for benefit in person.benefits:
        tx.add(
            "EB", benefit.info, benefit.coverage_level or None,
            Repeated(benefit.service_types) if benefit.service_types else None, benefit.insurance_type or None,
            benefit.plan_name or None, benefit.time_period or None,
            money(benefit.amount) if benefit.amount is not None else None,
            number(benefit.percent) if benefit.percent is not None else None, benefit.quantity_qualifier or None,
            number(benefit.quantity) if benefit.quantity is not None else None,
            benefit.authorization_required or None,
            "Y" if benefit.in_network else "N" if benefit.in_network is False else None,
        )
        _write_dates(tx, benefit.dates)
        for message in benefit.messages:
            tx.add("MSG", message)
        if benefit.entities:
            tx.add("LS", "2120")
            for entity in benefit.entities:
                tx.add("NM1", entity.entity, entity.entity_type, entity.last_name, entity.first_name or None, None,
                       None, None, entity.id_qualifier or None, entity.id or None)
            tx.add("LE", "2120")


def write_271(responses: list[EligibilityResponse], *, envelope: Envelope, originator_id: str) -> str:
    """A 271 interchange answering one or more payers' inquiries; `originator_id` is TRN03 (10 characters)."""
    if not responses:
        raise X12Error("a 271 needs at least one response")
    writer = InterchangeWriter(envelope, functional_id="HB", version=IMPLEMENTATION)
    tx = writer.transaction("271")
    tx.add("BHT", "0022", "11", responses[0].reference or "1", d8(envelope.created.date()),
           envelope.created.strftime("%H%M"))
    hl = 0
    for response in responses:
        hl += 1
        payer_hl = hl
        has_children = bool(response.subscribers) or bool(response.provider_id)
        tx.add("HL", str(payer_hl), None, "20", "1" if has_children else "0")
        tx.add("NM1", "PR", "2", response.payer_name, None, None, None, None, "PI", response.payer_id)
        for rejection in response.rejections:
            tx.add("AAA", "Y" if rejection.valid else "N", None, rejection.reason, rejection.follow_up)
        if not response.provider_id:
            continue
        hl += 1
        provider_hl = hl
        tx.add("HL", str(provider_hl), str(payer_hl), "21", "1" if response.subscribers else "0")
        tx.add("NM1", "1P", "2", response.provider_name, None, None, None, None,
               response.provider_id_qualifier or "XX", response.provider_id)
        for subscriber in response.subscribers:
            hl += 1
            subscriber_hl = hl
            tx.add("HL", str(subscriber_hl), str(provider_hl), "22", "1" if subscriber.dependents else "0")
            _write_person(tx, subscriber, originator_id=originator_id)
            for dependent in subscriber.dependents:
                hl += 1
                tx.add("HL", str(hl), str(subscriber_hl), "23", "0")
                _write_person(tx, dependent, originator_id=originator_id)
    return writer.render()
