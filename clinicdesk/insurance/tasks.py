"""Background work of insurance (django.tasks); each task is thin and calls a service."""

from django.tasks import task


@task
def eligibility_check_day_task(*, organization_id: int, day: str, actor_id: int | None = None,
                               run_id: int | None = None) -> dict[str, int]:
    """Check eligibility for every appointment of a day (ISO date) of one practice; progress shows on its page
    from the run's row (`run_id`, made when the office asked)."""
    from datetime import date

    from clinicdesk.core.models import Organization, User

    from .models import EligibilityRun
    from .services.eligibility import eligibility_check_day

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    run = EligibilityRun.objects.filter(pk=run_id, organization_id=organization_id).first() if run_id else None
    return eligibility_check_day(organization=Organization.objects.get(pk=organization_id),
                                 day=date.fromisoformat(day), actor=actor, run=run)


@task
def eligibility_check_tomorrow_task() -> dict[str, int]:
    """Nightly: every practice's next business day, checked before the office opens."""
    from .services.eligibility import eligibility_check_tomorrow

    return eligibility_check_tomorrow()
