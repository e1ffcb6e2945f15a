"""835 health care claim payment/advice (005010X221A1): read into remittances and write them back.

A remittance balances when BPR02 equals the claims' paid amounts (CLP04) less the provider-level adjustments (PLB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from clinicdesk.insurance.x12.codes import CLAIM_STATUS, describe
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

IMPLEMENTATION = "005010X221A1"
REVERSAL = "22"
FILING_INDICATORS = frozenset(
    ["12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ"]
)
ZERO = Decimal("0")
# CARCs that price a claim or share its cost with the patient rather than refuse it: deductible, coinsurance,
# copay, prior payer's adjudication, the fee schedule, blood deductible, sequestration.
PRICING_AND_COST_SHARE = frozenset({"1", "2", "3", "23", "45", "66", "253"})


@dataclass(slots=True)
class RemitParty:
    name: str
    id_qualifier: str = ""  # payer: XV/ PI...; payee: XX (NPI), FI (tax id)
    id: str = ""
    address: Address | None = None
    references: dict[str, str] = field(default_factory=dict)  # payee REF qualifier -> value (TJ tax id, PQ ...)
    contact_phone: str = ""  # the payer's technical contact (PER*BL)


@dataclass(slots=True)
class ServiceLinePayment:
    procedure_code: str
    charge: Decimal
    paid: Decimal
    code_qualifier: str = "HC"
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal("1")
    revenue_code: str = ""  # SVC04 (institutional)
    submitted_code: str = ""  # SVC06 when the payer paid a different code than the one billed
    service_from: date | None = None
    service_to: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    remark_codes: list[str] = field(default_factory=list)  # LQ*HE: RARC
    line_control_number: str = ""  # REF*6R, the line item control number sent on the claim
    allowed: Decimal | None = None  # AMT*B6


@dataclass(slots=True)
class ClaimPayment:
    claim_id: str  # CLP01, the provider's claim id
    status: str  # CLP02
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal = ZERO
    filing_indicator: str = ""  # CLP06: 12 PPO, MC Medicaid, MB Medicare B, CI commercial ...
    payer_claim_control_number: str = ""  # CLP07
    facility_type: str = ""  # CLP08, place of service for professional claims
    frequency: str = ""  # CLP09
    patient_last_name: str = ""
    patient_first_name: str = ""
    patient_id: str = ""
    insured_last_name: str = ""
    insured_first_name: str = ""
    insured_id: str = ""
    rendering_npi: str = ""
    statement_from: date | None = None  # DTM*232
    statement_to: date | None = None  # DTM*233
    received: date | None = None  # DTM*050
    adjustments: list[Adjustment] = field(default_factory=list)
    lines: list[ServiceLinePayment] = field(default_factory=list)
    remark_codes: list[str] = field(default_factory=list)  # MOA/MIA remark codes

    @property
    def status_name(self) -> str:
        return describe(CLAIM_STATUS, self.status)

    @property
    def is_reversal(self) -> bool:
        return self.status == REVERSAL

    @property
    def is_denied(self) -> bool:
        return self.status == "4"

    @property
    def is_full_denial(self) -> bool:
        """Nothing paid because the payer refused the claim: CLP02 4, or zero paid with a reason other than the
        contract's price and the patient's share (deductible, coinsurance, copay). A claim paid nothing because
        it all went to the deductible is not a denial."""
        if self.paid != 0 or self.is_reversal:
            return False
        if self.is_denied:
            return True
        return any(a.amount and a.reason not in PRICING_AND_COST_SHARE
                   for a in [*self.adjustments, *(a for line in self.lines for a in line.adjustments)])


@dataclass(slots=True)
class ProviderAdjustment:
    """One PLB adjustment: a reason (WO overpayment recovery, L6 interest, FB forwarding balance ...) and amount.

    A positive amount reduces the payment, a negative one adds to it.
    """

    provider_id: str
    fiscal_period_end: date
    reason: str
    amount: Decimal
    reference: str = ""


@dataclass(frozen=True, slots=True)
class BankAccounts:
    """The BPR's electronic funds transfer details: the payer's and the payee's bank and account."""

    sender_routing: str
    sender_account: str
    originator_id: str  # BPR10, the payer's company id
    receiver_routing: str
    receiver_account: str


@dataclass(slots=True)
class Remittance:
    payment_amount: Decimal  # BPR02
    credit_debit: str  # BPR03: C credit, D debit
    payment_method: str  # BPR04: ACH, CHK, NON, FWT, BOP
    payment_date: date | None  # BPR16
    trace_number: str  # TRN02: the check or EFT number
    payer: RemitParty
    payee: RemitParty
    transaction_handling: str = "I"  # BPR01: I remittance with payment, H advice only
    payer_trace_id: str = ""  # TRN03
    production_date: date | None = None  # DTM*405
    claims: list[ClaimPayment] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    control_number: str = ""
    bank: BankAccounts | None = None

    @property
    def claims_paid(self) -> Decimal:
        return sum((claim.paid for claim in self.claims), ZERO)

    @property
    def provider_adjustment_total(self) -> Decimal:
        return sum((adjustment.amount for adjustment in self.provider_adjustments), ZERO)

    @property
    def imbalance(self) -> Decimal:
        """BPR02 less (claims paid less provider adjustments); zero when the remittance balances."""
        return self.payment_amount - (self.claims_paid - self.provider_adjustment_total)

    @property
    def balanced(self) -> bool:
        return self.imbalance == 0


# ---------------------------------------------------------------------------------------------------- reading


def _svc_code(segment: Segment, position: int) -> tuple[str, str, tuple[str, ...]]:
    parts = segment.components(position)
    if len(parts) < 2:
        raise segment.error(f"{segment.name(position)} '{segment.get(position)}' needs a qualifier and a code")
    return parts[0], parts[1], tuple(part for part in parts[2:6] if part)


def _read_transaction(segments: list[Segment], control_number: str) -> Remittance:
    if not segments or segments[0].id != "BPR":
        where = segments[0] if segments else None
        raise (where.error("an 835 starts with BPR") if where else X12Error("an 835 starts with BPR"))
    bpr = segments[0]
    remittance = Remittance(
        payment_amount=bpr.amount(2, required=True), credit_debit=bpr.get(3), payment_method=bpr.get(4),
        payment_date=bpr.date(16), trace_number="", payer=RemitParty(""), payee=RemitParty(""),
        transaction_handling=bpr.get(1), control_number=control_number,
        bank=BankAccounts(bpr.get(7), bpr.get(9), bpr.get(10), bpr.get(13), bpr.get(15)) if bpr.get(7) else None,
    )
    party: RemitParty | None = None
    n3: Segment | None = None
    claim: ClaimPayment | None = None
    line: ServiceLinePayment | None = None
    for segment in segments[1:]:
        sid = segment.id
        if sid == "TRN":
            remittance.trace_number = segment.get(2)
            remittance.payer_trace_id = segment.get(3)
        elif sid == "DTM" and claim is None:
            if segment.get(1) == "405":
                remittance.production_date = segment.date(2, required=True)
        elif sid == "N1":
            party = RemitParty(segment.get(2), segment.get(3), segment.get(4))
            if segment.get(1) == "PR":
                remittance.payer = party
            elif segment.get(1) == "PE":
                remittance.payee = party
            else:
                raise segment.error(f"N101 '{segment.get(1)}' is not PR (payer) or PE (payee)")
        elif sid == "N3" and party is not None and claim is None:
            n3 = segment
        elif sid == "N4" and party is not None and claim is None:
            party.address = read_n4(segment, n3)
            n3 = None
        elif sid == "REF" and claim is None and party is not None:
            if party is remittance.payer and segment.get(1) == "2U" and not party.id:
                party.id = segment.get(2)
            elif party is not remittance.payer:
                party.references[segment.get(1)] = segment.get(2)
        elif sid == "PER" and claim is None and party is not None and segment.get(1) == "BL":
            numbers = {segment.get(p): segment.get(p + 1) for p in (3, 5, 7) if segment.get(p)}
            party.contact_phone = numbers.get("TE", "")
        elif sid == "CLP":
            line = None
            status = segment.get(2)
            if status not in CLAIM_STATUS:
                raise segment.error(f"CLP02 '{status}' is not a claim status")
            claim = ClaimPayment(
                claim_id=segment.get(1), status=status, charge=segment.amount(3, required=True),
                paid=segment.amount(4, required=True), patient_responsibility=segment.amount(5) or ZERO,
                filing_indicator=segment.get(6), payer_claim_control_number=segment.get(7),
                facility_type=segment.get(8), frequency=segment.get(9),
            )
            remittance.claims.append(claim)
        elif sid == "CAS":
            if claim is None:
                raise segment.error("CAS outside a claim (CLP)")
            (line.adjustments if line is not None else claim.adjustments).extend(read_cas(segment))
        elif sid == "NM1" and claim is not None and line is None:
            entity = segment.get(1)
            if entity == "QC":
                claim.patient_last_name, claim.patient_first_name = segment.get(3), segment.get(4)
                claim.patient_id = segment.get(9)
            elif entity == "IL":
                claim.insured_last_name, claim.insured_first_name = segment.get(3), segment.get(4)
                claim.insured_id = segment.get(9)
            elif entity == "82" and segment.get(8) == "XX":
                claim.rendering_npi = segment.get(9)
        elif sid in ("MOA", "MIA") and claim is not None:
            # remark codes sit in MOA03-MOA07, and in MIA05 and MIA20-MIA23 between the inpatient amounts
            positions = range(3, 8) if sid == "MOA" else (5, 20, 21, 22, 23)
            claim.remark_codes += [segment.get(p) for p in positions if segment.get(p)]
        elif sid == "DTM" and claim is not None:
            qualifier = segment.get(1)
            if line is not None:
                if qualifier in ("472", "150"):
                    line.service_from = segment.date(2, required=True)
                    if qualifier == "472":
                        line.service_to = line.service_from
                elif qualifier == "151":
                    line.service_to = segment.date(2, required=True)
            elif qualifier == "232":
                claim.statement_from = segment.date(2, required=True)
            elif qualifier == "233":
                claim.statement_to = segment.date(2, required=True)
            elif qualifier == "050":
                claim.received = segment.date(2, required=True)
            else:
                segment.date(2)
        elif sid == "SVC":
            if claim is None:
                raise segment.error("SVC outside a claim (CLP)")
            qualifier, code, modifiers = _svc_code(segment, 1)
            submitted = segment.components(6)
            line = ServiceLinePayment(
                procedure_code=code, code_qualifier=qualifier, modifiers=modifiers,
                charge=segment.amount(2, required=True), paid=segment.amount(3, required=True),
                revenue_code=segment.get(4), units=segment.amount(5) or Decimal("1"),
                submitted_code=submitted[1] if len(submitted) > 1 else "",
            )
            claim.lines.append(line)
        elif sid == "LQ" and line is not None:
            if segment.get(1) == "HE":
                line.remark_codes.append(segment.get(2))
        elif sid == "REF" and line is not None:
            if segment.get(1) == "6R":
                line.line_control_number = segment.get(2)
        elif sid == "AMT" and line is not None:
            if segment.get(1) == "B6":
                line.allowed = segment.amount(2, required=True)
        elif sid == "PLB":
            line = None
            claim = None
            fiscal = segment.date(2, required=True)
            for position in range(3, 15, 2):
                if not segment.get(position):
                    continue
                parts = segment.components(position)
                remittance.provider_adjustments.append(ProviderAdjustment(
                    provider_id=segment.get(1), fiscal_period_end=fiscal, reason=parts[0],
                    reference=parts[1] if len(parts) > 1 else "", amount=segment.amount(position + 1, required=True),
                ))
        elif sid == "LX":
            claim = None
            line = None
        # other segments (TS3, TS2, PER, RDM, CUR, QTY, AMT on claims ...) carry nothing the office posts
    return remittance


def read_835(text: str) -> list[Remittance]:
    """Every remittance (one per ST/SE) of an 835 interchange."""
    return [
        _read_transaction(transaction.segments, transaction.control_number)
        for _, _, transaction in only_transactions(text, "835")
    ]


# ---------------------------------------------------------------------------------------------------- writing


def _write_remittance(tx: TransactionWriter, remittance: Remittance) -> None:
    payment_date = remittance.payment_date or remittance.production_date
    if payment_date is None:
        raise X12Error("an 835 needs a payment date (BPR16)")
    method = remittance.payment_method
    if method in ("ACH", "FWT", "BOP"):
        bank = remittance.bank
        if bank is None:
            raise X12Error(f"an {method} payment needs the bank accounts (BPR06-BPR15)")
        tx.add("BPR", remittance.transaction_handling, money(remittance.payment_amount), remittance.credit_debit,
               method, "CCP" if method == "ACH" else None, "01", bank.sender_routing, "DA", bank.sender_account,
               bank.originator_id, None, "01", bank.receiver_routing, "DA", bank.receiver_account, d8(payment_date))
    else:
        tx.add("BPR", remittance.transaction_handling, money(remittance.payment_amount), remittance.credit_debit,
               method, *[None] * 11, d8(payment_date))
    if not remittance.trace_number or not remittance.payer_trace_id:
        raise X12Error("an 835 needs the trace number and the payer's id (TRN02, TRN03)")
    tx.add("TRN", "1", remittance.trace_number, remittance.payer_trace_id)
    if remittance.production_date:
        tx.add("DTM", "405", d8(remittance.production_date))
    payer = remittance.payer
    tx.add("N1", "PR", payer.name)
    if payer.address:
        write_address(tx, payer.address)
    if payer.id:
        tx.add("REF", "2U", payer.id)
    if not payer.contact_phone:
        raise X12Error("an 835 needs the payer's technical contact phone (PER*BL)")
    tx.add("PER", "BL", "CLAIMS", "TE", payer.contact_phone)
    payee = remittance.payee
    tx.add("N1", "PE", payee.name, payee.id_qualifier or "XX", payee.id)
    if payee.address:
        write_address(tx, payee.address)
    for qualifier, value in payee.references.items():
        tx.add("REF", qualifier, value)
    if remittance.claims:
        tx.add("LX", "1")
    for claim in remittance.claims:
        if claim.filing_indicator not in FILING_INDICATORS:
            raise X12Error(f"claim {claim.claim_id}: CLP06 '{claim.filing_indicator}' is not a claim filing indicator")
        if any(adjustment.group == "CR" for line in claim.lines for adjustment in line.adjustments) or any(
            adjustment.group == "CR" for adjustment in claim.adjustments
        ):
            raise X12Error(f"claim {claim.claim_id}: group CR is not used in 5010; a reversal is CLP02=22")
        tx.add("CLP", claim.claim_id, claim.status, money(claim.charge), money(claim.paid),
               money(claim.patient_responsibility) if claim.patient_responsibility else None,
               claim.filing_indicator, claim.payer_claim_control_number, claim.facility_type or "11",
               claim.frequency or "1")
        write_cas(tx, claim.adjustments)
        tx.add("NM1", "QC", "1", claim.patient_last_name, claim.patient_first_name, None, None, None,
               "MI" if claim.patient_id else None, claim.patient_id or None)
        if claim.insured_id and claim.insured_id != claim.patient_id:
            tx.add("NM1", "IL", "1", claim.insured_last_name, claim.insured_first_name, None, None, None, "MI",
                   claim.insured_id)
        if claim.rendering_npi:
            tx.add("NM1", "82", "1", None, None, None, None, None, "XX", claim.rendering_npi)
        if claim.remark_codes:
            tx.add("MOA", None, None, *claim.remark_codes[:5])
        if claim.statement_from:
            tx.add("DTM", "232", d8(claim.statement_from))
        if claim.statement_to:
            tx.add("DTM", "233", d8(claim.statement_to))
        if claim.received:
            tx.add("DTM", "050", d8(claim.received))
        for line in claim.lines:
            code = Composite((line.code_qualifier, line.procedure_code, *line.modifiers))
            submitted = Composite((line.code_qualifier, line.submitted_code)) if line.submitted_code else None
            tx.add("SVC", code, money(line.charge), money(line.paid), line.revenue_code or None,
                   number(line.units) if line.units != 1 else None, submitted)
            if line.service_from:
                if line.service_to and line.service_to != line.service_from:
                    tx.add("DTM", "150", d8(line.service_from))
                    tx.add("DTM", "151", d8(line.service_to))
                else:
                    tx.add("DTM", "472", d8(line.service_from))
            write_cas(tx, line.adjustments)
            if line.line_control_number:
                tx.add("REF", "6R", line.line_control_number)
            if line.allowed is not None:
                tx.add("AMT", "B6", money(line.allowed))
            for remark in line.remark_codes:
                tx.add("LQ", "HE", remark)
    by_provider: dict[tuple[str, date], list[ProviderAdjustment]] = {}
    for adjustment in remittance.provider_adjustments:
        by_provider.setdefault((adjustment.provider_id, adjustment.fiscal_period_end), []).append(adjustment)
    for (provider_id, fiscal), items in by_provider.items():
        for start in range(0, len(items), 6):
            pairs: list = []
            for item in items[start:start + 6]:
                pairs += [Composite((item.reason, item.reference)), money(item.amount)]
            tx.add("PLB", provider_id, d8(fiscal), *pairs)


def write_835(remittances: list[Remittance], *, envelope: Envelope) -> str:
    """An 835 interchange, one transaction per remittance."""
    writer = InterchangeWriter(envelope, functional_id="HP", version=IMPLEMENTATION)
    for remittance in remittances:
        tx = writer.transaction("835", implementation="")
        _write_remittance(tx, remittance)
    return writer.render()
