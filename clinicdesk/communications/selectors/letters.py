"""Reads of letters, letterheads and signatures, scoped to the actor's practice. Showing a letter is a read of
the patient's record and is audited here."""

from __future__ import annotations

from datetime import date, datetime, time

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import Role
from clinicdesk.core.models import Location, User
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.models import Patient

from ..choices import LetterStatus
from ..models import Letter, Letterhead, Signature


def letter_scope(*, actor: User) -> QuerySet[Letter]:
    """Letters of the actor's practice, for someone who writes letters."""
    if actor is None or not actor.has_perm_code(Perm.LETTERS_WRITE):
        return Letter.objects.none()
    return Letter.objects.filter(organization_id=actor.organization_id)


def letter_list(
    *, actor: User, status: str = "", q: str = "", template_code: str = "", date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Letter]:
    """The practice's letters, newest first, by status, patient name or MRN, template and date started."""
    rows = letter_scope(actor=actor).select_related(
        "patient", "signer", "author", "template_version__template", "location")
    if status in LetterStatus.values:
        rows = rows.filter(status=status)
    if q:
        rows = rows.filter(Q(patient__last_name__icontains=q) | Q(patient__first_name__icontains=q)
                           | Q(patient__mrn__iexact=q) | Q(subject__icontains=q))
    if template_code:
        rows = rows.filter(template_version__template__code=template_code)
    tz = timezone.get_current_timezone()
    if date_from:
        rows = rows.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        rows = rows.filter(created_at__lt=datetime.combine(date_to, time.max, tzinfo=tz))
    return rows.order_by("-created_at", "-id")


def _find(*, actor: User, public_id: str) -> Letter:
    letter = (letter_scope(actor=actor)
              .select_related("patient", "signer", "author", "location", "document", "template_version__template", "organization")
              .filter(public_id=public_id, patient__merged_into__isnull=True).first())
    if letter is None:
        raise Http404("No such letter.")
    return letter


def letter_get(*, actor: User, public_id: str, action: str = "letter.viewed") -> Letter:
    """One letter, for showing: the read is written to the audit trail."""
    letter = _find(actor=actor, public_id=public_id)
    audit_event(action=action, actor=actor, target=letter, patient=letter.patient, summary=f"Letter '{letter.subject}' opened")
    return letter


def letter_for_change(*, actor: User, public_id: str) -> Letter:
    """One letter about to be changed by a service (the service audits the change)."""
    return _find(actor=actor, public_id=public_id)


def letters_for_patient(*, actor: User, patient: Patient) -> QuerySet[Letter]:
    """A patient's letters, newest first (for the patient's timeline; the caller audits what it shows)."""
    if patient.organization_id != getattr(actor, "organization_id", None):
        return Letter.objects.none()
    return (letter_scope(actor=actor).filter(patient=patient)
            .select_related("signer", "author", "template_version__template", "document").order_by("-created_at", "-id"))


def letterhead_list(*, actor: User) -> QuerySet[Letterhead]:
    if actor is None or not actor.has_perm_code(Perm.LETTERS_WRITE):
        return Letterhead.objects.none()
    return Letterhead.objects.filter(organization_id=actor.organization_id).select_related("location").order_by(
        "location__name", "pk")


def letterhead_get(*, actor: User, letterhead_id: int) -> Letterhead:
    letterhead = letterhead_list(actor=actor).filter(pk=letterhead_id).first()
    if letterhead is None:
        raise Http404("No such letterhead.")
    return letterhead


def signature_list(*, actor: User) -> QuerySet[Signature]:
    if actor is None or not actor.has_perm_code(Perm.LETTERS_WRITE):
        return Signature.objects.none()
    return Signature.objects.filter(organization_id=actor.organization_id).select_related("user").order_by("name_line", "pk")


def signature_get(*, actor: User, signature_id: int) -> Signature:
    signature = signature_list(actor=actor).filter(pk=signature_id).first()
    if signature is None:
        raise Http404("No such signature.")
    return signature


def letter_signers(*, actor: User) -> QuerySet[User]:
    """Who a letter can be from: the practice's active staff who see patients or run the office."""
    return User.objects.filter(
        organization_id=actor.organization_id, is_active=True,
        role__in=[Role.CLINICIAN, Role.NURSE, Role.OFFICE_MANAGER, Role.ADMINISTRATOR],
    ).order_by("last_name", "first_name", "pk")


def letter_locations(*, actor: User) -> QuerySet[Location]:
    return Location.objects.filter(organization_id=actor.organization_id, is_active=True).order_by("name")
