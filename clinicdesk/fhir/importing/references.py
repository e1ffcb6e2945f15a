"""Outside parties an imported visit or claim names: practitioners, locations, organizations and payers.

A reference to a resource in the bundle uses that resource; a conditional reference (`Practitioner?identifier=
system|value`) to one outside it first looks for the practice's own record with that identifier (a provider's NPI),
then for the placeholder an earlier import made, and otherwise makes a placeholder holding the identifier and the
display name: an inactive clinician, an inactive location, a payer to be completed, or, for an organization the
practice keeps nothing about, the mapping row alone.
"""

from __future__ import annotations

import hashlib
import re

from django.core.exceptions import ValidationError
from django.utils.text import slugify

from clinicdesk.core.models import Location, User
from clinicdesk.core.services import location_placeholder_create, provider_placeholder_create
from clinicdesk.insurance.choices import ClaimFilingIndicator
from clinicdesk.insurance.models import Payer
from clinicdesk.insurance.services.coverage import payer_save

from ..mappers import NPI_SYSTEM
from .bundle import Bundle, Entry
from .identity import ImportContext
from .report import CREATED

NPI_RE = re.compile(r"^[0-9]{10}$")
HONORIFICS = {"dr.", "dr", "mr.", "mrs.", "ms.", "miss", "mx."}


def conditional(reference: str) -> tuple[str, str, str] | None:
    """('Practitioner', system, value) of `Practitioner?identifier=system|value`, else None."""
    if "?identifier=" not in reference:
        return None
    kind, _, token = reference.partition("?identifier=")
    system, _, value = token.rpartition("|")
    return (kind, system, value) if value else None


def _identifier(resource: dict, system: str = "") -> tuple[str, str] | None:
    for ident in resource.get("identifier") or []:
        if ident.get("value") and (not system or ident.get("system") == system):
            return ident.get("system", ""), ident["value"]
    return None


def _split_name(display: str) -> tuple[str, str]:
    words = [w for w in (display or "").split() if w.lower() not in HONORIFICS]
    if not words:
        return "", "Unknown"
    return " ".join(words[:-1]), words[-1]


def practitioner(ctx: ImportContext, bundle: Bundle, entry: Entry, reference: dict | None, path: str) -> User:
    """The clinician a visit names (the practice's own by NPI, or a placeholder)."""
    target = (reference or {}).get("reference", "")
    display = (reference or {}).get("display", "")
    if not target:
        raise entry.refused("the visit names no practitioner.", path)
    cond = conditional(target)
    if cond is not None and cond[0] == "Practitioner":
        system, npi = cond[1], cond[2]
    else:
        found = bundle.resolve(entry, reference, path, kinds=("Practitioner",))
        ident = _identifier(found.resource, NPI_SYSTEM) or _identifier(found.resource)
        if ident is None:
            raise found.refused("the practitioner has no identifier to know them by.", "Practitioner.identifier")
        system, npi = ident
        name = (found.resource.get("name") or [{}])[0]
        display = display or " ".join([*(name.get("given") or []), name.get("family", "")])
    if system != NPI_SYSTEM or not NPI_RE.match(npi):
        raise entry.refused(f"the practitioner identifier '{system}|{npi}' is not an NPI (ten digits).", path)
    key = ("Practitioner", f"{system}|{npi}")
    if key in ctx.objects:
        return ctx.objects[key]
    own = User.objects.filter(organization=ctx.organization, npi=npi).order_by("-is_active", "pk").first()
    if own is not None:
        ctx.objects[key] = own
        return own
    user = ctx.target(*key, User)
    if user is None:
        first, last = _split_name(display)
        try:
            user = provider_placeholder_create(actor=ctx.actor, npi=npi, first_name=first, last_name=last)
        except ValidationError as exc:
            raise entry.refused(f"the placeholder for practitioner {npi}: {' '.join(exc.messages)}", path) from None
        ctx.remember(*key, user, placeholder=True, display=display)
        ctx.report.add(CREATED, "practitioners (placeholders)")
    return user


def location(ctx: ImportContext, bundle: Bundle, entry: Entry, reference: dict | None, path: str) -> Location:
    """Where a visit took place (a placeholder location for an outside one)."""
    target = (reference or {}).get("reference", "")
    display = (reference or {}).get("display", "")
    cond = conditional(target) if target else None
    if cond is not None and cond[0] == "Location":
        token = f"{cond[1]}|{cond[2]}"
    elif target:
        found = bundle.resolve(entry, reference, path, kinds=("Location",))
        ident = _identifier(found.resource)
        token = f"{ident[0]}|{ident[1]}" if ident else found.source_id
        display = display or found.resource.get("name", "")
    else:
        raise entry.refused("the visit names no location.", path)
    key = ("Location", token)
    found_location = ctx.target(*key, Location)
    if found_location is None:
        code = "ext-" + hashlib.sha256(token.encode()).hexdigest()[:16]
        found_location = Location.objects.filter(organization=ctx.organization, code=code).first()
        if found_location is None:
            try:
                found_location = location_placeholder_create(actor=ctx.actor, code=code, name=display or code)
            except ValidationError as exc:
                raise entry.refused(f"the placeholder for location {token}: {' '.join(exc.messages)}", path) from None
            ctx.report.add(CREATED, "locations (placeholders)")
        ctx.remember(*key, found_location, placeholder=True, display=display)
    return found_location


def organization(ctx: ImportContext, reference: dict | None) -> None:
    """An outside organization (the clinic that served a visit): the practice keeps no record of it, so only its
    identifier and name are kept, once."""
    target = (reference or {}).get("reference", "")
    cond = conditional(target) if target else None
    if cond is None or cond[0] != "Organization":
        return
    key = ("Organization", f"{cond[1]}|{cond[2]}")
    if ctx.find(*key) is None:
        ctx.remember(*key, None, placeholder=True, display=(reference or {}).get("display", ""))
        ctx.report.add(CREATED, "organizations (placeholders)")


def _filing_indicator(name: str) -> str:
    lowered = name.lower()
    if "medicaid" in lowered:
        return ClaimFilingIndicator.MEDICAID
    if "medicare" in lowered:
        return ClaimFilingIndicator.MEDICARE_B
    if "blue cross" in lowered or "blue shield" in lowered:
        return ClaimFilingIndicator.BLUE_CROSS
    return ClaimFilingIndicator.COMMERCIAL


def payer(ctx: ImportContext, name: str, entry: Entry) -> Payer:
    """The payer of that name: the practice's own, or a placeholder payer (inactive, payer ID to be filled in)."""
    name = (name or "").strip()
    key = ("Organization", f"payer|{name.lower()}")
    if key in ctx.objects:
        return ctx.objects[key]
    found = Payer.objects.filter(organization=ctx.organization, name__iexact=name).order_by("-is_active", "pk").first()
    if found is None:
        identifier = ("IMP-" + slugify(name).upper().replace("-", ""))[:20]
        taken = Payer.objects.filter(organization=ctx.organization, payer_identifier__startswith=identifier[:16]).count()
        if taken:
            identifier = f"{identifier[:16]}{taken:04d}"
        try:
            found = payer_save(organization=ctx.organization, actor=ctx.actor, name=name[:120],
                               payer_identifier=identifier, claim_filing_indicator=_filing_indicator(name),
                               is_active=False)
        except ValidationError as exc:
            raise entry.refused(f"the placeholder for payer '{name}': {' '.join(exc.messages)}") from None
        ctx.remember(*key, found, placeholder=True, display=name)
        ctx.report.add(CREATED, "payers (placeholders)")
    ctx.objects[key] = found
    return found
