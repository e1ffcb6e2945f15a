"""The payer scorecard and the negotiation packet: how each payer treats the office over a date range, counted
by the database (grouped aggregates; Python only folds the per-payer results and the days-to-pay histogram, so
the cost does not grow with the number of claims beyond the database's own scan)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate

from clinicdesk.core.money import round_money

from ..choices import ClaimFrequency, ClaimStatus, ContractBasis
from ..models import Claim, ClaimLine, ContractRate, Payer, ReferenceRate, ReferenceSchedule
from ..services.contracts import contract_in_force

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
# Claims not yet sent say nothing about a payer; voids are not claims for service.
UNSENT = (ClaimStatus.DRAFT, ClaimStatus.SCRUBBED)
DENIED = (ClaimStatus.DENIED, ClaimStatus.APPEALED)


def _money(value) -> Decimal:
    """A database sum as money (SQLite hands back sums without their scale)."""
    return round_money(Decimal(value or 0))


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if not whole else (Decimal(part) * HUNDRED / Decimal(whole)).quantize(Decimal("0.1"))


@dataclass
class PayerScore:
    payer_id: int
    payer_name: str
    claims: int = 0
    billed: Decimal = ZERO
    allowed: Decimal = ZERO
    paid: Decimal = ZERO
    adjudicated: int = 0
    denied: int = 0
    underpaid: Decimal = ZERO
    reference_allowed: Decimal = ZERO
    reference_total: Decimal = ZERO
    days_histogram: dict[int, int] = field(default_factory=dict)

    @property
    def denial_rate(self) -> Decimal | None:
        return _percent(self.denied, self.adjudicated)

    @property
    def percent_of_reference(self) -> Decimal | None:
        return _percent(self.reference_allowed, self.reference_total)

    @property
    def paid_count(self) -> int:
        return sum(self.days_histogram.values())

    @property
    def average_days_to_pay(self) -> Decimal | None:
        n = self.paid_count
        if not n:
            return None
        return (Decimal(sum(d * c for d, c in self.days_histogram.items())) / n).quantize(Decimal("0.1"))

    @property
    def median_days_to_pay(self) -> Decimal | None:
        n = self.paid_count
        if not n:
            return None
        ordered = sorted(self.days_histogram.items())

        def nth(k: int) -> int:  # the k-th smallest value (0-based) from the histogram
            seen = 0
            for days, count in ordered:
                seen += count
                if k < seen:
                    return days
            return ordered[-1][0]

        if n % 2:
            return Decimal(nth(n // 2)).quantize(Decimal("0.1"))
        return (Decimal(nth(n // 2 - 1) + nth(n // 2)) / 2).quantize(Decimal("0.1"))


@dataclass
class Scorecard:
    start: date
    end: date
    reference_schedule: ReferenceSchedule | None
    payers: list[PayerScore]

    def chart(self) -> dict:
        """Figures for the chart, as strings (no floats on the way to the page)."""
        return {"labels": [p.payer_name for p in self.payers],
                "billed": [str(p.billed) for p in self.payers], "allowed": [str(p.allowed) for p in self.payers],
                "paid": [str(p.paid) for p in self.payers]}


def default_reference_schedule(*, user, on: date | None = None) -> ReferenceSchedule | None:
    """The practice's reference schedule in effect on `on` (the newest one otherwise)."""
    schedules = ReferenceSchedule.objects.filter(organization=user.organization).order_by("-effective_from", "-id")
    if on is not None:
        found = schedules.filter(effective_from__lte=on).first()
        if found is not None:
            return found
    return schedules.first()


def _claims(user, start: date, end: date):
    return (Claim.objects.filter(organization=user.organization, service_from__gte=start, service_from__lte=end)
            .exclude(status__in=UNSENT).exclude(frequency=ClaimFrequency.VOID))


def payer_scorecard(*, user, start: date, end: date, reference_schedule: ReferenceSchedule | None = None) -> Scorecard:
    """Per payer, claims with a service date in [start, end]: volume, billed, allowed, paid, denial rate (denied
    claims over adjudicated ones), days from submission to adjudication (average and median), the underpaid
    total, and allowed as a percentage of the reference schedule over the same (allowed) lines."""
    claims = _claims(user, start, end)
    scores: dict[int, PayerScore] = {}
    names = dict(Payer.objects.filter(organization=user.organization).values_list("pk", "name"))

    def score(payer_id: int) -> PayerScore:
        if payer_id not in scores:
            scores[payer_id] = PayerScore(payer_id=payer_id, payer_name=names.get(payer_id, "?"))
        return scores[payer_id]

    for row in claims.values("payer_id").annotate(
        n=Count("id"), billed=Sum("total_charge"), allowed=Sum("allowed_amount"), paid=Sum("paid_amount"),
        adjudicated=Count("id", filter=Q(adjudicated_on__isnull=False)),
        denied=Count("id", filter=Q(adjudicated_on__isnull=False, status__in=DENIED)),
    ).order_by():
        s = score(row["payer_id"])
        s.claims, s.billed, s.allowed, s.paid = row["n"], _money(row["billed"]), _money(row["allowed"]), _money(row["paid"])
        s.adjudicated, s.denied = row["adjudicated"], row["denied"]
    # Days to pay, as a histogram per payer (at most a few hundred distinct values each).
    waited = ExpressionWrapper(F("adjudicated_on") - TruncDate("submitted_at"), output_field=DurationField())
    for row in (claims.filter(adjudicated_on__isnull=False, submitted_at__isnull=False).exclude(status__in=DENIED)
                .annotate(waited=waited).values("payer_id", "waited").annotate(n=Count("id")).order_by()):
        days = row["waited"].days if isinstance(row["waited"], timedelta) else int(row["waited"])
        histogram = score(row["payer_id"]).days_histogram
        histogram[days] = histogram.get(days, 0) + row["n"]
    lines = ClaimLine.objects.filter(claim__in=claims)
    for row in lines.filter(underpaid_amount__gt=0).values("claim__payer_id").annotate(u=Sum("underpaid_amount")).order_by():
        score(row["claim__payer_id"]).underpaid = _money(row["u"])
    if reference_schedule is None:
        reference_schedule = default_reference_schedule(user=user, on=end)
    if reference_schedule is not None:
        # Grouped by payer, code and modifiers (a few hundred groups), then priced from the reference in Python:
        # far cheaper than a correlated look-up per line.
        amounts = {(code, mods): amount for code, mods, amount in
                   ReferenceRate.objects.filter(schedule=reference_schedule)
                   .values_list("procedure_code", "modifiers", "amount")}
        for row in (lines.filter(allowed_amount__gt=0).values("claim__payer_id", "procedure_code", "modifiers")
                    .annotate(a=Sum("allowed_amount"), u=Sum("units")).order_by()):
            per_unit = amounts.get((row["procedure_code"], row["modifiers"]), amounts.get((row["procedure_code"], "")))
            if per_unit is None:
                continue
            s = score(row["claim__payer_id"])
            s.reference_allowed += _money(row["a"])
            s.reference_total += round_money(per_unit * row["u"])
    return Scorecard(start=start, end=end, reference_schedule=reference_schedule,
                     payers=sorted(scores.values(), key=lambda s: (-s.claims, s.payer_name)))


# --- negotiation packet ------------------------------------------------------------------------------------


@dataclass
class PacketCell:
    """One code at one payer."""

    payer_id: int
    payer_name: str
    contract_allowed: Decimal | None
    lines: int
    average_allowed: Decimal | None
    average_paid: Decimal | None
    reference: Decimal | None
    denial_rate: Decimal | None

    @property
    def percent_of_reference(self) -> Decimal | None:
        if self.average_allowed is None or not self.reference:
            return None
        return _percent(self.average_allowed, self.reference)


@dataclass
class PacketCode:
    procedure_code: str
    units: int
    reference: Decimal | None
    payers: list[PacketCell]


@dataclass
class PayerSummary:
    payer_name: str
    lines: int
    average_percent_of_reference: Decimal | None
    denial_rate: Decimal | None
    best_code: str = ""
    worst_code: str = ""


@dataclass
class NegotiationPacket:
    start: date
    end: date
    reference_schedule: ReferenceSchedule | None
    codes: list[PacketCode]
    summaries: list[PayerSummary]


def _contract_amounts(payer_ids: set[int], codes: list[str], on: date):
    """What each payer's contract on `on` allows per unit of each code (without modifiers), in a query per payer
    and two for every amount: the same rule as services.contracts.contract_rate, for many codes at once."""
    contracts = {payer_id: contract_in_force(payer_id, on) for payer_id in payer_ids}
    in_force = [c for c in contracts.values() if c is not None]
    fees = {(r.contract_id, r.procedure_code): r.allowed_amount for r in ContractRate.objects.filter(
        contract__in=in_force, procedure_code__in=codes, modifiers="")}
    references = {(r.schedule_id, r.procedure_code): r.amount for r in ReferenceRate.objects.filter(
        schedule_id__in={c.reference_schedule_id for c in in_force if c.reference_schedule_id},
        procedure_code__in=codes, modifiers="")}

    def allowed(payer_id: int, code: str) -> Decimal | None:
        contract = contracts.get(payer_id)
        if contract is None:
            return None
        if contract.basis == ContractBasis.FEE_LIST and (contract.pk, code) in fees:
            return fees[(contract.pk, code)]
        base = references.get((contract.reference_schedule_id, code))
        if base is None or contract.percent_of_reference is None:
            return None
        return round_money(base * contract.percent_of_reference / HUNDRED)

    return allowed


def negotiation_packet(*, user, start: date, end: date, top: int = 10,
                       reference_schedule: ReferenceSchedule | None = None) -> NegotiationPacket:
    """For the office's `top` codes by units billed, each payer side by side: the contract's allowed amount (on
    `end`), the average allowed and paid per unit, allowed as a percentage of the reference, the code's denial
    rate. Two grouped queries, then one contract look-up per code and payer."""
    claims = _claims(user, start, end)
    lines = ClaimLine.objects.filter(claim__in=claims)
    top_codes = list(lines.values("procedure_code").annotate(u=Sum("units")).order_by("-u", "procedure_code")[:top])
    codes = [row["procedure_code"] for row in top_codes]
    if reference_schedule is None:
        reference_schedule = default_reference_schedule(user=user, on=end)
    references: dict[str, Decimal] = {}
    if reference_schedule is not None:
        references = dict(ReferenceRate.objects.filter(schedule=reference_schedule, procedure_code__in=codes, modifiers="")
                          .values_list("procedure_code", "amount"))
    adjudicated = Q(claim__adjudicated_on__isnull=False)
    grouped = (lines.filter(procedure_code__in=codes).values("procedure_code", "claim__payer_id")
               .annotate(n=Count("id"),
                         allowed=Sum("allowed_amount", filter=adjudicated & Q(allowed_amount__gt=0)),
                         allowed_units=Sum("units", filter=adjudicated & Q(allowed_amount__gt=0)),
                         paid=Sum("paid_amount", filter=adjudicated & Q(allowed_amount__gt=0)),
                         adjudicated=Count("id", filter=adjudicated),
                         denied=Count("id", filter=adjudicated & Q(claim__status__in=DENIED)))
               .order_by())
    grouped = list(grouped)
    payers = {p.pk: p for p in Payer.objects.filter(organization=user.organization)}
    allowed_for = _contract_amounts({row["claim__payer_id"] for row in grouped}, codes, end)
    by_code: dict[str, list[PacketCell]] = defaultdict(list)
    per_payer: dict[int, dict] = defaultdict(lambda: {"lines": 0, "adjudicated": 0, "denied": 0, "ratios": []})
    for row in grouped:
        payer = payers[row["claim__payer_id"]]
        units = row["allowed_units"] or 0
        average_allowed = round_money(row["allowed"] / units) if units else None
        average_paid = round_money(row["paid"] / units) if units else None
        code = row["procedure_code"]
        cell = PacketCell(payer_id=payer.pk, payer_name=payer.name,
                          contract_allowed=allowed_for(payer.pk, code), lines=row["n"],
                          average_allowed=average_allowed, average_paid=average_paid, reference=references.get(code),
                          denial_rate=_percent(row["denied"], row["adjudicated"]))
        by_code[code].append(cell)
        totals = per_payer[payer.pk]
        totals["lines"] += row["n"]
        totals["adjudicated"] += row["adjudicated"]
        totals["denied"] += row["denied"]
        if cell.percent_of_reference is not None:
            totals["ratios"].append((cell.percent_of_reference, code))
    packet_codes = [PacketCode(procedure_code=row["procedure_code"], units=row["u"],
                               reference=references.get(row["procedure_code"]),
                               payers=sorted(by_code[row["procedure_code"]], key=lambda c: c.payer_name))
                    for row in top_codes]
    summaries = []
    for payer_id, totals in sorted(per_payer.items(), key=lambda item: payers[item[0]].name):
        ratios = sorted(totals["ratios"])
        average = (sum((r for r, _ in ratios), Decimal(0)) / len(ratios)).quantize(Decimal("0.1")) if ratios else None
        summaries.append(PayerSummary(payer_name=payers[payer_id].name, lines=totals["lines"],
                                      average_percent_of_reference=average,
                                      denial_rate=_percent(totals["denied"], totals["adjudicated"]),
                                      best_code=ratios[-1][1] if ratios else "", worst_code=ratios[0][1] if ratios else ""))
    return NegotiationPacket(start=start, end=end, reference_schedule=reference_schedule, codes=packet_codes,
                             summaries=summaries)
