"""Reading a FHIR bundle: JSON with amounts as Decimal, every held resource checked against the R4B model, every
resource type sorted into held, skipped (clinical records the back office does not keep) or refused, and every
reference between entries resolved. Any problem refuses the bundle, naming the entry and the element."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as PydanticError

from .report import BundleRefused

# What the importer turns into practice records.
HELD = ("Patient", "Coverage", "Encounter", "Claim", "ExplanationOfBenefit", "Practitioner", "PractitionerRole",
        "Organization", "Location")
# Clinical records: clinicdesk is the back office and keeps no chart; the EHR that sent them keeps them.
CLINICAL = ("Observation", "Immunization", "DiagnosticReport", "DocumentReference", "Condition", "Procedure",
            "MedicationRequest", "MedicationAdministration", "MedicationStatement", "Medication", "CarePlan",
            "CareTeam", "AllergyIntolerance", "ImagingStudy", "Device", "SupplyDelivery", "Goal", "Media",
            "Provenance", "QuestionnaireResponse", "FamilyMemberHistory", "ServiceRequest")
CLINICAL_REASON = "clinical record; clinicdesk keeps no chart (the sending EHR keeps it)"
BUNDLE_TYPES = ("transaction", "batch", "collection", "searchset", "transaction-response", "batch-response")


@dataclass
class Entry:
    index: int  # as in the file, from 0
    full_url: str
    resource: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.resource["resourceType"]

    @property
    def source_id(self) -> str:
        return self.resource.get("id") or self.full_url.rsplit(":", 1)[-1].rsplit("/", 1)[-1]

    def refused(self, message: str, path: str = "") -> BundleRefused:
        return BundleRefused(message, entry=self.index, full_url=self.full_url, path=path)


@dataclass
class Bundle:
    name: str
    entries: list[Entry]
    by_url: dict[str, Entry] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # clinical resource type -> count

    def of(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind]

    def resolve(self, entry: Entry, reference: dict | None, path: str, *, kinds: tuple[str, ...],
                required: bool = True) -> Entry | None:
        """The entry a reference points at (`urn:uuid:…`, `Type/id` or a full URL), of one of `kinds`."""
        target = (reference or {}).get("reference", "")
        if not target:
            if required:
                raise entry.refused(f"a reference to {' or '.join(kinds)} is required.", path)
            return None
        found = self.by_url.get(target)
        if found is None or found.kind not in kinds:
            raise entry.refused(f"the reference '{target}' points at no {' or '.join(kinds)} in this bundle.", path)
        return found


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def bundle_read(text: str, *, name: str) -> Bundle:
    """Parse and check one bundle; a BundleRefused names what is wrong and where."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise BundleRefused(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise BundleRefused(f"a FHIR Bundle is expected, not {found or 'a resource without resourceType'}.",
                            path="resourceType")
    if data.get("type") not in BUNDLE_TYPES:
        raise BundleRefused(f"Bundle.type '{data.get('type')}' is not one of: {', '.join(BUNDLE_TYPES)}.",
                            path="Bundle.type")
    raw_entries = data.get("entry") or []
    if not isinstance(raw_entries, list):
        raise BundleRefused("Bundle.entry must be a list.", path="Bundle.entry")
    bundle = Bundle(name=name, entries=[])
    for index, raw in enumerate(raw_entries):
        full_url = (raw or {}).get("fullUrl", "") if isinstance(raw, dict) else ""
        resource = raw.get("resource") if isinstance(raw, dict) else None
        if not isinstance(resource, dict):
            raise BundleRefused("the entry has no resource.", entry=index, full_url=full_url,
                                path=f"Bundle.entry[{index}].resource")
        kind = resource.get("resourceType")
        try:
            model = get_fhir_model_class(kind) if isinstance(kind, str) else None
        except (KeyError, ValueError):
            model = None
        if model is None:
            raise BundleRefused(f"'{kind}' is not a FHIR R4 resource type.", entry=index, full_url=full_url,
                                path=f"Bundle.entry[{index}].resource.resourceType")
        entry = Entry(index=index, full_url=full_url, resource=resource)
        if kind in CLINICAL:
            bundle.skipped[kind] = bundle.skipped.get(kind, 0) + 1
        elif kind not in HELD:
            raise BundleRefused(f"clinicdesk does not hold {kind} resources; import_fhir takes "
                                f"{', '.join(HELD)} (and skips clinical records).", entry=index, full_url=full_url,
                                path=f"Bundle.entry[{index}].resource.resourceType")
        else:
            try:
                model.model_validate(resource)
            except PydanticError as exc:
                first = exc.errors()[0]
                raise BundleRefused(f"invalid {kind}: {first['msg']}", entry=index, full_url=full_url,
                                    path=f"{kind}{_where(first['loc'])}") from None
        bundle.entries.append(entry)
        for url in (full_url, f"{kind}/{resource.get('id')}" if resource.get("id") else ""):
            if url:
                if url in bundle.by_url:
                    raise BundleRefused(f"'{url}' is used by two entries.", entry=index, full_url=full_url,
                                        path=f"Bundle.entry[{index}].fullUrl")
                bundle.by_url[url] = entry
    return bundle
