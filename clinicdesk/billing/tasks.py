"""Background work of billing (django.tasks); each task is thin and calls a service."""

from django.tasks import task


@task
def statement_run_execute_task(*, run_id: int) -> str:
    """Make and send the statements of a started statement run (safe to run twice)."""
    from .services.statements import statement_run_execute

    return statement_run_execute(run_id=run_id).status


@task
def payment_plans_check() -> dict[str, int]:
    """Once a day: charge the autopay plans' due installments, then flag missed installments and close plans that
    are paid off (autopay first, so an installment charged today is not flagged)."""
    from .services.autopay import plans_autopay_run
    from .services.plans import payment_plans_check as check

    charged = plans_autopay_run()
    return {**{f"autopay_{k}": v for k, v in charged.items()}, **check()}


@task
def plans_autopay_run_task() -> dict[str, int]:
    """Charge the autopay plans' due installments now (also part of the daily plan check)."""
    from .services.autopay import plans_autopay_run

    return plans_autopay_run()


@task
def card_payouts_sync() -> dict[str, int]:
    """Once a day: import the card processor's payouts not received by webhook, and reconcile them."""
    from .services.payouts import card_payouts_sync_all

    return card_payouts_sync_all()


@task
def card_payout_receive(*, payout_id: str) -> str:
    """Import and reconcile one payout the processor announced (its payout.paid webhook)."""
    from .services.payouts import payout_receive

    payout = payout_receive(payout_id=payout_id)
    return payout.status if payout is not None else "not ours"
