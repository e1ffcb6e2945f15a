"""Demo patients: deterministic and realistic, fast enough for a million rows.

Faker is slow per call, so it fills pools of names and addresses once; each row is then a handful of
draws from a random generator seeded by (seed, batch), so patient number n is the same whichever size
the practice was grown from. Rows go in by raw multi-row INSERT (COPY on PostgreSQL) in large
transactions; on SQLite the FTS5 index follows through the triggers from migration 0002.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone
from faker import Faker

from clinicdesk.core.choices import Role

from .choices import AdministrativeSex, Channel, PatientStatus
from .models import PUBLIC_ID_ALPHABET, Patient
from .search import NICKNAMES, search_fields

BATCH = 20_000
POOL_SIZE = 6_000
AREA_CODES = (201, 212, 315, 347, 516, 518, 585, 607, 631, 646, 716, 718, 845, 914, 917, 929)

# A few people the demo script and the documentation talk about, always patients 1..n.
KNOWN_PATIENTS = (
    # first, last, preferred, date of birth, sex, mobile
    ("Ana", "Álvarez", "", date(1985, 3, 7), AdministrativeSex.FEMALE, "+12125550101"),
    ("José", "Núñez", "Pepe", date(1962, 11, 30), AdministrativeSex.MALE, "+17185550102"),
    ("Margaret", "O'Brien", "Peggy", date(1941, 6, 14), AdministrativeSex.FEMALE, "+19145550103"),
    ("Wei", "Zhang", "", date(2019, 1, 22), AdministrativeSex.MALE, "+16465550104"),
    ("Robert", "Smith", "Bob", date(1977, 8, 2), AdministrativeSex.MALE, "+15165550105"),
    ("Rob", "Smith", "", date(1977, 8, 2), AdministrativeSex.MALE, "+15165550105"),
    ("Luis", "Alvarez", "", date(1958, 4, 19), AdministrativeSex.MALE, "+12125550107"),
)


@dataclass
class _Pools:
    female: list[str]
    male: list[str]
    last: list[str]
    streets: list[str]
    places: list[tuple[str, str, str]]


@functools.cache
def _pools(seed: int) -> _Pools:
    """Names and addresses drawn from Faker once; a fifth of the people have Spanish names."""
    english, spanish = Faker("en_US"), Faker("es_MX")
    english.seed_instance(seed)
    spanish.seed_instance(seed + 1)

    def mix(attr: str, size: int) -> list[str]:
        return [getattr(spanish if i % 5 == 0 else english, attr)() for i in range(size)]

    return _Pools(
        female=mix("first_name_female", POOL_SIZE),
        male=mix("first_name_male", POOL_SIZE),
        last=mix("last_name", POOL_SIZE),
        streets=[english.street_address()[:200] for _ in range(POOL_SIZE // 2)],
        places=[(english.city()[:100], english.state_abbr(), english.postcode()[:12]) for _ in range(1000)],
    )


def seed(ctx, *, patients: int, seed: int = 2026, stdout=None) -> int:
    """Add patients until the demo practice has `patients` of them. Returns how many were added."""
    org = ctx.organization
    have = Patient.objects.filter(organization=org).count()
    if have >= patients:
        return 0
    pools = _pools(seed)
    providers = sorted(u.pk for u in ctx.users.values() if u.role == Role.CLINICIAN)
    columns = [f for f in Patient._meta.concrete_fields if not f.primary_key]
    today = timezone.localdate()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    defaults = {f.attname: f.get_default() for f in columns}
    added = 0
    first_batch = have // BATCH
    for batch in range(first_batch, (patients - 1) // BATCH + 1):
        start, stop = batch * BATCH + 1, min((batch + 1) * BATCH, patients)
        rows = _batch_rows(batch, start, stop, seed=seed, org=org, pools=pools, providers=providers, today=today)
        rows = [row for row in rows if int(row["n"]) > have]
        values = [_values(row, columns, defaults, now) for row in rows]
        with transaction.atomic():
            _insert(columns, values)
        added += len(values)
        if stdout is not None and patients >= 50_000:
            stdout.write(f"  patients: {have + added:,} of {patients:,}\n")
    return added


def _batch_rows(batch, start, stop, *, seed, org, pools, providers, today) -> list[dict]:
    rng = random.Random(f"{seed}:{batch}")  # noqa: S311  (demo data, not security)
    prefix = org.mrn_prefix or "P"
    rows = []
    previous = None
    for n in range(start, stop + 1):
        female = rng.random() < 0.52
        first = rng.choice(pools.female if female else pools.male)
        dob = today - timedelta(days=rng.randint(0, 95 * 365))
        row = {
            "n": n,
            "organization_id": org.pk,
            "public_id": "".join(rng.choices(PUBLIC_ID_ALPHABET, k=14)),
            "mrn": f"{prefix}{n:07d}",
            "first_name": first,
            "middle_name": rng.choice(pools.male if rng.random() < 0.5 else pools.female)[:1] if rng.random() < 0.3 else "",
            "last_name": rng.choice(pools.last),
            "preferred_name": "",
            "date_of_birth": dob,
            "sex": AdministrativeSex.FEMALE if female else AdministrativeSex.MALE,
            "address_line1": rng.choice(pools.streets),
            "phone_mobile": f"+1{rng.choice(AREA_CODES)}555{rng.randint(0, 9999):04d}" if rng.random() < 0.9 else "",
            "phone_home": f"+1{rng.choice(AREA_CODES)}555{rng.randint(0, 9999):04d}" if rng.random() < 0.25 else "",
            "preferred_language": "es" if rng.random() < 0.15 else "en",
            "preferred_channel": rng.choice((Channel.SMS, Channel.SMS, Channel.EMAIL, Channel.VOICE)),
            "primary_provider_id": rng.choice(providers) if providers else None,
            "status": PatientStatus.ACTIVE,
            "deceased_date": None,
        }
        row["city"], row["state"], row["postal_code"] = rng.choice(pools.places)
        nicknames = sorted(NICKNAMES.get(first.lower(), frozenset()) - {first.lower()})
        if nicknames and rng.random() < 0.3:
            row["preferred_name"] = rng.choice(nicknames).title()
        roll = rng.random()
        if roll < 0.01:
            row["status"] = PatientStatus.DECEASED
            row["deceased_date"] = dob + timedelta(days=rng.randint(0, (today - dob).days))
        elif roll < 0.04:
            row["status"] = PatientStatus.INACTIVE
        if previous is not None and n % 2000 == 0:
            # Now and then the same person registered twice, with a typo: material for the merge page.
            row.update({k: previous[k] for k in ("last_name", "date_of_birth", "sex", "phone_mobile")})
            row["first_name"] = previous["first_name"][:-1] + "y" if len(previous["first_name"]) > 3 else previous["first_name"]
        if n <= len(KNOWN_PATIENTS):
            first, last, preferred, dob, sex, mobile = KNOWN_PATIENTS[n - 1]
            row.update(first_name=first, last_name=last, preferred_name=preferred, date_of_birth=dob, sex=sex,
                       phone_mobile=mobile, status=PatientStatus.ACTIVE, deceased_date=None)
        row["email"] = f"{_email_part(row['first_name'])}.{n}@example.com"
        rows.append(row)
        previous = row
    return rows


def _email_part(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum()) or "patient"


class _Row:
    """Attribute access over a row dict, for search.search_fields."""

    __slots__ = ("_row",)

    def __init__(self, row: dict):
        self._row = row

    def __getattr__(self, name: str):
        return self._row.get(name, "")


def _values(row: dict, columns, defaults: dict, now) -> tuple:
    row["search_name"], row["search_phones"] = search_fields(_Row(row))
    out = []
    for field in columns:
        if field.attname in ("created_at", "updated_at"):
            out.append(now)
            continue
        value = row.get(field.attname, defaults[field.attname])
        out.append(value.isoformat() if isinstance(value, date) else value)
    return tuple(out)


def _insert(columns, values: list[tuple]) -> None:
    table = connection.ops.quote_name(Patient._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
            return
        # SQLite allows 32,766 variables per statement; several hundred rows per INSERT is far faster
        # than one statement per row.
        per_statement = max(1, 32_000 // len(columns))
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for i in range(0, len(values), per_statement):
            chunk = values[i : i + per_statement]
            sql = f"INSERT INTO {table} ({names}) VALUES " + ", ".join([one] * len(chunk))  # noqa: S608  (column names from the model, values are parameters)
            cursor.execute(sql, [v for value in chunk for v in value])
