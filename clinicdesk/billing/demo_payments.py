"""The demo practice's patient accounts: a few charges straight on the ledger (until encounters are seeded), cash and
check payments, a copay, a credit kept on an account and a payment plan. Idempotent: a second run adds nothing."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create

from .choices import PaymentMethod, PlanFrequency
from .models import Payment
from .services.accounts import account_for_patient
from .services.payments import payment_post
from .services.plans import payment_plan_create

KEY_PREFIX = "demo-payments:"
SERVICES = [("Office visit, established patient", "145.00"), ("Office visit, new patient", "210.00"),
            ("Flu vaccine", "48.00"), ("Blood draw", "25.00"), ("Annual physical", "260.00"), ("EKG", "95.00")]


def _charge(org, patient, *, days_ago: int, description: str, amount: str) -> None:
    service_date = timezone.localdate() - timedelta(days=days_ago)
    item = open_item_create(organization=org, patient=patient, service_date=service_date, description=description)
    entry_post(organization=org, entry_date=service_date, kind=EntryKind.CHARGE, memo=f"Demo charge: {description}",
               lines=[LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal(amount), item=item),
                      LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-Decimal(amount), patient=patient)])


def seed_payments(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add accounts with charges, payments, a credit and a plan; returns the rows added (0 on a second run)."""
    from clinicdesk.patients.models import Patient

    org = ctx.organization
    if Payment.objects.filter(organization=org, idempotency_key__startswith=KEY_PREFIX).exists():
        return 0
    chosen = list(Patient.objects.filter(organization=org, merged_into__isnull=True).order_by("id")[:min(8, max(patients, 5))])
    if len(chosen) < 5:
        return 0
    rng = random.Random(seed)  # noqa: S311  (demo data, not security)
    desk, biller = ctx.users.get("maria"), ctx.users.get("devon")
    location = ctx.locations[0] if ctx.locations else None
    added = 0
    with transaction.atomic():
        accounts = []
        for n, patient in enumerate(chosen):
            for k in range(1 + n % 3):
                description, amount = SERVICES[(n + k) % len(SERVICES)]
                _charge(org, patient, days_ago=rng.randint(5, 150), description=description, amount=amount)
                added += 2
            accounts.append(account_for_patient(patient=patient, actor=desk))
        today = timezone.localdate()
        posts = [
            (0, "60.00", PaymentMethod.CASH, {}),
            (1, "145.00", PaymentMethod.CHECK, {"check_number": "2231"}),
            (2, "400.00", PaymentMethod.CASH, {"allow_credit": True, "memo": "Paid ahead"}),
            (3, "25.00", PaymentMethod.CASH, {"is_copay": True}),
        ]
        for index, amount, method, extra in posts:
            payment_post(account=accounts[index], amount=amount, method=method, actor=desk, location=location,
                         idempotency_key=f"{KEY_PREFIX}{index}", received_on=today - timedelta(days=index), **extra)
            added += 1
        plan_account = accounts[4]
        _charge(org, chosen[4], days_ago=40, description="Minor procedure", amount="600.00")
        payment_plan_create(account=plan_account, total="600.00", installments=6, frequency=PlanFrequency.MONTHLY,
                            start_date=today + timedelta(days=7), actor=biller, notes="Demo plan")
        added += 3
    if stdout is not None:
        stdout.write(f"Billing: {added} demo charges, payments and a payment plan.")
    return added
