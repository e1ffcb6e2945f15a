"""The practice a management command works on: `--organization SLUG`, or the only one there is."""

from __future__ import annotations

from django.core.management.base import CommandError

from clinicdesk.core.models import Organization


def organization_option(slug: str | None) -> Organization:
    """The organization named by `slug`; without one, the only organization (refused when there are several)."""
    if slug:
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise CommandError(f"No organization '{slug}'.")
        return org
    orgs = list(Organization.objects.all()[:2])
    if len(orgs) != 1:
        raise CommandError("Several organizations (or none): name one with --organization SLUG.")
    return orgs[0]
