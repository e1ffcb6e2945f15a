"""Background work of billing (django.tasks); each task is thin and calls a service."""

from django.tasks import task


@task
def payment_plans_check() -> dict[str, int]:
    """Once a day: flag missed plan installments, close plans that are paid off."""
    from .services.plans import payment_plans_check as check

    return check()
