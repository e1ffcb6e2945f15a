"""Telling staff their shifts when a roster is published: one e-mail each, with the calendar link."""

from __future__ import annotations

from clinicdesk.staff.models import StaffMember

from ..choices import MessageChannel
from ..models import Message
from .outbox import OutgoingMessage, message_queue_many


def roster_shifts_send(*, period, feed_urls: dict[int, str], shifts: dict[int, list], actor=None) -> list[Message]:
    """Queue an e-mail to everyone on a published roster (their shifts and their iCalendar link); one per person and
    roster version, whatever the number of calls."""
    people = StaffMember.objects.filter(pk__in=list(shifts), organization_id=period.organization_id).select_related("user")
    items = []
    for member in people:
        address = member.email or (member.user.email if member.user else "")
        lines = [f"  {day:%a %d %b}: {name} {hours}" for day, name, hours in shifts.get(member.pk, [])]
        body = (
            f"Hello {member.first_name},\n\nThe {period.department.name} roster for {period.start:%d %b} to "
            f"{period.end:%d %b %Y} is published. Your shifts ({len(lines)}):\n\n" + "\n".join(lines)
            + f"\n\nAdd them to your calendar (this private link keeps itself up to date):\n{feed_urls.get(member.pk, '')}\n"
        )
        items.append(OutgoingMessage(
            channel=MessageChannel.EMAIL, body=body, to_address=address, location=period.location,
            subject=f"Your shifts: {period.name}", idempotency_key=f"roster:{period.pk}:{member.pk}",
            mind_quiet_hours=False,
        ))
    return message_queue_many(organization=period.organization, messages=items, actor=actor)
