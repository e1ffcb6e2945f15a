"""Reads of templates and their versions, scoped to the actor's practice. Letter writers may read them; only
template managers change them."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm

from ..choices import TemplateKind
from ..models import MessageTemplate, TemplateVersion


def template_scope(*, actor: User) -> QuerySet[MessageTemplate]:
    """The practice's templates, for someone who writes letters or manages templates; nothing for anyone else."""
    if actor is None or not (actor.has_perm_code(Perm.LETTERS_WRITE) or actor.has_perm_code(Perm.TEMPLATES_MANAGE)):
        return MessageTemplate.objects.none()
    return MessageTemplate.objects.filter(organization_id=actor.organization_id)


def template_list(*, actor: User, kind: str = "", active: str = "yes", q: str = "") -> QuerySet[MessageTemplate]:
    """Templates by kind and name, with their current version and how many versions each has."""
    rows = template_scope(actor=actor).select_related("current").annotate(version_count=Count("versions"))
    if kind:
        rows = rows.filter(kind=kind)
    if active in ("yes", "no"):
        rows = rows.filter(is_active=active == "yes")
    if q:
        rows = rows.filter(Q(name__icontains=q) | Q(code__icontains=q))
    return rows.order_by("kind", "name", "pk")


def template_get(*, actor: User, template_id: int) -> MessageTemplate:
    """One template of the actor's practice (404 for another practice's, so existence is not revealed)."""
    template = template_scope(actor=actor).select_related("current").filter(pk=template_id).first()
    if template is None:
        raise Http404("No such template.")
    return template


def template_versions(*, actor: User, template: MessageTemplate) -> QuerySet[TemplateVersion]:
    """Every saved wording of the template, newest first."""
    return (TemplateVersion.objects.filter(template__in=template_scope(actor=actor), template=template)
            .select_related("created_by").order_by("-number"))


def template_version_get(*, actor: User, template: MessageTemplate, number: int) -> TemplateVersion:
    version = template_versions(actor=actor, template=template).filter(number=number).first()
    if version is None:
        raise Http404("No such version.")
    return version


def letter_templates(*, actor: User) -> QuerySet[MessageTemplate]:
    """Letter templates in use, for the composer."""
    return (template_scope(actor=actor).filter(kind=TemplateKind.LETTER, is_active=True, current__isnull=False)
            .select_related("current").order_by("name"))
