"""Background work of billing (django.tasks); each task is thin and calls a service."""

from django.tasks import task


@task
def statement_run_execute_task(*, run_id: int) -> str:
    """Make and send the statements of a started statement run (safe to run twice)."""
    from .services.statements import statement_run_execute

    return statement_run_execute(run_id=run_id).status


@task
def payment_plans_check() -> dict[str, int]:
    """Once a day: flag missed plan installments, close plans that are paid off."""
    from .services.plans import payment_plans_check as check

    return check()
