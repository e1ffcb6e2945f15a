"""A run of "check every appointment of a day": its progress lives in the database, so the page (web process) sees
what the worker (another process) has done."""

from django.conf import settings
from django.db import models

from clinicdesk.core.models import Organization


class EligibilityRun(models.Model):
    """One check of a whole day: how many appointments, how many done and failed, when it started and finished."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0, help_text="Checks that ended in an error (no answer from the payer).")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "day", "-created_at"], name="ins_elig_run_day")]
        constraints = [
            models.CheckConstraint(condition=models.Q(done__lte=models.F("total")), name="ins_elig_run_done_le_total"),
            models.CheckConstraint(condition=models.Q(failed__lte=models.F("done")), name="ins_elig_run_failed_le_done"),
        ]

    def __str__(self) -> str:
        return f"Eligibility of {self.day:%m/%d/%Y}: {self.done} of {self.total}"

    @property
    def is_running(self) -> bool:
        return self.finished_at is None

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)
