"""Reads of payer contracts: reference schedules and contracts of the user's practice, the underpayments list,
and the patient's cost estimate before a visit (from the primary coverage's contract and latest eligibility)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from clinicdesk.core.money import format_money, round_money

from ..choices import CoverageRank, EligibilityStatus
from ..models import (
    ClaimLine,
    ContractRate,
    Coverage,
    EligibilityCheck,
    Payer,
    PayerContract,
    ReferenceRate,
    ReferenceSchedule,
)
from ..services.contracts import contract_allowed

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def payer_list(*, user) -> QuerySet[Payer]:
    return Payer.objects.filter(organization=user.organization).order_by("name")


def reference_schedule_list(*, user) -> QuerySet[ReferenceSchedule]:
    return (ReferenceSchedule.objects.filter(organization=user.organization)
            .annotate(rate_count=Count("rates")).order_by("-effective_from", "name"))


def reference_schedule_get(*, user, schedule_id: int) -> ReferenceSchedule:
    return get_object_or_404(ReferenceSchedule, pk=schedule_id, organization=user.organization)


def reference_rates(*, user, schedule: ReferenceSchedule, query: str = "") -> QuerySet[ReferenceRate]:
    rates = ReferenceRate.objects.filter(schedule=schedule, schedule__organization=user.organization)
    if query:
        rates = rates.filter(procedure_code__istartswith=query.strip())
    return rates.order_by("procedure_code", "modifiers")


def contract_list(*, user, payer_id: int | None = None) -> QuerySet[PayerContract]:
    contracts = (PayerContract.objects.filter(organization=user.organization)
                 .select_related("payer", "reference_schedule").annotate(rate_count=Count("rates")))
    if payer_id:
        contracts = contracts.filter(payer_id=payer_id)
    return contracts.order_by("payer__name", "-effective_from")


def contract_get(*, user, contract_id: int) -> PayerContract:
    return get_object_or_404(PayerContract.objects.select_related("payer", "reference_schedule"),
                             pk=contract_id, organization=user.organization)


def contract_rates(*, user, contract: PayerContract, query: str = "") -> QuerySet[ContractRate]:
    rates = ContractRate.objects.filter(contract=contract, contract__organization=user.organization)
    if query:
        rates = rates.filter(procedure_code__istartswith=query.strip())
    return rates.order_by("procedure_code", "modifiers")


def underpayment_list(*, user, payer_id: int | None = None, start: date | None = None,
                      end: date | None = None) -> QuerySet[ClaimLine]:
    """Claim lines the payer allowed less than its contract, newest service first."""
    lines = (ClaimLine.objects.filter(claim__organization=user.organization, underpaid_amount__gt=0)
             .select_related("claim__payer", "claim__patient"))
    if payer_id:
        lines = lines.filter(claim__payer_id=payer_id)
    if start:
        lines = lines.filter(service_date__gte=start)
    if end:
        lines = lines.filter(service_date__lte=end)
    return lines.order_by("claim__payer__name", "-service_date", "claim__claim_number", "sequence")


# --- cost estimate -----------------------------------------------------------------------------------------


@dataclass
class EstimateLine:
    procedure_code: str
    allowed: Decimal | None
    deductible: Decimal = ZERO
    coinsurance: Decimal = ZERO
    copay: Decimal = ZERO
    insurance_pays: Decimal = ZERO

    @property
    def patient_pays(self) -> Decimal:
        return self.deductible + self.coinsurance + self.copay


@dataclass
class CostEstimate:
    """What a visit is likely to cost the patient, line by line, with every assumption it rests on."""

    patient: object
    on: date
    coverage: Coverage | None
    lines: list[EstimateLine] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    copay: Decimal = ZERO
    coinsurance_percent: Decimal = ZERO
    deductible_remaining: Decimal = ZERO

    @property
    def allowed_total(self) -> Decimal:
        return sum((line.allowed for line in self.lines if line.allowed is not None), ZERO)

    @property
    def insurance_total(self) -> Decimal:
        return sum((line.insurance_pays for line in self.lines), ZERO)

    @property
    def patient_total(self) -> Decimal:
        return sum((line.patient_pays for line in self.lines), ZERO)


def estimate_shares(allowed: list[Decimal], *, copay: Decimal, coinsurance_percent: Decimal,
                    deductible_remaining: Decimal) -> list[tuple[Decimal, Decimal, Decimal, Decimal]]:
    """Split each line's allowed amount into (deductible, coinsurance, copay, insurance): the deductible first,
    then the coinsurance on what is left, then the visit's copay (once per visit, from the lines in order).
    Each line's four parts add up to its allowed amount and none is negative."""
    percent = min(max(coinsurance_percent, ZERO), HUNDRED)
    deductible_left = max(deductible_remaining, ZERO)
    copay_left = max(copay, ZERO)
    shares = []
    for amount in allowed:
        left = max(amount, ZERO)
        deductible = min(left, deductible_left)
        deductible_left -= deductible
        left -= deductible
        coinsurance = min(round_money(left * percent / HUNDRED), left)
        left -= coinsurance
        copay_part = min(left, copay_left)
        copay_left -= copay_part
        left -= copay_part
        shares.append((deductible, coinsurance, copay_part, left))
    return shares


def _primary_coverage(patient, on: date) -> Coverage | None:
    for coverage in (Coverage.objects.filter(patient=patient, is_active=True, rank=CoverageRank.PRIMARY)
                     .select_related("payer", "plan")):
        if coverage.covers(on):
            return coverage
    return None


def cost_estimate(patient, procedure_codes: list[str], on: date) -> CostEstimate:
    """The patient's likely share of a visit on `on`: each code's contract allowed amount for the primary payer,
    split by the latest active eligibility answer (copay, coinsurance, deductible remaining), or the coverage's
    own numbers when no answer came back."""
    coverage = _primary_coverage(patient, on)
    estimate = CostEstimate(patient=patient, on=on, coverage=coverage)
    codes = [c.strip().upper() for c in procedure_codes if c and c.strip()]
    if coverage is None:
        estimate.lines = [EstimateLine(procedure_code=code, allowed=None) for code in codes]
        estimate.assumptions.append(f"No primary coverage in force on {on:%m/%d/%Y}: the visit is self-pay; "
                                    "ask the front desk for the office's prices.")
        return estimate
    check = (EligibilityCheck.objects.filter(coverage=coverage, status=EligibilityStatus.ACTIVE)
             .order_by("-requested_at", "-id").first())
    plan = coverage.plan

    def pick(answer, own, default, label: str) -> Decimal:
        if check is not None and answer is not None:
            return answer
        if own is not None:
            estimate.assumptions.append(f"{label} {'from the card on file' if check is None else 'not in the eligibility answer; from the card on file'}.")
            return own
        if default is not None:
            estimate.assumptions.append(f"{label} from the plan's usual terms.")
            return default
        estimate.assumptions.append(f"{label} unknown: counted as none.")
        return ZERO

    estimate.copay = pick(check.copay if check else None, coverage.copay, plan.default_copay if plan else None, "Copay")
    estimate.coinsurance_percent = pick(check.coinsurance_percent if check else None, coverage.coinsurance_percent,
                                        plan.default_coinsurance_percent if plan else None, "Coinsurance")
    if check is not None and check.deductible_remaining is not None:
        estimate.deductible_remaining = check.deductible_remaining
    else:
        estimate.deductible_remaining = pick(None, coverage.deductible, plan.default_deductible if plan else None,
                                             "Deductible remaining")
        if estimate.deductible_remaining:
            estimate.assumptions.append("The whole yearly deductible is assumed still to be met.")
    if check is not None:
        answered = check.answered_at or check.requested_at
        estimate.assumptions.insert(0, f"Benefits from the eligibility answer of {answered:%m/%d/%Y} ({coverage.payer.name}).")
    amounts = []
    for code in codes:
        allowed = contract_allowed(coverage.payer, code, "", on)
        if allowed is None:
            estimate.assumptions.append(f"{code}: no contract amount with {coverage.payer.name}; not included.")
        estimate.lines.append(EstimateLine(procedure_code=code, allowed=allowed))
        amounts.append(allowed)
    priced = [line for line in estimate.lines if line.allowed is not None]
    shares = estimate_shares([line.allowed for line in priced], copay=estimate.copay,
                             coinsurance_percent=estimate.coinsurance_percent,
                             deductible_remaining=estimate.deductible_remaining)
    for line, (deductible, coinsurance, copay, insurance) in zip(priced, shares, strict=True):
        line.deductible, line.coinsurance, line.copay, line.insurance_pays = deductible, coinsurance, copay, insurance
    estimate.assumptions.append(
        f"Copay {format_money(estimate.copay)} once per visit, coinsurance {estimate.coinsurance_percent.normalize():f}% "
        f"after a deductible of {format_money(estimate.deductible_remaining)} still to meet. "
        "An estimate, not a guarantee: the payer decides when it receives the claim.")
    return estimate


def patient_by_mrn(*, user, mrn: str):
    """The practice's patient with this MRN (or public id), or None."""
    from clinicdesk.patients.models import Patient

    mrn = (mrn or "").strip()
    if not mrn:
        return None
    return (Patient.objects.filter(organization=user.organization).filter(Q(mrn=mrn) | Q(public_id=mrn))
            .order_by("pk").first())
