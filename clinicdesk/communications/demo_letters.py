"""The demo practice's letters: the default templates, a letterhead per location (and the practice's default),
signatures for the clinicians, and a few final letters in demo patients' documents.

Deterministic for a seed, idempotent (each part is skipped when it is already there).
"""

from __future__ import annotations

import random

from django.db import transaction

from clinicdesk.core.choices import Role
from clinicdesk.patients.models import Patient

from .defaults import defaults_install
from .models import Letter, Letterhead, MessageTemplate, Signature
from .services.letters import letter_finalize, letter_start, letter_update

# (template code, signer username, the writer's wording after the greeting; None keeps the template's)
LETTERS = [
    ("normal-results", "drchen", "<p>We are pleased to tell you that the results of your recent blood count and "
                                 "lipid panel are within the normal range. No further action is needed.</p>"),
    ("welcome", "drpatel", None),
    ("work-excuse", "drokafor", None),
    ("referral", "drchen", None),
]


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add templates, letterheads, signatures and letters to the demo practice; returns the rows added."""
    org = ctx.organization
    added = 0
    with transaction.atomic():
        added += defaults_install(organization=org)
        added += _letterheads(ctx)
        added += _signatures(ctx)
    added += _letters(ctx, seed=seed)
    if stdout is not None and added:
        stdout.write(f"Letters: {added} templates, letterheads, signatures and letters added.")
    return added


def _letterheads(ctx) -> int:
    org = ctx.organization
    added = 0
    if not Letterhead.objects.filter(organization=org, location__isnull=True).exists():
        first = ctx.locations[0] if ctx.locations else None
        Letterhead.objects.create(organization=org, practice_name=org.name,
                                  address=f"{first.address_line1}\n{first.city}, {first.state} {first.postal_code}" if first else "",
                                  phone=first.phone if first else "", website="riverside.example",
                                  footer="This letter is confidential and meant only for the person it is addressed to.")
        added += 1
    for location in ctx.locations:
        _head, created = Letterhead.objects.get_or_create(organization=org, location=location, defaults={
            "practice_name": f"{org.name} · {location.name}",
            "address": f"{location.address_line1}\n{location.city}, {location.state} {location.postal_code}",
            "phone": location.phone, "fax": "", "email": f"{location.code}@riverside.example",
            "footer": "This letter is confidential and meant only for the person it is addressed to.",
            "accent_color": "#0b5cad" if location.code == "main" else "#2e7d32",
        })
        added += int(created)
    return added


def _signatures(ctx) -> int:
    added = 0
    for user in ctx.users.values():
        if user.role != Role.CLINICIAN:
            continue
        _signature, created = Signature.objects.get_or_create(user=user, defaults={
            "organization": ctx.organization, "closing": "Sincerely,",
            "name_line": f"{user.first_name} {user.last_name}, {user.title}".rstrip(", "),
            "credentials": "Riverside Family Medicine",
        })
        added += int(created)
    return added


def _letters(ctx, *, seed: int) -> int:
    org = ctx.organization
    if Letter.objects.filter(organization=org).exists():
        return 0
    rng = random.Random(f"letters:{seed}")  # noqa: S311  (demo data, not security)
    people = list(Patient.objects.filter(organization=org, merged_into__isnull=True, status="active").order_by("pk")[:200])
    if len(people) < len(LETTERS):
        return 0
    chosen = rng.sample(people, len(LETTERS))
    templates = {t.code: t for t in MessageTemplate.objects.filter(organization=org).select_related("current")}
    location = ctx.locations[0] if ctx.locations else None
    added = 0
    for (code, username, wording), patient in zip(LETTERS, chosen, strict=True):
        signer = ctx.users[username]
        with transaction.atomic():
            letter = letter_start(actor=signer, patient=patient, template=templates[code], location=location, signer=signer)
            if wording:
                greeting = letter.body_html.split("</p>", 1)[0] + "</p>"
                letter_update(actor=signer, letter=letter, subject=letter.subject, body_html=greeting + wording)
            letter_finalize(actor=signer, letter=letter)
        added += 1
    return added
