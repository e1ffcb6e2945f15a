"""Communications listens to the schedule: waitlist offers are told to the patients at once."""

import logging

from django.dispatch import receiver

from clinicdesk.scheduling.signals import waitlist_offers_made

from .services.reminders import waitlist_offer_tell

logger = logging.getLogger(__name__)


@receiver(waitlist_offers_made)
def tell_waitlist_offers(sender, offers, **kwargs) -> None:
    for offer in offers:
        waitlist_offer_tell(offer=offer)
