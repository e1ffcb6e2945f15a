"""Superbill templates: a specialty's short list of services and diagnoses, so coding a visit is a few clicks.
Every code is checked when the template is saved (the practice's procedure list, billable ICD-10-CM codes), so
a superbill never offers what charge entry would refuse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from clinicdesk.core.audit import audit_recorded_as
from clinicdesk.core.models import Organization

from ..models import SuperbillTemplate
from ..models.codes import modifiers_normalise

MAX_SECTIONS = 12
MAX_SERVICES = 60
MAX_DIAGNOSES = 60


@dataclass
class SuperbillSection:
    title: str
    services: list[dict] = field(default_factory=list)  # {"code", "modifiers", "label"}


@transaction.atomic
def superbill_save(*, organization: Organization, actor, name: str, specialty: str = "",
                   sections: Sequence[SuperbillSection], diagnoses: Sequence[dict], is_active: bool = True,
                   template: SuperbillTemplate | None = None) -> SuperbillTemplate:
    """Create a superbill template, or replace `template`'s contents. Codes are checked against the practice's
    procedure list and ICD-10-CM; each problem names its section and line, and nothing is saved then."""
    from ..icd10 import diagnosis_check
    from .codes import procedure_check

    if template is not None and template.organization_id != organization.pk:
        raise ValidationError({"name": "No such superbill."})
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append("Give the superbill a name.")
    elif SuperbillTemplate.objects.filter(organization=organization, name__iexact=name).exclude(
            pk=getattr(template, "pk", None)).exists():
        errors.setdefault("name", []).append(f"There is already a superbill named {name}.")
    if len(sections) > MAX_SECTIONS:
        errors.setdefault("sections", []).append(f"At most {MAX_SECTIONS} sections.")
    clean_sections = []
    total = 0
    for s_n, section in enumerate(sections, start=1):
        title = (section.title or "").strip()[:80] or f"Section {s_n}"
        services = []
        for n, service in enumerate(section.services, start=1):
            total += 1
            where = f"{title}, line {n}"
            code = (service.get("code") or "").strip().upper()
            try:
                procedure = procedure_check(organization=organization, code=code)
            except ValidationError as exc:
                errors.setdefault("sections", []).append(f"{where}: {' '.join(exc.messages)}")
                continue
            try:
                modifiers = modifiers_normalise(service.get("modifiers") or "")
            except ValidationError as exc:
                errors.setdefault("sections", []).append(f"{where}: {' '.join(exc.messages)}")
                continue
            label = (service.get("label") or "").strip()[:120] or procedure.description[:120]
            services.append({"code": procedure.code, "modifiers": modifiers, "label": label})
        clean_sections.append({"title": title, "services": services})
    if total > MAX_SERVICES:
        errors.setdefault("sections", []).append(f"At most {MAX_SERVICES} services on one superbill.")
    clean_dx = []
    seen = set()
    if len(diagnoses) > MAX_DIAGNOSES:
        errors.setdefault("diagnoses", []).append(f"At most {MAX_DIAGNOSES} diagnoses on one superbill.")
    for n, dx in enumerate(diagnoses, start=1):
        try:
            hit = diagnosis_check(dx.get("code") or "")
        except ValidationError as exc:
            errors.setdefault("diagnoses", []).append(f"Diagnosis line {n}: {' '.join(exc.messages)}")
            continue
        if hit.code in seen:
            errors.setdefault("diagnoses", []).append(f"Diagnosis line {n}: {hit.code} is already listed.")
            continue
        seen.add(hit.code)
        clean_dx.append({"code": hit.code, "label": (dx.get("label") or "").strip()[:120] or hit.description[:120]})
    if errors:
        raise ValidationError(errors)
    creating = template is None
    if creating:
        template = SuperbillTemplate(organization=organization)
    else:
        template = SuperbillTemplate.objects.select_for_update().get(pk=template.pk)
    template.name = name[:120]
    template.specialty = (specialty or "").strip()[:80]
    template.sections = clean_sections
    template.diagnoses = clean_dx
    template.is_active = bool(is_active)
    template.full_clean()
    services = sum(len(s["services"]) for s in clean_sections)
    with audit_recorded_as(template, action="superbill.created" if creating else "superbill.changed", actor=actor,
                           summary=f"Superbill {template.name}: {services} services, {len(clean_dx)} diagnoses"[:300]):
        if creating:
            template.save(force_insert=True)
        else:
            template.save(update_fields=["name", "specialty", "sections", "diagnoses", "is_active", "updated_at"])
    return template


__all__ = ["SuperbillSection", "superbill_save"]
