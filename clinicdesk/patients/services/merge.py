"""Merging a duplicate patient record into the one the practice keeps.

Everything that points at the duplicate is found through the model registry, not a fixed list, so
the appointments, charges and claims of apps added later follow the patient without changes here.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm

from ..choices import PatientStatus, Relationship
from ..models import CommunicationConsent, Guarantor, Patient
from ..selectors.merge import patient_references
from .records import acting_as


@transaction.atomic
def patient_merge(*, keep: Patient, merge: Patient, actor: User) -> Patient:
    """Fold `merge` into `keep`: every record pointing at `merge` moves to `keep`, and `merge` is kept but hidden.

    The duplicate becomes inactive with merged_into=keep (search and lists leave it out; old links can
    follow the pointer). Where both records hold something that may exist only once per patient, the
    kept record's stays: its guarantor, and for each consent channel the most recent decision.
    """
    if not actor.has_perm_code(Perm.PATIENT_MERGE):
        raise PermissionDenied("Merging records needs the patients.merge permission.")
    # Lock both rows in id order, then check what is true now rather than when the page was drawn.
    locked = {p.pk: p for p in Patient.objects.select_for_update().filter(pk__in=[keep.pk, merge.pk]).order_by("pk")}
    _check(keep=locked.get(keep.pk), merge=locked.get(merge.pk), actor=actor)
    keep, merge = locked[keep.pk], locked[merge.pk]

    report = MergeReport()
    with acting_as(actor):
        for field in patient_references():
            if field.model is Guarantor and field.name == "patient":
                _move_guarantor(keep=keep, merge=merge, report=report)
            elif field.model is CommunicationConsent and field.name == "patient":
                _move_consents(keep=keep, merge=merge, report=report)
            else:
                _move_rows(field, keep=keep, merge=merge, report=report)
        _fix_self_guarantor(keep)
        # Records merged into the duplicate earlier now point straight at the survivor.
        flattened = Patient.objects.filter(merged_into=merge).update(merged_into=keep, updated_at=timezone.now())
        if flattened:
            report.moved["patients.patient.merged_into"] = flattened

        merge.status = PatientStatus.INACTIVE
        merge.merged_into = keep
        merge.save(update_fields=["status", "merged_into", "updated_at"])

    audit_event(
        action="patient.merged",
        actor=actor,
        target=keep,
        summary=f"Merged {merge.display_name} ({merge.mrn}) into {keep.display_name} ({keep.mrn})",
        changes={
            "kept": {"id": keep.pk, "mrn": keep.mrn, "name": keep.display_name},
            "merged": {"id": merge.pk, "mrn": merge.mrn, "name": merge.display_name},
            "moved": report.moved,
            "removed": report.removed,
            "left_on_merged_record": report.left,
        },
    )
    return keep


class MergeReport:
    """Counts per relation (`app.model.field`) of rows moved, removed as superseded, or left behind."""

    def __init__(self) -> None:
        self.moved: dict[str, int] = {}
        self.removed: dict[str, int] = {}
        self.left: dict[str, int] = {}

    @staticmethod
    def add(bucket: dict[str, int], field: models.Field, count: int) -> None:
        if count:
            key = f"{field.model._meta.label_lower}.{field.name}"
            bucket[key] = bucket.get(key, 0) + count


def _check(*, keep: Patient | None, merge: Patient | None, actor: User) -> None:
    if keep is None or keep.organization_id != actor.organization_id:
        raise ValidationError({"keep": "No such patient in your practice."})
    if merge is None or merge.organization_id != actor.organization_id:
        raise ValidationError({"merge": "No such patient in your practice."})
    if keep.pk == merge.pk:
        raise ValidationError({"keep": "Choose a different record: a record cannot be merged into itself."})
    if keep.organization_id != merge.organization_id:
        raise ValidationError({"keep": "Both records must belong to the same practice."})
    if merge.merged_into_id:
        raise ValidationError({"merge": "This record has already been merged into another one."})
    if keep.merged_into_id:
        raise ValidationError({"keep": "That record was itself merged into another one; merge into the surviving record."})


def _move_rows(field: models.ForeignKey, *, keep: Patient, merge: Patient, report: MergeReport) -> None:
    """Re-point rows from merge to keep; rows that would break a uniqueness rule stay on the merged record."""
    manager = field.model._base_manager
    rows = manager.filter(**{field.attname: merge.pk})
    unique_sets = _unique_sets_with(field)
    conflicting: set = set()
    for others in unique_sets:
        if not others:
            # One per patient (a one-to-one): the kept record's wins if it has one.
            if manager.filter(**{field.attname: keep.pk}).exists():
                conflicting |= set(rows.values_list("pk", flat=True))
            continue
        taken = set(manager.filter(**{field.attname: keep.pk}).values_list(*others))
        for pk, *values in rows.values_list("pk", *others):
            if tuple(values) in taken:
                conflicting.add(pk)
    movable = rows.exclude(pk__in=conflicting)
    changes = {field.attname: keep.pk}
    if any(f.name == "updated_at" for f in field.model._meta.concrete_fields):
        changes["updated_at"] = timezone.now()
    report.add(report.moved, field, movable.update(**changes))
    report.add(report.left, field, len(conflicting))


def _unique_sets_with(field: models.ForeignKey) -> list[tuple[str, ...]]:
    """The other columns of each uniqueness rule on the related model that includes `field`."""
    meta = field.model._meta
    sets: list[tuple[str, ...]] = []
    if field.unique:
        sets.append(())
    groups = [tuple(group) for group in meta.unique_together]
    groups += [
        tuple(c.fields) for c in meta.total_unique_constraints if c.fields and not getattr(c, "expressions", ())
    ]
    for group in groups:
        if field.name in group:
            sets.append(tuple(meta.get_field(name).attname for name in group if name != field.name))
    return sets


def _move_guarantor(*, keep: Patient, merge: Patient, report: MergeReport) -> None:
    field = Guarantor._meta.get_field("patient")
    theirs = Guarantor.objects.filter(patient=merge).first()
    if theirs is None:
        return
    if Guarantor.objects.filter(patient=keep).exists():
        # The kept record already names who pays; the duplicate's answer is superseded.
        theirs.delete()
        report.add(report.removed, field, 1)
        return
    theirs.patient = keep
    theirs.save(update_fields=["patient", "updated_at"])
    report.add(report.moved, field, 1)


def _fix_self_guarantor(keep: Patient) -> None:
    # If the kept record's guarantor was the duplicate (or the other way round), it now points at itself.
    for guarantor in Guarantor.objects.filter(patient=keep, guarantor_patient=keep):
        guarantor.relationship = Relationship.SELF
        guarantor.guarantor_patient = None
        guarantor.save(update_fields=["relationship", "guarantor_patient", "updated_at"])


def _decided_at(consent: CommunicationConsent) -> datetime:
    times = [t for t in (consent.opted_in_at, consent.opted_out_at) if t is not None]
    return max(times) if times else consent.updated_at


def _move_consents(*, keep: Patient, merge: Patient, report: MergeReport) -> None:
    """One answer per channel: the most recent decision of the two records wins."""
    field = CommunicationConsent._meta.get_field("patient")
    kept = {c.channel: c for c in CommunicationConsent.objects.filter(patient=keep)}
    for consent in CommunicationConsent.objects.filter(patient=merge).order_by("id"):
        current = kept.get(consent.channel)
        if current is not None and _decided_at(current) >= _decided_at(consent):
            consent.delete()
            report.add(report.removed, field, 1)
            continue
        if current is not None:
            current.delete()
            report.add(report.removed, field, 1)
        consent.patient = keep
        consent.save(update_fields=["patient", "updated_at"])
        report.add(report.moved, field, 1)
