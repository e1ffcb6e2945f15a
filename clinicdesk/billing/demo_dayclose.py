"""Demo data for day close: a cash drawer at each demo location, and one business day at the main location with
copays taken at check-in (cash and a check), counted a dollar short and closed, waiting for the office manager's
approval. Idempotent: drawers are saved only when missing, and the closed day is made once."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from .choices import PaymentMethod
from .models import CashDrawer, DayClose
from .services.accounts import account_for_patient
from .services.dayclose import day_close_close, day_figures, drawer_save
from .services.payments import payment_post

FLOATS = {"main": "150.00", "north": "100.00"}
COPAYS = [("cash", "25.00"), ("cash", "30.00"), ("check", "40.00"), ("cash", "20.00"), ("cash", "35.00")]


@transaction.atomic
def seed_dayclose(ctx, *, patients: int, seed: int = 0, stdout=None) -> int:
    """Drawers for the demo locations and one closed day; returns how many rows it added."""
    manager = ctx.users.get("priya")
    desk = ctx.users.get("maria")
    added = 0
    for location in ctx.locations:
        if not CashDrawer.objects.filter(location=location).exists():
            drawer_save(location=location, opening_float=FLOATS.get(location.code, "100.00"), actor=manager)
            added += 1
    if not ctx.locations or DayClose.objects.filter(organization=ctx.organization).exists():
        return added
    location = ctx.locations[0]
    drawer = CashDrawer.objects.get(location=location)
    day = timezone.localdate() - timedelta(days=1)
    rng = random.Random(seed)  # noqa: S311  (demo data, not security)
    from clinicdesk.patients.models import Patient

    # Patients past the first dozen, so the copays do not land on the accounts the other demo parts use.
    everyone = Patient.objects.filter(organization=ctx.organization, merged_into__isnull=True).order_by("id")
    chosen = list(everyone[40:40 + len(COPAYS)]) or list(everyone[:len(COPAYS)])
    for n, (patient, (method, amount)) in enumerate(zip(chosen, COPAYS, strict=False)):
        payment_post(account=account_for_patient(patient=patient), patient=patient, amount=amount, method=method,
                     check_number=str(1000 + rng.randrange(9000)) if method == PaymentMethod.CHECK else "",
                     idempotency_key=f"demo-dayclose-{n}", actor=desk, received_on=day, is_copay=True,
                     location=location, memo="Copay at check-in")
        added += 1
    expected = day_figures(drawer=drawer, on=day).expected_cash - Decimal("1.00")
    twenties, rest = divmod(int(expected), 20)
    count = {"20": twenties, "1": rest}
    cents = int((expected - int(expected)) * 100)
    if cents:
        count["0.01"] = cents
    day_close_close(drawer=drawer, business_date=day, denominations=count, actor=desk,
                    over_short_reason="A dollar too much given in change")
    added += 1
    if stdout is not None:
        stdout.write(f"Day close: drawers at {len(ctx.locations)} locations; {day:%m/%d/%Y} closed at {location.name} "
                     "a dollar short, waiting for approval")
    return added
