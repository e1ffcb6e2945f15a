"""Forms of the staff task inbox. They parse what people type; the task services decide what is allowed and
their field errors are put back on these fields."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.models import User
from clinicdesk.scheduling.choices import LIVE_STATUSES
from clinicdesk.scheduling.models import Appointment

from .choices import StaffTaskKind, StaffTaskStatus
from .selectors.staff_tasks import DUE_CHOICES, staff_task_assignees, staff_task_roles

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ColleagueField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj} ({obj.get_role_display()})"


class StaffTaskFilterForm(forms.Form):
    """The inbox filters; an empty status means every status."""

    mine = forms.BooleanField(label="Only mine", required=False, help_text="Leave unticked to include your role's tasks.")
    status = forms.ChoiceField(choices=[("", "Any status"), *StaffTaskStatus.choices], required=False)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *StaffTaskKind.choices], required=False)
    due = forms.ChoiceField(label="Due", choices=[("", "Any time"), *DUE_CHOICES], required=False)


class StaffTaskForm(ServiceErrorsMixin, forms.Form):
    """A new task; the patient (if any) is chosen before this form."""

    title = forms.CharField(label="What is to be done", max_length=200,
                            widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))
    kind = forms.ChoiceField(choices=StaffTaskKind.choices, initial=StaffTaskKind.FOLLOW_UP)
    assignee = ColleagueField(label="For a person", queryset=User.objects.none(), required=False,
                              empty_label="Nobody in particular")
    assignee_role = forms.ChoiceField(label="For a role", required=False)
    due_on = forms.DateField(label="Due", required=False, widget=DATE_WIDGET)
    appointment = forms.ModelChoiceField(label="About the appointment", queryset=Appointment.objects.none(),
                                         required=False, empty_label="No appointment")
    reference = forms.CharField(label="Reference", max_length=120, required=False,
                                help_text="A claim or other record, e.g. Claim 2026-00042.")
    details = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=4000)

    def __init__(self, *args, actor: User, patient=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.fields["assignee"].queryset = staff_task_assignees(actor=actor)
        self.fields["assignee_role"].choices = [("", "No role"), *staff_task_roles()]
        if patient is None:
            del self.fields["appointment"]
        else:
            self.fields["appointment"].queryset = (
                Appointment.objects.filter(organization_id=actor.organization_id, patient=patient, status__in=LIVE_STATUSES,
                                           starts_at__gte=timezone.now() - timedelta(days=90))
                .select_related("appointment_type").order_by("starts_at")
            )
            self.fields["appointment"].label_from_instance = (
                lambda a: f"{timezone.localtime(a.starts_at):%a %d %b %Y %H:%M} · {a.appointment_type.name}"
            )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("assignee") and not cleaned.get("assignee_role") and not self.errors:
            raise ValidationError("Give the task to a person or to a role.")
        return cleaned

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        values.setdefault("appointment", None)
        return values


class TaskNoteForm(forms.Form):
    text = forms.CharField(label="Note", max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class TaskCloseForm(forms.Form):
    note = forms.CharField(label="Closing note", max_length=4000, required=False)


class TaskAssignForm(forms.Form):
    assignee = ColleagueField(label="Person", queryset=User.objects.none(), required=False, empty_label="Nobody in particular")
    assignee_role = forms.ChoiceField(label="Role", required=False)

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff_task_assignees(actor=actor)
        self.fields["assignee_role"].choices = [("", "No role"), *staff_task_roles()]
