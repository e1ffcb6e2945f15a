"""Cache invalidation: when data a KPI reads is written, the practice's figures go stale (one cache increment per
write, never a recompute; see figures.py). Derived data only, as signals are meant for."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from clinicdesk.billing.models import Adjustment, Encounter, Payment
from clinicdesk.insurance.models import Claim
from clinicdesk.ledger.models import Budget
from clinicdesk.rostering.models import RosterAssignment, RosterPeriod
from clinicdesk.scheduling.signals import (
    appointment_booked,
    appointment_cancelled,
    appointment_moved,
    appointment_status_changed,
)
from clinicdesk.staff.models import Credential, TrainingAssignment

from .figures import data_changed


@receiver(appointment_booked)
@receiver(appointment_moved)
@receiver(appointment_cancelled)
@receiver(appointment_status_changed)
def _appointment_changed(sender, appointment, **kwargs) -> None:
    data_changed(appointment.organization_id)


def _row_saved(sender, instance, **kwargs) -> None:
    data_changed(getattr(instance, "organization_id", None))


def _roster_saved(sender, instance, **kwargs) -> None:
    data_changed(instance.period.organization_id)


# Postings to the books are caught by the latest entry id in the figure's key (figures.py); these are the rows
# KPIs read outside the ledger.
for _model in (Encounter, Payment, Adjustment, Claim, Budget, Credential, TrainingAssignment, RosterPeriod):
    post_save.connect(_row_saved, sender=_model, dispatch_uid=f"goals-stale-{_model._meta.label_lower}")
post_save.connect(_roster_saved, sender=RosterAssignment, dispatch_uid="goals-stale-rosterassignment")
