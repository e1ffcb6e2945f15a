"""Writes to service tickets: open one against an asset, comment, assign, and move it through its statuses;
a move the ticket's status does not allow is refused with a message naming both statuses."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.services.records import acting_as
from clinicdesk.staff.services.records import reject_unknown, same_org

from ..choices import TICKET_ACTIVE, TICKET_MOVES, AssetStatus, TicketEntryKind, TicketStatus
from ..models import Asset, ServiceTicket, TicketEntry
from .assets import related_in_org

TICKET_FIELDS = ("title", "description", "priority", "vendor", "vendor_reference", "assigned_to")
# Moving to these needs a note saying why (what fixed it, what the vendor is waiting for, why it was reopened).
NOTE_NEEDED = {TicketStatus.RESOLVED: "Say how it was resolved.",
               TicketStatus.WAITING_VENDOR: "Say what the vendor is doing (their case number helps).",
               TicketStatus.OPEN: "Say why it is reopened."}


@transaction.atomic
def ticket_open(*, actor: User, asset: Asset, data: dict) -> ServiceTicket:
    """Report a problem with an asset; the first line of its timeline is the report."""
    same_org(actor, asset, "asset")
    reject_unknown(data, TICKET_FIELDS)
    related_in_org(actor, data, ("vendor", "assigned_to"))
    ticket = ServiceTicket(organization_id=asset.organization_id, asset=asset, reported_by=actor)
    for name, value in data.items():
        setattr(ticket, name, value.strip() if isinstance(value, str) else value)
    full_clean_or_raise(ticket, exclude=["organization", "asset", "reported_by"])
    with acting_as(actor):
        ticket.save()
    TicketEntry.objects.create(ticket=ticket, kind=TicketEntryKind.STATUS, author=actor, to_status=ticket.status,
                               body=ticket.description)
    audit_event(action="asset.ticket_opened", actor=actor, target=ticket,
                summary=f"Opened ticket #{ticket.pk} on {asset.tag}: {ticket.title}")
    return ticket


@transaction.atomic
def ticket_update(*, actor: User, ticket: ServiceTicket, data: dict) -> ServiceTicket:
    """Change a ticket's priority, vendor, vendor case number or who works it (not its status: see ticket_move)."""
    same_org(actor, ticket, "ticket")
    reject_unknown(data, ("priority", "vendor", "vendor_reference", "assigned_to"))
    related_in_org(actor, data, ("vendor", "assigned_to"))
    for name, value in data.items():
        setattr(ticket, name, value.strip() if isinstance(value, str) else value)
    full_clean_or_raise(ticket, exclude=["organization", "asset", "reported_by"])
    with acting_as(actor):
        ticket.save(update_fields=[*data, "updated_at"])
    audit_event(action="asset.ticket_changed", actor=actor, target=ticket,
                summary=f"Changed ticket #{ticket.pk}: {', '.join(sorted(data)) or 'nothing'}")
    return ticket


@transaction.atomic
def ticket_comment(*, actor: User, ticket: ServiceTicket, body: str) -> TicketEntry:
    """Add a comment to a ticket's timeline (a closed ticket takes no more)."""
    same_org(actor, ticket, "ticket")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write the comment."})
    if "\x00" in body:  # PostgreSQL refuses a NUL in text; it is never part of a real comment
        raise ValidationError({"body": "The comment holds a NUL character; type it again."})
    if ticket.status == TicketStatus.CLOSED:
        raise ValidationError({"body": "The ticket is closed; open a new one for a new problem."})
    entry = TicketEntry.objects.create(ticket=ticket, kind=TicketEntryKind.COMMENT, author=actor, body=body[:5000])
    ServiceTicket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    audit_event(action="asset.ticket_commented", actor=actor, target=ticket, summary=f"Commented on ticket #{ticket.pk}")
    return entry


@transaction.atomic
def ticket_move(*, actor: User, ticket: ServiceTicket, to_status: str, note: str = "") -> ServiceTicket:
    """Move a ticket to another status if its current status allows it; resolving, waiting on the vendor and
    reopening need a note. An asset in repair goes back in use when its ticket is resolved."""
    same_org(actor, ticket, "ticket")
    ticket = ServiceTicket.objects.select_for_update().select_related("asset").get(pk=ticket.pk)
    note = (note or "").strip()
    if to_status not in TicketStatus.values:
        raise ValidationError({"to_status": f"'{to_status}' is not a ticket status."})
    current, target = TicketStatus(ticket.status), TicketStatus(to_status)
    if target not in TICKET_MOVES[current]:
        allowed = ", ".join(TicketStatus(s).label.lower() for s in TICKET_MOVES[current]) or "nothing: it is final"
        raise ValidationError({"to_status": f"A {current.label.lower()} ticket cannot be moved to "
                                            f"{target.label.lower()}; it can go to {allowed}."})
    if target in NOTE_NEEDED and not note:
        raise ValidationError({"note": NOTE_NEEDED[target]})
    now = timezone.now()
    ticket.status = target
    if target == TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif target == TicketStatus.CLOSED:
        ticket.closed_at = now
    else:
        ticket.resolved_at = None
    with acting_as(actor):
        ticket.save(update_fields=["status", "resolved_at", "closed_at", "updated_at"])
        asset = ticket.asset
        if target == TicketStatus.RESOLVED and asset.status == AssetStatus.IN_REPAIR and not asset.tickets.filter(
                status__in=TICKET_ACTIVE).exists():
            asset.status = AssetStatus.IN_USE
            asset.save(update_fields=["status", "updated_at"])
    TicketEntry.objects.create(ticket=ticket, kind=TicketEntryKind.STATUS, author=actor, from_status=current,
                               to_status=target, body=note[:5000])
    audit_event(action="asset.ticket_moved", actor=actor, target=ticket,
                summary=f"Ticket #{ticket.pk} {current.label.lower()} → {target.label.lower()}",
                changes={"status": [str(current), str(target)]})
    return ticket
