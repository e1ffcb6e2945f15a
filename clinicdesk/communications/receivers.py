"""Communications listens to the schedule and the ledger: waitlist offers are told to the patients at once; budget
alerts become a task for the department's owner."""

import logging

from django.dispatch import receiver

from clinicdesk.ledger.signals import budget_threshold_passed
from clinicdesk.scheduling.signals import waitlist_offers_made

from .choices import StaffTaskKind
from .services.reminders import waitlist_offer_tell
from .services.tasks import staff_task_create

logger = logging.getLogger(__name__)


@receiver(waitlist_offers_made)
def tell_waitlist_offers(sender, offers, **kwargs) -> None:
    for offer in offers:
        waitlist_offer_tell(offer=offer)


@receiver(budget_threshold_passed)
def tell_department_owner_of_budget(sender, alert, **kwargs) -> None:
    """A department's spending passed a share of its month's budget: a review task for the department's owner."""
    owner = alert.department.owner
    if owner is None or not owner.is_active:
        logger.info("Budget alert %s: department %s has no owner to tell", alert.pk, alert.department_id)
        return
    staff_task_create(
        actor=None, organization_id=alert.organization_id, assignee=owner, kind=StaffTaskKind.REVIEW,
        title=f"{alert.department.name}: spending passed {alert.threshold}% of the {alert.month:%B %Y} budget",
        details=f"Spent {alert.actual} of a budget of {alert.budget}.", reference=f"budget-alert-{alert.pk}",
    )
