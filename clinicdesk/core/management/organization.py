"""The practice a management command works on (`--organization SLUG`, or the only one there is) and who it acts as."""

from __future__ import annotations

from django.core.management.base import CommandError

from clinicdesk.core.choices import Role
from clinicdesk.core.models import Organization, User


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


def acting_user(org: Organization, username: str | None, *, doing: str) -> User:
    """Who a command acts as: `--user USERNAME` (an active user of `org`), else the practice's only active
    administrator. `doing` completes the message asking for --user ("imports", "exports")."""
    if username:
        actor = User.objects.filter(username=username).first()
        if actor is None:
            raise CommandError(f"No user '{username}'.")
        if actor.organization_id != org.pk:
            raise CommandError(f"'{username}' is a user of another practice, not of {org.slug}.")
        if not actor.is_active:
            raise CommandError(f"'{username}' is no longer active in {org.slug}.")
        return actor
    admins = list(User.objects.filter(organization=org, role=Role.ADMINISTRATOR, is_active=True)[:2])
    if len(admins) != 1:
        raise CommandError(f"{org.slug} has {'several' if admins else 'no'} active administrators: "
                           f"name who {doing} with --user USERNAME.")
    return admins[0]
