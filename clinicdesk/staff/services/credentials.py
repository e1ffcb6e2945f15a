"""Writes to credentials: record, change, verify, remove, and the daily expiry alerts at 90, 60 and 30 days."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Organization, User
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.services.records import acting_as

from ..choices import ALERT_THRESHOLDS, StaffStatus
from ..models import Credential, CredentialAlert, StaffMember
from ..signals import credential_expiring
from .records import reject_unknown, same_org, staff_document_check, staff_document_store

CREDENTIAL_FIELDS = ("kind", "name", "number", "state", "issuer", "issued_on", "expires_on", "required")


@transaction.atomic
def credential_save(
    *,
    actor: User,
    member: StaffMember | None = None,
    credential: Credential | None = None,
    data: dict,
    file: UploadedFile | None = None,
) -> Credential:
    """Record a credential for `member`, or change `credential`; an optional scan is checked and filed with it.
    A changed number or dates clear the verification: someone checks the new card."""
    if credential is None:
        if member is None:
            raise ValidationError({"staff": "Choose whose credential this is."})
        same_org(actor, member, "staff")
        credential = Credential(organization_id=member.organization_id, staff=member)
    else:
        same_org(actor, credential, "credential")
    reject_unknown(data, CREDENTIAL_FIELDS)
    creating = credential.pk is None
    before = {name: getattr(credential, name) for name in CREDENTIAL_FIELDS}
    for name, value in data.items():
        setattr(credential, name, value.strip() if isinstance(value, str) else value)
    errors: dict = {}
    content_type = staff_document_check(file, field="document", errors=errors)
    full_clean_or_raise(credential, errors, exclude=["organization", "staff", "document", "verified_by"])
    changed = [name for name in CREDENTIAL_FIELDS if before[name] != getattr(credential, name)]
    if not creating and {"number", "state", "issued_on", "expires_on"} & set(changed):
        credential.verified_at, credential.verified_by = None, None
    if file is not None:
        credential.document = staff_document_store(
            actor=actor, member=credential.staff, file=file, content_type=content_type, title=credential.name
        )
    with acting_as(actor):
        credential.save()
    audit_event(
        action="credential.recorded" if creating else "credential.changed", actor=actor, target=credential,
        summary=f"{'Recorded' if creating else 'Changed'} {credential.label} of {credential.staff.full_name}",
        changes={name: [str(before[name]), str(getattr(credential, name))] for name in changed} if not creating else None,
    )
    return credential


@transaction.atomic
def credential_verify(*, actor: User, credential: Credential, note: str = "") -> Credential:
    """Mark a credential checked at the source (the state board's look-up, the card itself) by the actor, now."""
    same_org(actor, credential, "credential")
    credential.verified_at, credential.verified_by = timezone.now(), actor
    credential.verification_note = (note or "").strip()[:200]
    with acting_as(actor):
        credential.save(update_fields=["verified_at", "verified_by", "verification_note", "updated_at"])
    audit_event(action="credential.verified", actor=actor, target=credential,
                summary=f"Verified {credential.label} of {credential.staff.full_name}")
    return credential


@transaction.atomic
def credential_delete(*, actor: User, credential: Credential) -> None:
    """Remove a credential recorded by mistake; the audit trail keeps what it was."""
    same_org(actor, credential, "credential")
    audit_event(action="credential.deleted", actor=actor, target=credential,
                summary=f"Removed {credential.label} of {credential.staff.full_name}")
    with acting_as(actor):
        credential.delete()


def _threshold(days_left: int) -> int | None:
    """The smallest threshold the credential has reached (0 when expired), or None when it is further out."""
    if days_left < 0:
        return 0
    reached = [t for t in ALERT_THRESHOLDS if days_left <= t]
    return min(reached) if reached else None


def credential_alerts_send(*, organization: Organization, today: date | None = None) -> int:
    """Record and send each credential's expiry alert once per threshold (90, 60, 30 days, then expired); a re-run
    the same day or the next sends nothing new. A credential that skipped a threshold gets only the nearest one."""
    today = today or timezone.localdate()
    horizon = date.fromordinal(today.toordinal() + max(ALERT_THRESHOLDS))
    due = (
        Credential.objects.filter(organization=organization, required=True, expires_on__lte=horizon)
        .exclude(staff__status=StaffStatus.OFFBOARDED)
        .select_related("staff", "staff__manager", "staff__user", "staff__manager__user")
    )
    sent_before = set(
        CredentialAlert.objects.filter(credential__organization=organization, expires_on__gte=date.fromordinal(
            today.toordinal() - 3650)).values_list("credential_id", "expires_on", "threshold_days")
    )
    sent = 0
    for credential in due:
        threshold = _threshold((credential.expires_on - today).days)
        if threshold is None or (credential.pk, credential.expires_on, threshold) in sent_before:
            continue
        try:
            with transaction.atomic():
                CredentialAlert.objects.create(
                    credential=credential, threshold_days=threshold, expires_on=credential.expires_on, sent_on=today
                )
                credential_expiring.send(sender=Credential, credential=credential, days=threshold)
        except IntegrityError:
            continue  # another run recorded it a moment ago
        sent += 1
    if sent:
        audit_event(action="credential.alerts_sent", organization_id=organization.pk,
                    summary=f"Sent {sent} credential expiry alert(s)")
    return sent
