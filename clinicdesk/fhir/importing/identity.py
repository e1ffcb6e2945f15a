"""The source system's identity of what an import made: one `ImportedResource` row per resource (or per conditional
reference to something outside the bundle), so the next run finds it and changes nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model

from clinicdesk.core.models import Organization, User

from ..models import ImportedResource
from .report import SKIPPED, ImportReport


def fingerprint(resource: dict) -> str:
    """SHA-256 of the resource in a stable form: the same resource in another file gives the same value."""
    text = json.dumps(resource, sort_keys=True, separators=(",", ":"), default=lambda v: str(v) if isinstance(v, Decimal) else v)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class ImportContext:
    """One bundle's import: who acts for which practice, what is already mapped, and the report."""

    organization: Organization
    actor: User
    report: ImportReport
    source_file: str = ""
    known: dict[tuple[str, str], ImportedResource] = field(default_factory=dict)
    objects: dict[tuple[str, str], Model] = field(default_factory=dict)
    missing: set[tuple[str, str]] = field(default_factory=set)

    def load(self, keys: list[tuple[str, str]]) -> None:
        """Fetch the mapping rows of these (resource type, source id) pairs in one query per type."""
        wanted: dict[str, set[str]] = {}
        for kind, source_id in keys:
            if (kind, source_id) not in self.known:
                wanted.setdefault(kind, set()).add(source_id)
        for kind, ids in wanted.items():
            for row in ImportedResource.objects.filter(organization=self.organization, resource_type=kind,
                                                       source_id__in=ids):
                self.known[(kind, row.source_id)] = row
            self.missing.update((kind, i) for i in ids if (kind, i) not in self.known)

    def find(self, kind: str, source_id: str) -> ImportedResource | None:
        key = (kind, source_id)
        if key not in self.known and key not in self.missing:
            row = ImportedResource.objects.filter(organization=self.organization, resource_type=kind,
                                                  source_id=source_id).first()
            if row is None:
                self.missing.add(key)
            else:
                self.known[key] = row
        return self.known.get(key)

    def skip_imported(self, what: str, row: ImportedResource, resource: dict, *, changed: str) -> None:
        """Report a resource an earlier run imported as skipped; `changed` says where a change at the source is made
        instead, when the resource differs from what was imported."""
        self.report.add(SKIPPED, what, reason="already imported" + (
            "" if row.fingerprint == fingerprint(resource) else f"; {changed}"))

    def target(self, kind: str, source_id: str, model: type[Model]) -> Model | None:
        """The local record a source resource became (cached), or None."""
        key = (kind, source_id)
        if key in self.objects:
            return self.objects[key]
        row = self.find(kind, source_id)
        if row is None or row.target_id is None:
            return None
        obj = model.objects.filter(pk=row.target_id).first()
        self.objects[key] = obj
        return obj

    def remember(self, kind: str, source_id: str, target: Model | None, *, resource: dict | None = None,
                 placeholder: bool = False, display: str = "") -> ImportedResource:
        """Record (or re-point) the mapping of one source resource."""
        row = self.find(kind, source_id)
        values = {
            "target_type": ContentType.objects.get_for_model(target) if target is not None else None,
            "target_id": target.pk if target is not None else None,
            "is_placeholder": placeholder, "display": display[:200],
            "fingerprint": fingerprint(resource) if resource is not None else "",
            "source_file": self.source_file[:255],
        }
        if row is None:
            row = ImportedResource.objects.create(organization=self.organization, resource_type=kind,
                                                  source_id=source_id[:255], **values)
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.save(update_fields=[*values, "updated_at"])
        self.known[(kind, source_id)] = row
        self.missing.discard((kind, source_id))
        if target is not None:
            self.objects[(kind, source_id)] = target
        return row
