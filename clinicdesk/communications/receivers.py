"""Communications listens to the schedule, the roster, staff records and the ledger: waitlist offers are told to the
patients at once; a published roster sends each person their shifts and their calendar link; a lapsing credential
becomes a renewal task; a budget alert becomes a task for the department's owner; an asset's expiry or maintenance
alert becomes a task for the office manager; so does each of the day's supply alerts (low stock, a lot expiring soon,
an expired lot on the shelf); a purchase order sent to its vendor goes out by e-mail."""

import logging

from django.dispatch import receiver

from clinicdesk.core.choices import Role
from clinicdesk.inventory.assets.signals import asset_alert_raised
from clinicdesk.inventory.signals import purchase_order_sent, stock_alerts_found
from clinicdesk.ledger.signals import budget_threshold_passed
from clinicdesk.rostering.signals import roster_published
from clinicdesk.scheduling.signals import waitlist_offers_made
from clinicdesk.staff.signals import credential_expiring

from .choices import StaffTaskKind, StaffTaskStatus
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


@receiver(asset_alert_raised)
def task_asset_alert(sender, alert, **kwargs) -> None:
    """A warranty, support contract or licence about to lapse, or maintenance due: a task in the office manager's inbox."""
    staff_task_create(
        actor=None, organization_id=alert.organization_id, title=alert.message[:200], kind=StaffTaskKind.FOLLOW_UP,
        assignee_role=Role.OFFICE_MANAGER, due_on=alert.due_on, reference=f"asset-alert:{alert.pk}",
        details=f"{alert.asset.get_kind_display()} {alert.asset.make} {alert.asset.model}".strip(),
    )


def _amount(quantity, unit: str) -> str:
    return f"{quantity.normalize():f} {unit}"


@receiver(stock_alerts_found)
def task_stock_alerts(sender, organization, alerts, today, **kwargs) -> None:
    """Each supply alert becomes a task in the office manager's inbox (they order, move and write off stock); an
    alert whose task is still open is not given a second one by the next day's run."""
    from .models import StaffTask

    wanted = []
    for level in alerts.low:
        wanted.append((f"stock-low:{level.item_id}:{level.stock_location_id}", today,
                       f"Low stock: {level.item.name} in {level.stock_location.name}",
                       f"{_amount(level.on_hand, level.item.base_unit)} on hand; reorder point "
                       f"{_amount(level.reorder_point, level.item.base_unit)}, par level "
                       f"{_amount(level.par_level, level.item.base_unit)}."))
    for balance in alerts.expiring:
        wanted.append((f"stock-expiring:{balance.lot_id}:{balance.stock_location_id}", balance.lot.expires_on,
                       f"Use or return soon: {balance.item.name} lot {balance.lot.number} in "
                       f"{balance.stock_location.name} expires {balance.lot.expires_on:%m/%d/%Y}",
                       f"{_amount(balance.on_hand, balance.item.base_unit)} of the lot on hand."))
    for balance in alerts.expired:
        wanted.append((f"stock-expired:{balance.lot_id}:{balance.stock_location_id}", today,
                       f"Remove from the shelf: {balance.item.name} lot {balance.lot.number} in "
                       f"{balance.stock_location.name} expired {balance.lot.expires_on:%m/%d/%Y}",
                       f"{_amount(balance.on_hand, balance.item.base_unit)} of the expired lot on hand: record it as "
                       f"expired."))
    open_already = set(StaffTask.objects.filter(
        organization_id=organization.pk, status=StaffTaskStatus.OPEN, reference__in=[w[0] for w in wanted],
    ).values_list("reference", flat=True))
    for reference, due_on, title, details in wanted:
        if reference in open_already:
            continue
        staff_task_create(actor=None, organization_id=organization.pk, title=title[:200], kind=StaffTaskKind.FOLLOW_UP,
                          assignee_role=Role.OFFICE_MANAGER, due_on=due_on, reference=reference, details=details)


@receiver(purchase_order_sent)
def email_purchase_order(sender, order, to_address, subject, text, html, actor=None, pdf=b"", pdf_name="",
                         **kwargs) -> None:
    """The purchase order to the vendor's address, through the outbox (each sending is its own message), with
    the order's PDF attached when the sender made one."""
    from .choices import MessageChannel
    from .services.outbox import message_queue

    message_queue(organization=order.organization, channel=MessageChannel.EMAIL, to_address=to_address,
                  subject=subject[:200], body=text, html_body=html, actor=actor, mind_quiet_hours=False,
                  attachments=[(pdf_name or f"PO-{order.number}.pdf", "application/pdf", pdf)] if pdf else [],
                  idempotency_key=f"purchase-order:{order.pk}:{order.sent_at.isoformat()}")
