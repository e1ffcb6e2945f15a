"""Background work of communications (django.tasks); each task is thin and calls a service."""

from django.tasks import task


@task
def message_send(*, message_id: int) -> str:
    """Send one queued message through its channel, exactly once."""
    from .services.delivery import message_deliver

    return message_deliver(message_id=message_id)


@task
def message_send_batch(*, message_ids: list[int]) -> dict[str, int]:
    """Send a batch of queued messages through their channels, each exactly once; counts what happened."""
    from collections import Counter

    from .services.delivery import messages_deliver

    return dict(Counter(messages_deliver(message_ids=message_ids).values()))


@task
def reminders_sweep() -> int:
    """Queue the appointment reminders that are due now (every few minutes)."""
    from .services.reminders import reminders_send_due

    return reminders_send_due()


@task
def campaign_run(*, campaign_id: int) -> int:
    """Queue a started campaign's messages, in chunks, at its pace."""
    from .services.campaigns import campaign_queue_messages

    return campaign_queue_messages(campaign_id=campaign_id)


@task
def outbox_dispatch() -> int:
    """Every minute: hand due messages, and messages whose worker died mid-send, to the workers."""
    from .services.delivery import outbox_dispatch_due

    return outbox_dispatch_due()
