"""SMART App Launch (v1) scopes for users: `user/<resource>.<read|write|*>`, and the role permissions behind them.

A request needs both: a scope of its token that covers the resource and the kind of access, and every
permission code the resource needs from the user's role. Either missing is a 403.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clinicdesk.core.permissions import Perm

READ = "read"
WRITE = "write"

# What each resource needs from the role, per kind of access. A resource with no entry for an access is not
# offered that way (the CapabilityStatement says so too).
RESOURCE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "Patient": {READ: (Perm.PATIENT_VIEW,)},
    "Practitioner": {READ: (Perm.SCHEDULE_VIEW,)},
    "Organization": {READ: (Perm.DASHBOARD,)},
    "Location": {READ: (Perm.SCHEDULE_VIEW,)},
    "Appointment": {READ: (Perm.SCHEDULE_VIEW,), WRITE: (Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)},
    "PractitionerRole": {READ: (Perm.SCHEDULE_VIEW,)},
    "Schedule": {READ: (Perm.SCHEDULE_VIEW,)},
    "Slot": {READ: (Perm.SCHEDULE_VIEW,)},
    # A patient's insurance is patient data: the role must see both charts and coverage.
    "Coverage": {READ: (Perm.PATIENT_VIEW, Perm.COVERAGE_VIEW)},
    # Claims and the payers' answers to them: the role must see both charts and claims.
    "Claim": {READ: (Perm.PATIENT_VIEW, Perm.CLAIMS_VIEW)},
    "ExplanationOfBenefit": {READ: (Perm.PATIENT_VIEW, Perm.CLAIMS_VIEW)},
    # Messages and letters to patients are patient data; a staff task may name a patient.
    "Communication": {READ: (Perm.PATIENT_VIEW, Perm.MESSAGES_VIEW)},
    "Task": {READ: (Perm.STAFF_TASKS, Perm.PATIENT_VIEW)},
    # Charges, accounts and statements are a patient's data as well as billing's.
    "ChargeItem": {READ: (Perm.PATIENT_VIEW, Perm.BILLING_VIEW)},
    "Account": {READ: (Perm.PATIENT_VIEW, Perm.BILLING_VIEW)},
    "Invoice": {READ: (Perm.PATIENT_VIEW, Perm.BILLING_VIEW)},
}
RESOURCE_TYPES = tuple(RESOURCE_PERMISSIONS)

_SCOPE = re.compile(r"^user/(?P<resource>\*|[A-Z][A-Za-z]+)\.(?P<access>read|write|\*)$")


@dataclass(frozen=True)
class Scope:
    resource: str
    access: str

    def covers(self, resource: str, access: str) -> bool:
        return self.resource in ("*", resource) and self.access in ("*", access)


def parse_scope(text: str) -> Scope:
    """One scope, or ValueError naming what is wrong."""
    match = _SCOPE.match(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not a scope; write user/<Resource>.read, user/<Resource>.write or user/*.read.")
    resource = match["resource"]
    if resource != "*" and resource not in RESOURCE_PERMISSIONS:
        raise ValueError(f"'{text}': this server has no {resource} resource; use one of {', '.join(RESOURCE_TYPES)} or *.")
    if resource != "*" and match["access"] == WRITE and WRITE not in RESOURCE_PERMISSIONS[resource]:
        raise ValueError(f"'{text}': {resource} is read-only here.")
    return Scope(resource=resource, access=match["access"])


def scopes_cover(scopes: list[str], resource: str, access: str) -> bool:
    """Whether any of the token's scopes grants `access` to `resource` (unreadable stored scopes grant nothing)."""
    for text in scopes:
        try:
            if parse_scope(text).covers(resource, access):
                return True
        except ValueError:
            continue
    return False


def role_allows(user, resource: str, access: str) -> bool:
    codes = RESOURCE_PERMISSIONS.get(resource, {}).get(access)
    return bool(codes) and all(user.has_perm_code(code) for code in codes)


def scope_choices() -> list[tuple[str, str]]:
    """The scopes a practice administrator can pick from, broadest first."""
    choices = [("user/*.read", "Read every resource"), ("user/*.*", "Read every resource and book or cancel appointments")]
    for resource, accesses in RESOURCE_PERMISSIONS.items():
        for access in accesses:
            verb = "Read" if access == READ else "Create and cancel"
            choices.append((f"user/{resource}.{access}", f"{verb} {resource}"))
    return choices
