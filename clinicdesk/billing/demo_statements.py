"""The demo practice's statements: the dunning policy and one finished month-end statement run.

Charges for a few dozen demo patients are posted straight on the ledger (the way billing's tests do) when they
have none yet, some partly paid; then one statement run is made, started and executed. Deterministic for a seed,
idempotent: the policy and the charges are found again, and nothing more is done once the practice has a finished run.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import JournalEntry
from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create
from clinicdesk.patients.models import Patient

from .choices import StatementRunStatus
from .models import DunningPolicy, StatementRun
from .services.accounts import account_for_patient
from .services.statements import dunning_policy_for, statement_run_create, statement_run_execute, statement_run_start

DEMO_ACCOUNTS = 36
SERVICES = [("Office visit, established patient", "95.00"), ("Office visit, new patient", "160.00"),
            ("Comprehensive metabolic panel", "48.50"), ("Influenza vaccine", "35.00"), ("Electrocardiogram", "72.00"),
            ("Annual wellness visit", "185.00")]


def seed_statements(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add the dunning policy, demo charges and one finished statement run; returns the rows added."""
    org = ctx.organization
    added = 0
    if not DunningPolicy.objects.filter(organization=org).exists():
        dunning_policy_for(organization=org)
        added += 1
    if StatementRun.objects.filter(organization=org, status=StatementRunStatus.DONE).exists():
        return added
    from clinicdesk.communications.defaults import defaults_install

    defaults_install(organization=org)
    added += _charges(org, seed=seed, limit=min(DEMO_ACCOUNTS, max(patients, 1)))
    biller = next((u for u in ctx.users.values() if u.role == Role.BILLER), None) or next(iter(ctx.users.values()), None)
    today = timezone.localdate()
    run = statement_run_create(actor=biller, organization=org, statement_date=today)
    statement_run_start(actor=biller, run=run)
    run = statement_run_execute(run_id=run.pk)
    added += 1 + run.emailed_count + run.printed_count
    if stdout is not None:
        stdout.write(f"Statements: a run of {today:%m/%d/%Y} with {run.emailed_count} e-mailed and {run.printed_count} "
                     f"printed statements, {run.written_off_count} small balances written off.")
    return added


def _charges(org, *, seed: int, limit: int) -> int:
    """Up to `limit` demo patients get two or three charges over the last four months (a third paid in part,
    one in ten a small old balance); skipped for a patient whose demo charges are already posted."""
    rng = random.Random(seed + 404)  # noqa: S311  (demo data, not secrets)
    today = timezone.localdate()
    chosen = list(Patient.objects.filter(organization=org, merged_into__isnull=True).order_by("pk")[:limit * 3])
    rng.shuffle(chosen)
    posted = set(JournalEntry.objects.filter(organization=org, reference__startswith="demo-statement:")
                 .values_list("reference", flat=True))
    added = 0
    for n, patient in enumerate(chosen[:limit]):
        if f"demo-statement:{patient.pk}:0" in posted:
            continue
        with transaction.atomic():
            account_for_patient(patient=patient)
            small = n % 10 == 9
            visits = [("Copay balance", "3.75")] if small else [rng.choice(SERVICES) for _ in range(rng.choice((2, 3)))]
            for k, (description, amount) in enumerate(visits):
                day = today - timedelta(days=95 if small else rng.randint(5, 120))
                item = open_item_create(organization=org, patient=patient, service_date=day, description=description)
                entry_post(organization=org, entry_date=day, kind=EntryKind.CHARGE, reference=f"demo-statement:{patient.pk}:{k}",
                           lines=[LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal(amount), item=item),
                                  LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-Decimal(amount), patient=patient)])
                added += 1
                if n % 3 == 0 and not small and k == 0:
                    entry_post(organization=org, entry_date=min(today, day + timedelta(days=3)), kind=EntryKind.PAYMENT,
                               reference=f"demo-statement:{patient.pk}:payment", lines=[
                                   LineSpec(account=AccountRole.CASH, amount=Decimal("25.00"), patient=patient),
                                   LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal("-25.00"), item=item)])
                    added += 1
    return added
