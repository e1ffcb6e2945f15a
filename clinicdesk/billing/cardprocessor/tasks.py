"""Background work of the local card processor (django.tasks)."""

from django.tasks import task


@task
def card_processor_events_redeliver() -> int:
    """Post again the webhook events our endpoint has not acknowledged yet (every minute)."""
    from .events import events_redeliver

    return events_redeliver()


@task
def card_processor_payouts_make() -> int:
    """Pay out the finished settlement days (daily, as a processor's automatic payouts)."""
    from .payouts import payouts_make

    return len(payouts_make())
