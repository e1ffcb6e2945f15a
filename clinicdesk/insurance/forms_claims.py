"""Forms of the claim pages: the work queue's filters and the actions on one claim."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from .choices import AppealStatus, ClaimFrequency, ClaimStatus
from .selectors.claims import AGE_BUCKETS


class ServiceErrorsForm(forms.Form):
    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, exc.messages)


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Every open status"), *ClaimStatus.choices])
    payer = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[])
    denial_reason = forms.CharField(required=False, max_length=60, label="Denial reason contains")
    age = forms.ChoiceField(required=False, label="Age (days)", choices=[("", "Any age")] + [(k, k) for k in AGE_BUCKETS])
    age_from = forms.ChoiceField(required=False, label="Counted from", choices=[("service", "Service date"),
                                                                                ("submitted", "Submission")])
    assigned_to = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[], label="Assigned to")
    search = forms.CharField(required=False, max_length=40, label="Claim number, MRN or last name")

    def __init__(self, *args, payers=(), users=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].choices = [("", "Every payer")] + [(p.pk, p.name) for p in payers]
        self.fields["assigned_to"].choices = [("", "Anyone"), (-1, "Nobody")] + [(u.pk, str(u)) for u in users]


class TransitionForm(ServiceErrorsForm):
    prefix = "status"  # several forms share the claim page
    to_status = forms.ChoiceField(choices=ClaimStatus.choices, label="New status")
    note = forms.CharField(required=False, max_length=200, label="Note (for a denial: the reason, e.g. CO-197)")


class AssignForm(ServiceErrorsForm):
    prefix = "assign"  # several forms share the claim page
    assigned_to = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[], label="Assign to")
    follow_up_on = forms.DateField(required=False, label="Follow up on", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].choices = [("", "Nobody")] + [(u.pk, str(u)) for u in users]


class NoteForm(ServiceErrorsForm):
    prefix = "note"  # several forms share the claim page
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), label="Note")
    follow_up_on = forms.DateField(required=False, label="Follow up on", widget=forms.DateInput(attrs={"type": "date"}))


class CorrectForm(ServiceErrorsForm):
    prefix = "correct"  # several forms share the claim page
    frequency = forms.ChoiceField(choices=[(ClaimFrequency.REPLACEMENT, ClaimFrequency.REPLACEMENT.label),
                                           (ClaimFrequency.VOID, ClaimFrequency.VOID.label)], label="Kind")
    note = forms.CharField(required=False, max_length=200, label="What changes")


class AppealForm(ServiceErrorsForm):
    prefix = "appeal"  # several forms share the claim page
    reason = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 5}), label="Why it should be paid")


class AppealDecideForm(ServiceErrorsForm):
    """What became of an appeal: sent to the payer, then won or lost (a loss needs the payer's reason)."""

    prefix = "decide"  # several forms share the claim page
    appeal = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=[], label="Outcome")
    on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(required=False, max_length=500, label="Note (for a loss: the payer's reason)")

    def __init__(self, *args, appeal, **kwargs):
        # one form per open appeal on the page: its fields' ids carry the appeal's
        super().__init__(*args, auto_id=f"id_%s-{appeal.pk}", **kwargs)
        self.fields["status"].choices = APPEAL_NEXT.get(appeal.status, [])
        self.appeal_pk = appeal.pk

    def clean(self):
        data = super().clean()
        if data.get("status") == AppealStatus.LOST and not (data.get("note") or "").strip():
            self.add_error("note", "Say why the payer upheld the denial (its letter's reason or reference).")
        return data


# What an appeal may become next, as the outcome form offers it.
APPEAL_NEXT = {AppealStatus.DRAFT: [(AppealStatus.SENT, "Sent to the payer")],
               AppealStatus.SENT: [(AppealStatus.WON, "Won"), (AppealStatus.LOST, "Lost")]}
