"""The demo practice's payers and coverages: the local test clearinghouse, a Medicare Part B carrier, a Medicaid
program, two commercial plans (PPO, HMO), a paper-only payer, coverages for most patients (some with a secondary,
children on a parent's plan) and a few prior authorisations. Idempotent: a second run adds nothing."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from .choices import (
    ClaimFilingIndicator,
    ClearinghouseKind,
    CoverageRank,
    PayerRuleKind,
    ScrubSeverity,
    SubscriberRelationship,
)
from .models import Clearinghouse, Coverage, InsurancePlan, Payer, PayerRule, PriorAuthorization
from .services.coverage import subscriber_from_patient

D = Decimal
# (payer ID, name, filing indicator, address, phone, electronic, timely filing days, plans)
PAYERS = [
    ("12202", "Medicare Part B (Novitas, JL)", ClaimFilingIndicator.MEDICARE_B,
     ("PO Box 3395", "Mechanicsburg", "PA", "17055"), "8772356551", True, 365,
     [("Original Medicare Part B", None, D("20"), D("257.00"))]),
    ("NYMCD", "New York State Medicaid (eMedNY)", ClaimFilingIndicator.MEDICAID,
     ("PO Box 4601", "Rensselaer", "NY", "12144"), "8003439000", True, 90,
     [("Medicaid Fee-for-Service", D("0.00"), None, None)]),
    ("60054", "Hudson Valley Health PPO", ClaimFilingIndicator.PPO,
     ("PO Box 981106", "El Paso", "TX", "79998"), "8008722273", True, 180,
     [("Choice PPO", D("25.00"), D("20"), D("1500.00")), ("Open Access PPO Gold", D("20.00"), D("10"), D("750.00"))]),
    ("87726", "Empire Shield HMO", ClaimFilingIndicator.HMO,
     ("PO Box 30555", "Salt Lake City", "UT", "84130"), "8777424722", True, 90,
     [("Select HMO", D("30.00"), D("0"), D("500.00")), ("Bronze HMO HSA", D("40.00"), D("30"), D("6000.00"))]),
    ("RSLMUT", "Riverside Mutual Benefit Society", ClaimFilingIndicator.COMMERCIAL,
     ("112 Water Street", "Poughkeepsie", "NY", "12601"), "8454710200", False, 365,
     [("Indemnity Plan", D("15.00"), D("20"), D("1000.00"))]),
]


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def seed_coverage(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add the payers, plans, coverages and authorisations; returns the rows added (0 on a second run)."""
    from clinicdesk.patients.models import Patient

    org = ctx.organization
    if Payer.objects.filter(organization=org).exists():
        return 0
    rng = random.Random(seed + 6)  # noqa: S311  (demo data, not security)
    today = timezone.localdate()
    added = 0
    with transaction.atomic():
        house = Clearinghouse.objects.create(organization=org, name="Riverside test clearinghouse",
                                             kind=ClearinghouseKind.LOCAL, submitter_id="RFM0001", receiver_id="LOCALCH")
        added += 1
        plans: dict[str, list[InsurancePlan]] = {}
        payers: dict[str, Payer] = {}
        for ident, name, indicator, (line1, city, state, postal), phone, electronic, days, plan_rows in PAYERS:
            payer = Payer.objects.create(organization=org, name=name, payer_identifier=ident,
                                         claim_filing_indicator=indicator, address_line1=line1, city=city, state=state,
                                         postal_code=postal, phone=phone, clearinghouse=house if electronic else None,
                                         timely_filing_days=days)
            payers[ident] = payer
            plans[ident] = [InsurancePlan.objects.create(payer=payer, name=n, default_copay=copay,
                                                         default_coinsurance_percent=coins, default_deductible=ded)
                            for n, copay, coins, ded in plan_rows]
            added += 1 + len(plan_rows)
        PayerRule.objects.create(organization=org, payer=payers["87726"], kind=PayerRuleKind.REQUIRE_AUTH,
                                 codes="G0108,G0109", values="Group diabetes class", severity=ScrubSeverity.ERROR,
                                 message="Empire Shield needs a prior authorisation for diabetes self-management training.")
        added += 1
        chosen = list(Patient.objects.filter(organization=org, merged_into__isnull=True).order_by("id")[:max(patients, 0)])
        adults = [p for p in chosen if _age(p.date_of_birth, today) >= 26]
        coverages = []
        for i, patient in enumerate(chosen):
            if rng.random() < 0.12:  # self-pay
                continue
            age = _age(patient.date_of_birth, today)
            start = date(today.year - rng.randint(0, 3), 1, 1)
            relationship, subscriber = SubscriberRelationship.SELF, subscriber_from_patient(patient)
            if age >= 65:
                ident = "12202"
            elif age < 19 and adults:
                ident = rng.choice(["NYMCD", "60054", "87726"])
                if ident != "NYMCD":
                    parent = adults[i % len(adults)]
                    relationship = SubscriberRelationship.CHILD
                    subscriber = subscriber_from_patient(parent)
                    subscriber["subscriber_last_name"] = patient.last_name
            else:
                ident = rng.choices(["60054", "87726", "NYMCD", "RSLMUT"], weights=[40, 35, 15, 10])[0]
            plan = rng.choice(plans[ident])
            member = (f"{rng.randint(1, 9)}{''.join(rng.choice('ACDEFGHJKMNPQRTUVWXY0123456789') for _ in range(10))}"
                      if ident == "12202" else f"{ident[:2]}{rng.randint(10_000_000, 99_999_999)}")
            coverage = Coverage(organization=org, patient=patient, payer=payers[ident], plan=plan,
                                rank=CoverageRank.PRIMARY, relationship=relationship, member_id=member,
                                group_number="" if ident in ("12202", "NYMCD") else f"G{rng.randint(10000, 99999)}",
                                effective_from=start, copay=plan.default_copay,
                                coinsurance_percent=plan.default_coinsurance_percent, deductible=plan.default_deductible,
                                **subscriber)
            coverages.append(coverage)
            if ident == "12202" and rng.random() < 0.35:  # a Medigap-like secondary with the commercial payer
                sec = plans["RSLMUT"][0]
                coverages.append(Coverage(organization=org, patient=patient, payer=payers["RSLMUT"], plan=sec,
                                          rank=CoverageRank.SECONDARY, member_id=f"RS{rng.randint(10_000_000, 99_999_999)}",
                                          group_number="MSUP", effective_from=start, copay=D("0.00"),
                                          coinsurance_percent=D("0"), deductible=D("0.00"), **subscriber_from_patient(patient)))
        # One lapsed coverage, so the check-in page shows the warning.
        if coverages:
            last = coverages[-1]
            if last.rank == CoverageRank.PRIMARY:
                last.effective_to = today - timedelta(days=20)
                last.effective_from = min(last.effective_from, last.effective_to)
        Coverage.objects.bulk_create(coverages, batch_size=500)
        added += len(coverages)
        hmo = list(Coverage.objects.filter(organization=org, payer=payers["87726"]).select_related("patient")[:4])
        for n, coverage in enumerate(hmo):
            used = [0, 3, 9, 2][n]
            PriorAuthorization.objects.create(
                organization=org, patient=coverage.patient, coverage=coverage, number=f"ES{today:%y}{4711 + n:06d}",
                procedure_codes="G0108,G0109", units_authorized=10, units_used=min(used, 10),
                starts_on=today - timedelta(days=30 * (n + 1)), ends_on=today + timedelta(days=150 - 20 * n),
                notes="Diabetes self-management training")
            added += 1
    return added
