"""Communications listens to the schedule and the roster: waitlist offers are told to the patients at once; a
published roster sends each person their shifts and their calendar link."""

import logging

from django.dispatch import receiver

from clinicdesk.rostering.signals import roster_published
from clinicdesk.scheduling.signals import waitlist_offers_made

from .services.reminders import waitlist_offer_tell

logger = logging.getLogger(__name__)


@receiver(waitlist_offers_made)
def tell_waitlist_offers(sender, offers, **kwargs) -> None:
    for offer in offers:
        waitlist_offer_tell(offer=offer)


@receiver(roster_published)
def tell_roster_published(sender, period, feed_urls, shifts, actor=None, **kwargs) -> None:
    from .services.roster_messages import roster_shifts_send

    roster_shifts_send(period=period, feed_urls=feed_urls, shifts=shifts, actor=actor)
