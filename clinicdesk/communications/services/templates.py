"""Templates for letters, e-mails and text messages: created, given new versions (old ones are never changed),
retired, looked up by code, and previewed with sample or real data."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Organization, User
from clinicdesk.core.permissions import Perm
from clinicdesk.core.validation import full_clean_or_raise

from .. import merge
from ..choices import MessagePurpose, TemplateKind
from ..models import MessageTemplate, TemplateVersion
from ..rendering import Rendered, render, template_check


def _ensure_may_manage(actor: User | None, organization_id: int) -> None:
    """Services are called by views, tasks and the demo; a person must hold the permission, in this practice."""
    if actor is None:
        return
    if not actor.has_perm_code(Perm.TEMPLATES_MANAGE):
        raise PermissionDenied("Needs templates.manage")
    if actor.organization_id != organization_id:
        raise ValidationError({"template": "The template belongs to another practice."})


@transaction.atomic
def template_create(
    *, actor: User | None, organization: Organization, code: str, name: str, kind: str,
    purpose: str = MessagePurpose.GENERAL, subject: str = "", body: str,
) -> MessageTemplate:
    """A new template with its first version; the wording is checked first, so nothing is saved if it is refused."""
    _ensure_may_manage(actor, organization.pk)
    errors: dict[str, list[str]] = {}
    try:
        merge_fields = template_check(kind=kind, subject=subject, body=body)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        merge_fields = []
    template = MessageTemplate(organization=organization, code=(code or "").strip(), name=(name or "").strip(),
                               kind=kind, purpose=purpose or MessagePurpose.GENERAL)
    if template.code and MessageTemplate.objects.filter(organization=organization, code=template.code).exists():
        errors["code"] = [f"A template with the code '{template.code}' already exists."]
    full_clean_or_raise(template, errors, exclude=["current"])
    template.save()
    _new_version(actor=actor, template=template, subject=subject, body=body, merge_fields=merge_fields)
    audit_event(action="template.created", actor=actor, target=template, organization_id=organization.pk,
                summary=f"{template.get_kind_display()} template '{template.code}' created")
    return template


def _new_version(*, actor, template: MessageTemplate, subject: str, body: str, merge_fields: list[str]) -> TemplateVersion:
    number = (TemplateVersion.objects.filter(template=template).aggregate(n=Max("number"))["n"] or 0) + 1
    version = TemplateVersion(template=template, number=number, subject=subject or "", body=body, merge_fields=merge_fields,
                              created_by=actor if actor is not None and actor.pk else None)
    full_clean_or_raise(version)
    version.save()
    template.current = version
    template.save(update_fields=["current", "updated_at"])
    return version


@transaction.atomic
def template_version_save(*, actor: User | None, template: MessageTemplate, subject: str, body: str) -> TemplateVersion:
    """Save new wording as the next version and make it current; earlier versions stay as they were."""
    _ensure_may_manage(actor, template.organization_id)
    template = MessageTemplate.objects.select_for_update().get(pk=template.pk)
    merge_fields = template_check(kind=template.kind, subject=subject, body=body)
    version = _new_version(actor=actor, template=template, subject=subject, body=body, merge_fields=merge_fields)
    audit_event(action="template.version_saved", actor=actor, target=template,
                summary=f"Template '{template.code}' version {version.number} saved")
    return version


@transaction.atomic
def template_deactivate(*, actor: User | None, template: MessageTemplate) -> MessageTemplate:
    """Retire a template: it is no longer offered or used; its versions stay for what was sent with them."""
    _ensure_may_manage(actor, template.organization_id)
    if template.is_active:
        template.is_active = False
        template.save(update_fields=["is_active", "updated_at"])
        audit_event(action="template.deactivated", actor=actor, target=template, summary=f"Template '{template.code}' retired")
    return template


@transaction.atomic
def template_activate(*, actor: User | None, template: MessageTemplate) -> MessageTemplate:
    """Bring a retired template back into use."""
    _ensure_may_manage(actor, template.organization_id)
    if not template.is_active:
        template.is_active = True
        template.save(update_fields=["is_active", "updated_at"])
        audit_event(action="template.activated", actor=actor, target=template, summary=f"Template '{template.code}' in use again")
    return template


def template_current(*, organization: Organization, code: str) -> TemplateVersion:
    """The wording in use for `code` ("reminder-sms"); a ValidationError naming the code if there is none."""
    template = (MessageTemplate.objects.select_related("current")
                .filter(organization=organization, code=code, is_active=True).first())
    if template is None or template.current is None:
        raise ValidationError({"template": f"The practice has no active template '{code}'. Install the default "
                                           f"templates or create one with that code."})
    version = template.current
    version.template = template
    return version


def template_preview(
    *, actor: User, template: MessageTemplate | None = None, version: TemplateVersion | None = None,
    kind: str | None = None, subject: str | None = None, body: str | None = None,
    patient=None, appointment=None,
) -> Rendered:
    """A template filled in: with sample values, or with a real patient's (then the read is audited).

    Give a template (its current wording), a version, or unsaved wording (`kind`, `subject`, `body`)."""
    if version is None and template is not None:
        version = template.current
    if version is not None:
        template = template or version.template
        kind, subject, body = template.kind, version.subject, version.body
        organization_id = template.organization_id
    else:
        organization_id = actor.organization_id
        if kind not in TemplateKind.values:
            raise ValidationError({"kind": "Choose the kind of template."})
    if organization_id != actor.organization_id:
        raise ValidationError({"template": "The template belongs to another practice."})
    for record in (patient, appointment):
        if record is not None and record.organization_id != actor.organization_id:
            raise ValidationError({"patient": "The patient belongs to another practice."})
    organization = actor.organization
    if patient is None and appointment is None:
        context = merge.sample_context(organization)
    else:
        context = merge.merge_context(organization=organization, patient=patient, appointment=appointment)
        audit_event(action="template.previewed", actor=actor, target=patient or appointment.patient,
                    summary=f"Template previewed with the patient's details{f' ({template.code})' if template else ''}")
    return render(body or "", context, kind=kind, subject=subject or "")
