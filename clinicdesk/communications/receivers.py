"""Communications listens to the schedule, the roster and staff records: waitlist offers are told to the patients at
once; a published roster sends each person their shifts and their calendar link; a lapsing credential becomes a
renewal task."""

import logging

from django.dispatch import receiver

from clinicdesk.core.choices import Role
from clinicdesk.rostering.signals import roster_published
from clinicdesk.scheduling.signals import waitlist_offers_made
from clinicdesk.staff.signals import credential_expiring

from .choices import StaffTaskKind
from .services.reminders import waitlist_offer_tell
from .services.tasks import staff_task_create

logger = logging.getLogger(__name__)


@receiver(waitlist_offers_made)
def tell_waitlist_offers(sender, offers, **kwargs) -> None:
    for offer in offers:
        waitlist_offer_tell(offer=offer)


@receiver(credential_expiring)
def task_credential_renewal(sender, credential, days, **kwargs) -> None:
    """The staff member and their manager each get a task in their inbox to renew the credential."""
    member = credential.staff
    when = f"expired {credential.expires_on:%b %d, %Y}" if days == 0 else f"expires {credential.expires_on:%b %d, %Y}"
    title = f"Renew {credential.label} of {member.full_name}: {when}"
    people = [member.user, member.manager.user if member.manager else None]
    # Nobody with a sign-in to tell: the office manager's inbox has it.
    targets = [(p, "") for p in dict.fromkeys(p for p in people if p is not None and p.is_active)]
    for assignee, assignee_role in targets or [(None, Role.OFFICE_MANAGER)]:
        staff_task_create(
            actor=None, organization_id=credential.organization_id, title=title[:200], kind=StaffTaskKind.FOLLOW_UP,
            assignee=assignee, assignee_role=assignee_role, due_on=credential.expires_on,
            reference=f"credential:{credential.pk}:{days}",
            details=f"{credential.get_kind_display()} {credential.number}".strip(),
        )
@receiver(roster_published)
def tell_roster_published(sender, period, feed_urls, shifts, actor=None, **kwargs) -> None:
    from .services.roster_messages import roster_shifts_send

    roster_shifts_send(period=period, feed_urls=feed_urls, shifts=shifts, actor=actor)
