"""What the merge page shows: two records side by side, and what each has attached to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import models

from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm

from ..models import Patient

# The demographic fields compared, in the order a front desk reads a face sheet.
COMPARED_FIELDS = (
    "mrn", "last_name", "first_name", "middle_name", "suffix", "preferred_name", "date_of_birth", "sex",
    "gender_identity", "address_line1", "address_line2", "city", "state", "postal_code", "phone_mobile",
    "phone_home", "phone_work", "email", "preferred_language", "status", "deceased_date", "primary_provider",
    "created_at",
)  # fmt: skip


@dataclass(frozen=True)
class ComparedRow:
    label: str
    keep: str
    merge: str

    @property
    def differs(self) -> bool:
        return self.keep != self.merge


@dataclass(frozen=True)
class MergeComparison:
    keep: Patient
    merge: Patient
    fields: list[ComparedRow]
    attached: list[ComparedRow]  # counts of related records, e.g. "Documents: 2 / 0"


def merge_comparison(*, actor: User, keep: Patient, merge: Patient) -> MergeComparison:
    """The two records field by field, and how many related records each holds (all of those move)."""
    if not actor.has_perm_code(Perm.PATIENT_MERGE) or {keep.organization_id, merge.organization_id} != {actor.organization_id}:
        raise PermissionDenied("Not allowed to compare these records.")
    fields = [
        ComparedRow(
            label=str(Patient._meta.get_field(name).verbose_name).capitalize(),
            keep=_shown(keep, name),
            merge=_shown(merge, name),
        )
        for name in COMPARED_FIELDS
    ]
    attached = []
    for field in patient_references():
        related = field.model._base_manager
        keep_count = related.filter(**{field.attname: keep.pk}).count()
        merge_count = related.filter(**{field.attname: merge.pk}).count()
        if keep_count or merge_count:
            label = str(field.model._meta.verbose_name_plural).capitalize()
            if field.name != "patient":
                label = f"{label} ({field.verbose_name})"
            attached.append(ComparedRow(label=label, keep=str(keep_count), merge=str(merge_count)))
    return MergeComparison(keep=keep, merge=merge, fields=fields, attached=attached)


def _shown(patient: Patient, name: str) -> str:
    field = Patient._meta.get_field(name)
    if field.choices:
        return str(getattr(patient, f"get_{name}_display")())
    value = getattr(patient, name)
    if value is None or value == "":
        return ""
    if name == "created_at":
        return f"{value:%Y-%m-%d}"
    return str(value)


def patient_references() -> Iterator[models.ForeignKey]:
    """Every foreign key, in any installed app, that points at Patient, except the merge pointer itself.

    get_fields(include_hidden=True) rather than related_objects, so keys declared with
    related_name="+" and the through tables of many-to-many fields are included too.
    """
    for relation in Patient._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete and relation.is_relation) or relation.many_to_many:
            continue
        field = relation.field
        if field.model is Patient and field.name == "merged_into":
            continue
        yield field
