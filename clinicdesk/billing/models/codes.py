"""The practice's own procedure list (CPT and HCPCS Level II, imported, since CPT is licensed) and its fee
schedules: what each procedure, with which modifiers, costs from which date."""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from clinicdesk.core.models import Organization

from ..choices import CodeSystem

CODE_FORMATS = {
    # Category I (5 digits), II (4 digits + F), III (4 digits + T) and lab PLA codes (4 digits + U).
    CodeSystem.CPT: re.compile(r"^[0-9]{4}[0-9FTU]$"),
    # HCPCS Level II: a letter and four digits (G0008, J1100, A4550).
    CodeSystem.HCPCS: re.compile(r"^[A-Z][0-9]{4}$"),
}
CODE_HINTS = {CodeSystem.CPT: "five digits, or four digits and F, T or U", CodeSystem.HCPCS: "a letter and four digits"}
MODIFIER_RE = re.compile(r"^[A-Z0-9]{2}$")
MAX_MODIFIERS = 4


def code_error(code: str, code_system: str) -> str | None:
    """Why `code` is not a `code_system` code, or None when its format is right."""
    pattern = CODE_FORMATS.get(code_system)
    if pattern is None:
        return f"Unknown code system {code_system!r}; use CPT or HCPCS."
    if not pattern.match(code):
        return f"{code or '(blank)'} is not a {CodeSystem(code_system).label} code ({CODE_HINTS[code_system]})."
    return None


def modifiers_normalise(text: str) -> str:
    """'25' -> '25', ' 26, tc' -> '26,TC'. The order is kept: it is the order the claim lists them in.

    Raises ValidationError for a modifier that is not two letters or digits, repeats, or more than four."""
    parts = [p.strip().upper() for p in re.split(r"[,\s]+", text or "") if p.strip()]
    bad = [p for p in parts if not MODIFIER_RE.match(p)]
    if bad:
        raise ValidationError(f"Modifiers are two letters or digits each, comma separated; not {', '.join(bad)}.")
    if len(set(parts)) != len(parts):
        raise ValidationError("A modifier is listed twice.")
    if len(parts) > MAX_MODIFIERS:
        raise ValidationError(f"At most {MAX_MODIFIERS} modifiers.")
    return ",".join(parts)


class ProcedureCode(models.Model):
    """A procedure or supply code the practice bills, with the practice's own short description."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    code_system = models.CharField(max_length=5, choices=CodeSystem.choices)
    code = models.CharField(max_length=5)
    description = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="procedure_code_unique_per_org"),
            models.CheckConstraint(condition=Q(code_system__in=CodeSystem.values), name="procedure_code_system_known"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"

    def clean(self) -> None:
        self.code = (self.code or "").strip().upper()
        problem = code_error(self.code, self.code_system)
        if problem:
            raise ValidationError({"code": problem})


class FeeSchedule(models.Model):
    """A named price list (self-pay, a payer's contract); one per practice is the default."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    is_default = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="fee_schedule_name_unique_per_org"),
            models.UniqueConstraint(fields=["organization"], condition=Q(is_default=True),
                                    name="fee_schedule_one_default_per_org"),
        ]

    def __str__(self) -> str:
        return self.name


class Fee(models.Model):
    """The price of a procedure with given modifiers on a schedule, from a date (to a date, or open ended).

    Two fees of the same schedule, procedure and modifiers never cover the same day."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    schedule = models.ForeignKey(FeeSchedule, on_delete=models.CASCADE, related_name="fees")
    procedure = models.ForeignKey(ProcedureCode, on_delete=models.PROTECT, related_name="fees")
    modifiers = models.CharField(max_length=20, blank=True, help_text="As on the claim, e.g. 25 or 26,TC.")
    price = models.DecimalField(max_digits=14, decimal_places=2)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Last day the price applies; empty for open ended.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["schedule_id", "procedure_id", "modifiers", "effective_from"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="fee_price_not_negative"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")),
                                   name="fee_dates_in_order"),
            models.UniqueConstraint(fields=["schedule", "procedure", "modifiers", "effective_from"],
                                    name="fee_unique_start"),
        ]
        indexes = [models.Index(fields=["schedule", "procedure", "modifiers", "effective_from"], name="fee_lookup_idx")]

    def __str__(self) -> str:
        mods = f"-{self.modifiers}" if self.modifiers else ""
        return f"{self.procedure.code}{mods} {self.price} from {self.effective_from}"

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def overlapping(self) -> models.QuerySet[Fee]:
        """Other fees of the same schedule, procedure and modifiers whose dates meet this one's."""
        others = Fee.objects.filter(schedule_id=self.schedule_id, procedure_id=self.procedure_id, modifiers=self.modifiers)
        if self.pk:
            others = others.exclude(pk=self.pk)
        others = others.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=self.effective_from))
        if self.effective_to is not None:
            others = others.filter(effective_from__lte=self.effective_to)
        return others

    def clean(self) -> None:
        errors: dict[str, str] = {}
        try:
            self.modifiers = modifiers_normalise(self.modifiers)
        except ValidationError as exc:
            errors["modifiers"] = exc.messages[0]
        if self.price is not None and self.price < 0:
            errors["price"] = "A price cannot be negative."
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            errors["effective_to"] = "The last day comes before the first day."
        owners = {self.schedule.organization_id, self.procedure.organization_id} if self.schedule_id and self.procedure_id else None
        if owners is not None and owners != {self.organization_id}:
            errors["schedule"] = "The schedule and the procedure belong to another practice."
        if not errors and self.schedule_id and self.procedure_id and self.effective_from:
            clash = self.overlapping().first()
            if clash is not None:
                errors["effective_from"] = (
                    f"Overlaps the price from {clash.effective_from} to {clash.effective_to or 'open end'}.")
        if errors:
            raise ValidationError(errors)
