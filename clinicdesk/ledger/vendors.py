"""Vendors: who the practice buys from, by a name no other vendor of the practice has, with the e-mail address its
purchase orders go to. Bills add a vendor the first time they name one (bills.vendor_for); here they are listed,
added and changed."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Organization

from .models import Vendor

VENDOR_FIELDS = ("name", "email")


def vendor_scope(*, user) -> QuerySet:
    """The user's practice's vendors."""
    return Vendor.objects.filter(organization_id=user.organization_id)


def vendor_list(*, user) -> QuerySet:
    """The practice's vendors by name, each with how many bills it has (one query whatever their number)."""
    return vendor_scope(user=user).annotate(bill_count=Count("bills")).order_by("name", "id")


@transaction.atomic
def vendor_save(*, organization: Organization, actor, name: str, email: str = "",
                vendor: Vendor | None = None) -> Vendor:
    """Add a vendor, or change one's name or e-mail address. A name another vendor of the practice has (in any
    case) or an address that is not one is refused, naming the field; a change is audited with what changed."""
    if vendor is not None and vendor.organization_id != organization.pk:
        raise ValidationError({"vendor": "This vendor belongs to another practice."})
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Name the vendor."})
    taken = Vendor.objects.filter(organization=organization, name__iexact=name)
    if taken.exclude(pk=vendor.pk if vendor else None).exists():
        raise ValidationError({"name": f"Another vendor is called {name}."})
    creating = vendor is None
    vendor = vendor or Vendor(organization=organization)
    before = {f: getattr(vendor, f) for f in VENDOR_FIELDS}
    vendor.name, vendor.email = name, (email or "").strip()
    vendor.full_clean(exclude=["organization"], validate_constraints=False)
    changed = [f for f in VENDOR_FIELDS if getattr(vendor, f) != before[f]]
    if creating:
        vendor.save()
    elif changed:
        vendor.save(update_fields=changed)
    else:
        return vendor
    summary = f"Vendor {vendor.name}" + ("" if creating else f": {', '.join(changed)} changed")
    audit_event(action="ledger.vendor_added" if creating else "ledger.vendor_changed", actor=actor, target=vendor,
                organization_id=organization.pk, summary=summary[:300])
    return vendor
