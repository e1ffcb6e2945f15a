"""Forms of the encounter, superbill and charge review pages (the coding page parses its rows itself)."""

from __future__ import annotations

import re

from django import forms

from clinicdesk.core.forms import ServiceErrorsMixin

from .choices import EncounterStatus, PlaceOfService
from .services.superbills import SuperbillSection

STATUS_CHOICES = [("", "To code and on hold"), ("all", "All")] + list(EncounterStatus.choices)


class EncounterFilterForm(forms.Form):
    """Date range, provider and location: the filters of the encounter list and the review queue."""

    date_from = forms.DateField(required=False, label="Seen from", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="Seen to", widget=forms.DateInput(attrs={"type": "date"}))
    provider = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Provider")
    location = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Location")

    def __init__(self, *args, providers=(), locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [("", "Anyone")] + [(p.pk, str(p)) for p in providers]
        self.fields["location"].choices = [("", "Any location")] + [(loc.pk, loc.name) for loc in locations]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end is before the start.")
        return data


class EncounterListForm(EncounterFilterForm):
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label="Status")
    field_order = ["status", "date_from", "date_to", "provider", "location"]


class ReviewFilterForm(EncounterFilterForm):
    status = forms.ChoiceField(required=False, label="Waiting", choices=[
        ("", "In review and on hold"), (EncounterStatus.IN_REVIEW, "In review"), (EncounterStatus.ON_HOLD, "On hold")])
    flagged = forms.BooleanField(required=False, label="Flagged only")
    field_order = ["date_from", "date_to", "provider", "location", "status", "flagged"]


class EncounterNewForm(ServiceErrorsMixin, forms.Form):
    provider = forms.TypedChoiceField(coerce=int, label="Rendering provider")
    location = forms.TypedChoiceField(coerce=int, label="Location")
    service_date = forms.DateField(label="Date of service", widget=forms.DateInput(attrs={"type": "date"}))
    place_of_service = forms.ChoiceField(choices=PlaceOfService.choices, initial=PlaceOfService.OFFICE,
                                         label="Place of service")

    def __init__(self, *args, providers=(), locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [(p.pk, str(p)) for p in providers]
        self.fields["location"].choices = [(loc.pk, loc.name) for loc in locations]


class ReasonForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(max_length=300, label="Reason", widget=forms.TextInput(attrs={"autocomplete": "off"}))


_SECTION_RE = re.compile(r"^#+\s*(.*)$")


def parse_sections(text: str) -> list[SuperbillSection]:
    """'## Office visits' starts a section; each other line is 'code [modifiers] | label'."""
    sections: list[SuperbillSection] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        heading = _SECTION_RE.match(line)
        if heading:
            sections.append(SuperbillSection(title=heading.group(1).strip()))
            continue
        if not sections:
            sections.append(SuperbillSection(title="Services"))
        codes, _, label = line.partition("|")
        parts = codes.split()
        sections[-1].services.append({"code": parts[0] if parts else "", "modifiers": ",".join(parts[1:]),
                                      "label": label.strip()})
    return sections


def parse_diagnoses(text: str) -> list[dict]:
    """Each line is 'code | label'."""
    rows = []
    for raw in text.splitlines():
        if raw.strip():
            code, _, label = raw.partition("|")
            rows.append({"code": code.strip(), "label": label.strip()})
    return rows


def sections_text(sections: list[dict]) -> str:
    lines = []
    for section in sections:
        lines.append(f"## {section.get('title', '')}")
        for s in section.get("services", []):
            mods = f" {s['modifiers'].replace(',', ' ')}" if s.get("modifiers") else ""
            lines.append(f"{s.get('code', '')}{mods} | {s.get('label', '')}")
    return "\n".join(lines)


def diagnoses_text(diagnoses: list[dict]) -> str:
    return "\n".join(f"{d.get('code', '')} | {d.get('label', '')}" for d in diagnoses)


class SuperbillForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, label="Name")
    specialty = forms.CharField(max_length=80, required=False, label="Specialty")
    sections = forms.CharField(
        required=False, label="Services", max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        help_text="One service a line: code, modifiers if any, then | and a label. A line starting with ## "
                  "begins a section, e.g. “## Office visits”.")
    diagnoses = forms.CharField(
        required=False, label="Common diagnoses", max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text="One ICD-10-CM code a line, then | and a label (billable codes only).")
    is_active = forms.BooleanField(required=False, initial=True, label="Offered on the coding page")
