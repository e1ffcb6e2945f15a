"""The demo practice's claims: every posted visit of a covered patient billed through the claim services, then
moved along so the queues look like a working office: drafts with scrubber findings, claims waiting to be sent,
submitted, accepted, rejected, denied with reasons, appealed, paid and partly paid."""

from __future__ import annotations

import random

from django.db import transaction

from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.models import Encounter
from clinicdesk.core.npi import npi_check_digit

from .choices import ClaimStatus
from .models import Claim, Coverage
from .services.claims import (
    APPEAL_TEMPLATE_CODE,
    appeal_create,
    claim_assign,
    claim_note_add,
    claim_transition,
    claims_build,
)
from .services.scrubber import claim_scrub

DEMO_GROUP_NPI = "1234567893"
DEMO_TAX_ID = "36-1234567"
DENIALS = ["CO-197 Precertification/authorization absent", "CO-50 Not medically necessary",
           "CO-16 Claim lacks information (missing referring provider)", "CO-29 Time limit for filing has expired",
           "PR-27 Expenses incurred after coverage terminated"]
APPEAL_BODY = """\
<p>To the appeals department,</p>
<p>We ask you to reconsider the claim below for our patient {{ patient.full_name }} (date of birth \
{{ patient.date_of_birth }}), seen at {{ practice.name }}.</p>"""
# The share of claims (after scrubbing) that each outcome gets, in order; the rest are paid.
OUTCOMES = [(ClaimStatus.SCRUBBED, 0.12), (ClaimStatus.SUBMITTED, 0.15), (ClaimStatus.ACCEPTED, 0.12),
            (ClaimStatus.REJECTED, 0.06), (ClaimStatus.DENIED, 0.12), (ClaimStatus.APPEALED, 0.06),
            (ClaimStatus.PARTIALLY_PAID, 0.07)]
PATHS = {
    ClaimStatus.SCRUBBED: [],
    ClaimStatus.SUBMITTED: [ClaimStatus.SUBMITTED],
    ClaimStatus.ACCEPTED: [ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED],
    ClaimStatus.REJECTED: [ClaimStatus.SUBMITTED, ClaimStatus.REJECTED],
    ClaimStatus.DENIED: [ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, ClaimStatus.DENIED],
    ClaimStatus.APPEALED: [ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, ClaimStatus.DENIED],
    ClaimStatus.PARTIALLY_PAID: [ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, ClaimStatus.PARTIALLY_PAID],
    ClaimStatus.PAID: [ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, ClaimStatus.PAID],
}
DRAFT_SHARE = 0.12


def _write(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


def _demo_npi(number: int) -> str:
    """A made-up NPI with a correct check digit."""
    body = f"1{number % 10**8:08d}"
    return body + npi_check_digit(body)


def _practice_ids(org, encounters) -> None:
    """The group NPI and tax ID and the clinicians' NPIs a claim needs (the demo's own, valid check digits)."""
    from clinicdesk.core.models import User

    if not org.npi or not org.tax_id:
        org.npi, org.tax_id = org.npi or DEMO_GROUP_NPI, org.tax_id or DEMO_TAX_ID
        org.save(update_fields=["npi", "tax_id"])
    for user in User.objects.filter(pk__in={e.provider_id for e in encounters}, npi=""):
        user.npi = _demo_npi(7000 + user.pk)
        user.save(update_fields=["npi"])


def _appeal_template(org) -> None:
    from clinicdesk.communications.choices import MessagePurpose, TemplateKind
    from clinicdesk.communications.models import MessageTemplate
    from clinicdesk.communications.services.templates import template_create

    if not MessageTemplate.objects.filter(organization=org, code=APPEAL_TEMPLATE_CODE).exists():
        template_create(actor=None, organization=org, code=APPEAL_TEMPLATE_CODE, name="Claim appeal",
                        kind=TemplateKind.LETTER, purpose=MessagePurpose.LETTER,
                        subject="Appeal for {{ patient.full_name }}", body=APPEAL_BODY)


def seed_claims(ctx, *, seed: int = 0, stdout=None) -> int:
    """Claims for the posted encounters of covered patients. Idempotent: an encounter with a claim is left alone.
    Returns the number of claims made."""
    org = ctx.organization
    users = getattr(ctx, "users", {}) or {}
    biller = users.get("devon") or users.get("sam")
    if biller is None:
        return 0
    covered = set(Coverage.objects.filter(organization=org, is_active=True, rank=1).values_list("patient_id", flat=True))
    encounters = list(Encounter.objects.filter(organization=org, status=EncounterStatus.POSTED, patient_id__in=covered,
                                               claims__isnull=True).order_by("service_date", "id"))
    if not encounters:
        _write(stdout, "Claims: nothing new to bill")
        return 0
    rng = random.Random(seed + 707)  # noqa: S311  (demo data, not secrets)
    with transaction.atomic():
        _practice_ids(org, encounters)
        _appeal_template(org)
        claims = claims_build(actor=biller, encounters=encounters)
        # The newest visits stay drafts (some with a finding to fix); the rest move along their paths.
        claims.sort(key=lambda c: (c.service_from, c.pk))
        n_drafts = max(1, int(len(claims) * DRAFT_SHARE)) if len(claims) > 3 else 0
        drafts, older = claims[len(claims) - n_drafts:], claims[:len(claims) - n_drafts]
        for i, claim in enumerate(drafts):
            if i % 2 == 0:
                Claim.objects.filter(pk=claim.pk).update(diagnosis_codes=[*claim.diagnosis_codes[:1], "M54.5"])
            claim_scrub(claim=claim, actor=biller)
        outcomes = _outcomes(len(older))
        rng.shuffle(outcomes)
        for claim, outcome in zip(older, outcomes, strict=True):
            claim = claim_scrub(claim=claim, actor=biller)
            if claim.status != ClaimStatus.SCRUBBED:
                continue
            for step in PATHS[outcome]:
                note = rng.choice(DENIALS) if step == ClaimStatus.DENIED else (
                    "Invalid member ID (277CA A7:164)" if step == ClaimStatus.REJECTED else "")
                claim = claim_transition(claim=claim, to_status=step, actor=biller, note=note)
            if outcome in (ClaimStatus.DENIED, ClaimStatus.REJECTED):
                claim_assign(claim=claim, assignee=biller, actor=biller)
                claim_note_add(claim=claim, text="Called the payer; reference number noted on the EOB.", actor=biller)
            if outcome == ClaimStatus.APPEALED:
                appeal_create(claim=claim, reason="The service was medically necessary; the visit notes are enclosed.",
                              actor=biller)
    _write(stdout, f"Claims: {len(claims)} built ({len(drafts)} drafts)")
    return len(claims)


def _outcomes(n: int) -> list[str]:
    out: list[str] = []
    for status, share in OUTCOMES:
        out += [status] * max(1 if n >= len(OUTCOMES) + 1 else 0, int(n * share))
    out = out[:n]
    return out + [ClaimStatus.PAID] * (n - len(out))
