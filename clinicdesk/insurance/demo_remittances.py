"""Demo remittances: when the demo practice has submitted claims, an 835 from their payer pays most of them (the
contractual write-off and a coinsurance for the patient) and names one claim the office does not know, so the
remittance list, a posted ERA and the exceptions queue all have something to show. Skipped without claims."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from .choices import ClaimStatus
from .models import Claim, Remittance
from .x12.records import Adjustment
from .x12.segments import Envelope
from .x12.x835 import ClaimPayment, ProviderAdjustment, RemitParty, ServiceLinePayment, write_835
from .x12.x835 import Remittance as Remit835

CENT = Decimal("0.01")


def _payment(claim: Claim, *, coinsurance: Decimal) -> ClaimPayment:
    svcs = []
    for n, line in enumerate(claim.lines.all()):
        allowed = (line.charge * Decimal("0.80")).quantize(CENT)
        pr = min(coinsurance, allowed) if n == 0 else Decimal("0")
        adjustments = [Adjustment("CO", "45", line.charge - allowed)] if line.charge != allowed else []
        if pr:
            adjustments.append(Adjustment("PR", "2", pr))
        svcs.append(ServiceLinePayment(procedure_code=line.procedure_code, charge=line.charge, paid=allowed - pr,
                                       modifiers=tuple(line.modifier_list), service_from=line.service_date,
                                       adjustments=adjustments, allowed=allowed))
    return ClaimPayment(claim_id=claim.claim_number, status="1", charge=sum((s.charge for s in svcs), Decimal("0")),
                        paid=sum((s.paid for s in svcs), Decimal("0")),
                        patient_responsibility=sum((a.amount for s in svcs for a in s.adjustments if a.group == "PR"),
                                                   Decimal("0")),
                        filing_indicator="12", payer_claim_control_number=f"DEMO{claim.pk:08d}",
                        patient_last_name=claim.patient.last_name.upper(),
                        patient_first_name=claim.patient.first_name.upper(), lines=svcs)


def seed(ctx, *, patients: int = 0, seed: int = 0, stdout=None) -> int:
    from .services.remittances import remittance_import

    org = ctx.organization
    if Remittance.objects.filter(organization=org).exists():
        return 0
    claims = list(Claim.objects.filter(organization=org, status__in=[ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED],
                                       lines__item__isnull=False).select_related("payer", "patient")
                  .prefetch_related("lines").distinct().order_by("id")[:12])
    if not claims:
        return 0
    payer = claims[0].payer
    chosen = [c for c in claims if c.payer_id == payer.pk][:8]
    payments = [_payment(c, coinsurance=Decimal("20.00") if n % 2 else Decimal("0")) for n, c in enumerate(chosen)]
    lost = _payment(chosen[0], coinsurance=Decimal("0"))
    lost.claim_id = "X" + lost.claim_id[1:]  # a claim number the office does not know: it waits in exceptions
    payments.append(lost)
    today = timezone.localdate()
    remit = Remit835(
        payment_amount=Decimal("0"), credit_debit="C", payment_method="CHK", payment_date=today - timedelta(days=1),
        trace_number=f"DEMO{today:%Y%m%d}", payer_trace_id="1" + payer.payer_identifier[:9].rjust(9, "0"),
        payer=RemitParty(payer.name, id=payer.payer_identifier, contact_phone="8005550100"),
        payee=RemitParty(org.name[:60], "XX", org.npi or "1234567893"), claims=payments,
        provider_adjustments=[ProviderAdjustment(provider_id=org.npi or "1234567893",
                                                 fiscal_period_end=today.replace(month=12, day=31), reason="L6",
                                                 amount=Decimal("-4.10"), reference="INTEREST")],
    )
    remit.payment_amount = remit.claims_paid - remit.provider_adjustment_total
    text = write_835([remit], envelope=Envelope(payer.payer_identifier[:15] or "PAYER", "CLINIC", 1, 1,
                                                datetime.combine(today, datetime.min.time())))
    actor = next(iter(getattr(ctx, "users", {}).values()), None)
    result = remittance_import(organization=org, content=text, file_name="demo-era.835", actor=actor)
    return sum(tr.claims_matched + tr.claims_exceptions for tr in result.transactions)
