"""Forms of the technology pages. They parse what people type (plain forms built from the models' fields, so the
record is not touched before the service runs); the services decide and their field errors come back here."""

from __future__ import annotations

from django import forms
from django.forms.models import fields_for_model, model_to_dict

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.models import Department, Location
from clinicdesk.staff.models import StaffMember

from .choices import AlertSubject, AssetKind, AssetStatus, TicketStatus
from .models import Asset, MaintenanceRecord, MaintenanceSchedule, ServiceTicket
from .services.assets import ASSET_FIELDS
from .services.maintenance import RECORD_FIELDS, SCHEDULE_FIELDS

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXTAREA = forms.Textarea(attrs={"rows": 3})


class _ModelFieldsForm(ServiceErrorsMixin, forms.Form):
    """A form with some fields of a model, related choices limited to the practice; `service_data()` is what the
    service takes."""

    model = None
    field_names: tuple[str, ...] = ()

    def __init__(self, *args, organization_id: int, instance=None, **kwargs):
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = model_to_dict(instance, fields=self.field_names)
        super().__init__(*args, **kwargs)
        dates = {name: DATE_WIDGET for name in self.field_names
                 if self.model._meta.get_field(name).get_internal_type() == "DateField"}
        self.fields.update(fields_for_model(self.model, fields=self.field_names, widgets=dates | {"notes": TEXTAREA}))
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):  # every related row is one of the practice's own
                field.queryset = field.queryset.filter(organization_id=organization_id)
        self.fields[self.field_names[0]].widget.attrs["autofocus"] = True  # typing starts at once

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.field_names if name in self.cleaned_data}


class AssetForm(_ModelFieldsForm):
    model = Asset
    field_names = ASSET_FIELDS

    def __init__(self, *args, creating: bool = False, **kwargs):
        if creating:
            self.field_names = (*ASSET_FIELDS, "assigned_to")
        super().__init__(*args, **kwargs)
        if "assigned_to" in self.fields:
            self.fields["assigned_to"].label = "Assigned to"


class AssignForm(ServiceErrorsMixin, forms.Form):
    staff = forms.ModelChoiceField(queryset=StaffMember.objects.none(), required=False, label="Assigned to",
                                   empty_label="Nobody (back in stock)")
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False)
    starts_on = forms.DateField(required=False, widget=DATE_WIDGET, label="From", help_text="Today when left empty.")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].widget.attrs["autofocus"] = True
        self.fields["staff"].queryset = StaffMember.objects.filter(organization_id=organization_id)
        self.fields["location"].queryset = Location.objects.filter(organization_id=organization_id)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id)


class ScheduleForm(_ModelFieldsForm):
    model = MaintenanceSchedule
    field_names = SCHEDULE_FIELDS


class MaintenanceForm(_ModelFieldsForm):
    model = MaintenanceRecord
    field_names = RECORD_FIELDS

    def __init__(self, *args, asset: Asset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["schedule"].queryset = MaintenanceSchedule.objects.filter(asset=asset)
        self.fields["schedule"].empty_label = "Not scheduled (a one-off repair or check)"


class TicketForm(_ModelFieldsForm):
    model = ServiceTicket
    field_names = ("title", "description", "priority", "vendor", "vendor_reference", "assigned_to")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, organization_id=organization_id, **kwargs)
        self.fields["description"].widget = forms.Textarea(attrs={"rows": 3})
        self.fields["assigned_to"].queryset = self.fields["assigned_to"].queryset.filter(is_active=True)


class TicketEditForm(_ModelFieldsForm):
    model = ServiceTicket
    field_names = ("priority", "assigned_to", "vendor", "vendor_reference")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, organization_id=organization_id, **kwargs)
        self.fields["assigned_to"].queryset = self.fields["assigned_to"].queryset.filter(is_active=True)


class TicketMoveForm(ServiceErrorsMixin, forms.Form):
    to_status = forms.ChoiceField(choices=TicketStatus.choices, label="Move to")
    note = forms.CharField(max_length=2000, required=False, widget=TEXTAREA)


class CommentForm(ServiceErrorsMixin, forms.Form):
    body = forms.CharField(max_length=5000, widget=TEXTAREA, label="Comment")


class AssetFilterForm(forms.Form):
    q = forms.CharField(label="Tag, name, serial, make or model", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    kind = forms.ChoiceField(choices=[("", "Any kind"), *AssetKind.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *AssetStatus.choices], required=False)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False, empty_label="Any location")
    expiring = forms.TypedChoiceField(label="Cover expiring", coerce=int, empty_value=None, required=False,
                                      choices=[("", "Any time"), ("30", "Within 30 days"), ("60", "Within 60 days"),
                                               ("90", "Within 90 days")])

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(organization_id=organization_id)


class TicketFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Still open"), *TicketStatus.choices, ("all", "Any status")],
                               required=False)


class DueFilterForm(forms.Form):
    within = forms.TypedChoiceField(label="Due within", coerce=int, required=False, empty_value=30,
                                    choices=[("30", "30 days"), ("60", "60 days"), ("90", "90 days"),
                                             ("365", "a year")])


class AlertFilterForm(forms.Form):
    subject = forms.ChoiceField(choices=[("", "Any"), *AlertSubject.choices], required=False)
