"""Demo patients: deterministic and realistic, fast enough for a million rows."""

import random
from datetime import date, timedelta

from django.db import transaction
from faker import Faker

from .choices import AdministrativeSex, Channel
from .models import Patient, new_public_id
from .search import search_fields

BATCH = 5000


def seed(ctx, *, patients: int, seed: int = 2026, stdout=None) -> int:
    """Add patients until the demo practice has `patients` of them. Returns how many were added."""
    org = ctx.organization
    have = Patient.objects.filter(organization=org).count()
    if have >= patients:
        return 0
    fake = Faker(["en_US", "es_MX"])
    Faker.seed(seed + have)
    rng = random.Random(seed + have)  # noqa: S311  (demo data, not security)
    providers = [u for u in ctx.users.values() if u.role == "clinician"]
    prefix = org.mrn_prefix or "P"
    today = date.today()
    added = 0
    while have + added < patients:
        rows = []
        for i in range(min(BATCH, patients - have - added)):
            n = have + added + i + 1
            female = rng.random() < 0.52
            first = fake.first_name_female() if female else fake.first_name_male()
            p = Patient(
                organization=org,
                public_id=new_public_id(),
                mrn=f"{prefix}{n:07d}",
                first_name=first,
                last_name=fake.last_name(),
                middle_name=fake.first_name()[:1] if rng.random() < 0.3 else "",
                date_of_birth=today - timedelta(days=rng.randint(0, 95 * 365)),
                sex=AdministrativeSex.FEMALE if female else AdministrativeSex.MALE,
                address_line1=fake.street_address()[:200],
                city=fake.city()[:100],
                state=fake.state_abbr(),
                postal_code=fake.postcode()[:12],
                phone_mobile=f"+1{rng.randint(201, 989)}555{rng.randint(0, 9999):04d}",
                email=f"{first.lower()}.{n}@example.com",
                preferred_language="es" if rng.random() < 0.15 else "en",
                preferred_channel=rng.choice([Channel.SMS, Channel.SMS, Channel.EMAIL, Channel.VOICE]),
                primary_provider=rng.choice(providers) if providers else None,
            )
            p.search_name, p.search_phones = search_fields(p)
            rows.append(p)
        with transaction.atomic():
            Patient.objects.bulk_create(rows, batch_size=1000)
        added += len(rows)
        if stdout is not None and patients >= 50_000:
            stdout.write(f"  patients: {have + added:,} of {patients:,}")
    return added
