"""Submitted claims with their lines and insurance open items (charges posted), and 835s that pay them: for the
remittance tests and the 835 posting benchmark. Written with bulk inserts so thousands of claims are quick."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal

from clinicdesk.billing.models import Encounter, ServiceLine
from clinicdesk.core.models import Location
from clinicdesk.insurance.choices import ClaimStatus
from clinicdesk.insurance.models import Claim, ClaimLine, Coverage, Payer
from clinicdesk.insurance.x12.records import Adjustment
from clinicdesk.insurance.x12.segments import Envelope
from clinicdesk.insurance.x12.x835 import ClaimPayment, ProviderAdjustment, RemitParty, ServiceLinePayment
from clinicdesk.insurance.x12.x835 import Remittance as Remit835
from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import OpenItem
from clinicdesk.ledger.services import EntrySpec, LineSpec, entries_post, open_items_create

DAY = date(2026, 11, 2)
# (code, modifiers, charge) of each claim's lines
LINES = (("99213", "", Decimal("120.00")), ("36415", "", Decimal("20.00")))


def payer_for(org, *, name="Acme Health", identifier="ACME01") -> Payer:
    return Payer.objects.create(organization=org, name=name, payer_identifier=identifier)


def claims_build(org, *, payer: Payer, provider, patients, count: int, prefix: str = "CL",
                 lines=LINES) -> list[Claim]:
    """`count` submitted claims spread over `patients`, each with `lines`, their charges posted to insurance items."""
    location = Location.objects.filter(organization=org).first() or Location.objects.create(
        organization=org, name="Main office", code=f"rm{org.pk}", time_zone="America/New_York")
    coverages = {}
    for patient in patients:
        coverages[patient.pk] = Coverage.objects.filter(patient=patient, payer=payer).first() or Coverage.objects.create(
            organization=org, patient=patient, payer=payer, relationship="18", subscriber_first_name=patient.first_name,
            subscriber_last_name=patient.last_name, member_id=f"M{patient.pk:08d}")
    chosen = [patients[n % len(patients)] for n in range(count)]
    encounters = Encounter.objects.bulk_create([
        Encounter(organization=org, patient=p, provider=provider, location=location, service_date=DAY) for p in chosen
    ], batch_size=2000)
    services = ServiceLine.objects.bulk_create([
        ServiceLine(encounter=e, sequence=s, procedure_code=code, modifiers=mods, description=f"Service {code}",
                    units=1, unit_price=charge, amount=charge, diagnosis_pointers="1")
        for e in encounters for s, (code, mods, charge) in enumerate(lines, 1)
    ], batch_size=2000)
    items = open_items_create(organization=org, items=[
        OpenItem(patient_id=sl.encounter.patient_id, party_kind=PartyKind.INSURANCE, party_label=payer.name,
                 service_date=DAY, description=sl.description) for sl in services])
    entries_post(organization=org, entries=[
        EntrySpec(entry_date=DAY, kind=EntryKind.CHARGE, memo="Charges", lines=[
            LineSpec(account=item.account, amount=sl.amount, item=item),
            LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-sl.amount, patient=item.patient_id)])
        for sl, item in zip(services, items, strict=True)])
    total = sum((charge for _, _, charge in lines), Decimal("0"))
    start = Claim.objects.filter(organization=org).count()
    claims = Claim.objects.bulk_create([
        Claim(organization=org, claim_number=f"{prefix}{start + n + 1:07d}", encounter=e, patient_id=e.patient_id,
              coverage=coverages[e.patient_id], payer=payer, status=ClaimStatus.SUBMITTED, place_of_service="11",
              service_from=DAY, service_to=DAY, diagnosis_codes=["J06.9"], rendering_provider=provider,
              total_charge=total)
        for n, e in enumerate(encounters)], batch_size=2000)
    per = len(lines)
    ClaimLine.objects.bulk_create([
        ClaimLine(claim=claim, sequence=s + 1, service_line=services[n * per + s], item=items[n * per + s],
                  service_date=DAY, procedure_code=lines[s][0], modifiers=lines[s][1], charge=lines[s][2],
                  diagnosis_pointers="1")
        for n, claim in enumerate(claims) for s in range(per)], batch_size=2000)
    return claims


def payment_for(claim: Claim, *, paid_share=Decimal("0.70"), patient_share=Decimal("20.00"), status="1",
                lines=LINES) -> ClaimPayment:
    """A claim payment: each line allowed at 90% of its charge (CO-45 the rest); the first line carries a PR-2
    coinsurance of `patient_share`; the payer pays the rest of the allowed."""
    svcs = []
    paid_total = Decimal("0")
    pr_total = Decimal("0")
    for n, (code, mods, charge) in enumerate(lines):
        allowed = (charge * Decimal("0.90")).quantize(Decimal("0.01"))
        pr = patient_share if n == 0 else Decimal("0")
        paid = allowed - pr
        adjustments = [Adjustment("CO", "45", charge - allowed)]
        if pr:
            adjustments.append(Adjustment("PR", "2", pr))
        svcs.append(ServiceLinePayment(procedure_code=code, charge=charge, paid=paid, modifiers=tuple(m for m in mods.split(",") if m),
                                       service_from=DAY, adjustments=adjustments, allowed=allowed))
        paid_total += paid
        pr_total += pr
    return ClaimPayment(claim_id=claim.claim_number, status=status, charge=sum((c for *_, c in lines), Decimal("0")),
                        paid=paid_total, patient_responsibility=pr_total, filing_indicator="12",
                        payer_claim_control_number=f"ICN{claim.pk}", patient_last_name="DOE", patient_first_name="J",
                        lines=svcs)


def remit_835(payments, *, payer: Payer, trace="CHK1001", method="CHK", plb=()) -> Remit835:
    remit = Remit835(
        payment_amount=Decimal("0"), credit_debit="C", payment_method=method, payment_date=date(2026, 11, 20),
        trace_number=trace, payer_trace_id="1" + payer.payer_identifier[:9].rjust(9, "0"),
        payer=RemitParty(payer.name, id=payer.payer_identifier, contact_phone="8005551212"),
        payee=RemitParty("Clinic", "XX", "1234567893"), claims=list(payments),
        provider_adjustments=[ProviderAdjustment(provider_id="1234567893", fiscal_period_end=date(2026, 12, 31),
                                                 reason=reason, amount=Decimal(amount), reference=ref)
                              for reason, ref, amount in plb],
    )
    remit.payment_amount = remit.claims_paid - remit.provider_adjustment_total
    return remit


def envelope(control: int = 1) -> Envelope:
    return Envelope(sender_id="ACMEHEALTH", receiver_id="CLINIC1", interchange_control_number=control,
                    group_control_number=control, created=datetime(2026, 11, 20, 9, 30))


def world_build(org, make_user, *, patients: int = 1, count: int = 1):
    """A biller, a payer and `count` submitted claims over `patients` patients: what most remittance tests start from."""
    from clinicdesk.core.choices import Role
    from clinicdesk.patients.tests.factories import PatientFactory

    biller = make_user(Role.BILLER)
    payer = payer_for(org)
    claims = claims_build(org, payer=payer, provider=make_user(Role.CLINICIAN),
                          patients=[PatientFactory(organization=org) for _ in range(patients)], count=count)
    return dataclasses.make_dataclass("World", ["org", "biller", "payer", "claims"])(org, biller, payer, claims)
