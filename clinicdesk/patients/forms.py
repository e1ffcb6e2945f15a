"""Forms for the patient pages. They parse what people type; the services decide what is allowed."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.models import fields_for_model, model_to_dict
from django.template.defaultfilters import filesizeformat

from clinicdesk.core.choices import Role
from clinicdesk.core.models import User

from .choices import Channel, ConsentStatus, DocumentCategory, PatientStatus, Relationship
from .models import CommunicationConsent, EmergencyContact, Guarantor, Patient, PatientAlert
from .services.records import PATIENT_FIELDS, normalize_phone

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PHONE_MAX = 30  # what people type ("(202) 555-0143 ext. 12"); stored as E.164


def _phone_widget(autocomplete: str) -> forms.TextInput:
    return forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": autocomplete})


class ModelFieldsForm(forms.Form):
    """A plain form whose fields mirror a model's, prefilled from an instance.

    Not a ModelForm on purpose: model validation and saving belong to the services, which report
    field errors that the view puts back on these fields.
    """

    model = None
    field_names: tuple[str, ...] = ()
    widgets: dict = {}
    autofocus: str | None = None

    def __init__(self, *args, instance=None, **kwargs):
        if instance is not None:
            kwargs.setdefault("initial", model_to_dict(instance, fields=self.field_names))
        super().__init__(*args, **kwargs)
        self.instance = instance
        model_fields = fields_for_model(self.model, fields=self.field_names, widgets=self.widgets)
        for name in self.field_names:
            if name not in self.fields and model_fields.get(name) is not None:
                self.fields[name] = model_fields[name]
        self.order_fields(self.field_names)
        if self.autofocus and self.autofocus in self.fields:
            self.fields[self.autofocus].widget.attrs["autofocus"] = True
        self.describe_fields()

    def describe_fields(self) -> None:
        """Point each input at its help text for screen readers (call again after changing fields)."""
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}-help")

    def add_service_errors(self, exc: ValidationError) -> None:
        """Put a service's ValidationError on the fields it names (the rest at the top of the form)."""
        for field, messages in exc.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)

    def changed_values(self) -> dict:
        """Only what the user changed, so the audit trail shows real edits."""
        return {name: self.cleaned_data[name] for name in self.changed_data if name in self.cleaned_data}

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["aria-invalid"] = "true"
                described = f"id_{name}-error"
                existing = widget.attrs.get("aria-describedby", "")
                widget.attrs["aria-describedby"] = f"{existing} {described}".strip()


class PatientForm(ModelFieldsForm):
    """Register or edit a patient. Fields in the order the front desk asks for them."""

    model = Patient
    field_names = tuple(
        name
        for name in (
            "first_name", "middle_name", "last_name", "suffix", "preferred_name", "pronouns", "date_of_birth", "sex",
            "gender_identity", "mrn", "phone_mobile", "phone_home", "phone_work", "email", "preferred_channel",
            "preferred_language", "address_line1", "address_line2", "city", "state", "postal_code", "country",
            "primary_provider", "status", "deceased_date",
        )
        if name in PATIENT_FIELDS
    )  # fmt: skip
    widgets = {
        "date_of_birth": DATE_WIDGET,
        "deceased_date": DATE_WIDGET,
        "email": forms.EmailInput(attrs={"autocomplete": "off"}),
    }
    autofocus = "first_name"

    def __init__(self, *args, actor: User, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        for name, autocomplete in (("phone_mobile", "tel"), ("phone_home", "off"), ("phone_work", "off")):
            self.fields[name] = forms.CharField(
                label=self.fields[name].label, required=False, max_length=PHONE_MAX, widget=_phone_widget(autocomplete)
            )
        self.fields["phone_mobile"].help_text = "Used for text reminders when the patient agrees."
        self.fields["mrn"].required = False
        if creating:
            self.fields["mrn"].help_text = "Leave blank to assign the next number."
            del self.fields["status"]
            del self.fields["deceased_date"]
        else:
            self.fields["mrn"].required = True
        self.fields["primary_provider"].queryset = User.objects.filter(
            organization_id=actor.organization_id, role=Role.CLINICIAN, is_active=True
        ).order_by("last_name", "first_name")
        self.fields["primary_provider"].label_from_instance = str
        self.fields["primary_provider"].empty_label = "Not assigned"
        self.fields["address_line1"].label = "Street address"
        self.fields["address_line2"].label = "Apartment, suite, unit"
        self.fields["country"].help_text = "Two-letter code, e.g. US."
        self.describe_fields()

    def _clean_phone(self, name: str) -> str:
        # The service normalises and checks again; checking here too puts the error on the field
        # before the duplicate warning, so the user fixes everything in one pass.
        try:
            return normalize_phone(self.cleaned_data.get(name, ""), field=name,
                                   region=(self.data.get("country") or "US").upper()[:2])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict[name]) from exc

    def clean_phone_mobile(self) -> str:
        return self._clean_phone("phone_mobile")

    def clean_phone_home(self) -> str:
        return self._clean_phone("phone_home")

    def clean_phone_work(self) -> str:
        return self._clean_phone("phone_work")

    fieldsets = (
        ("Name", ("first_name", "middle_name", "last_name", "suffix", "preferred_name", "pronouns")),
        ("Birth and identity", ("date_of_birth", "sex", "gender_identity", "mrn", "status", "deceased_date")),
        ("How to reach them", ("phone_mobile", "phone_home", "phone_work", "email", "preferred_channel", "preferred_language")),
        ("Address", ("address_line1", "address_line2", "city", "state", "postal_code", "country")),
        ("Care", ("primary_provider",)),
    )

    def grouped_fields(self) -> list[tuple[str, list]]:
        """The visible fields by fieldset, in the order of the form (tab order follows it)."""
        return [
            (legend, [self[name] for name in names if name in self.fields])
            for legend, names in self.fieldsets
            if any(name in self.fields for name in names)
        ]

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        values.pop("create_anyway", None)
        return values


class PatientCreateForm(PatientForm):
    """The registration form, plus the explicit choice to go past likely duplicates."""

    create_anyway = forms.BooleanField(
        required=False,
        label="These are different people: create a new patient anyway",
        help_text="Tick only after checking each possible duplicate listed above.",
    )

    def __init__(self, *args, show_duplicate_confirmation: bool = False, **kwargs):
        super().__init__(*args, creating=True, **kwargs)
        if not show_duplicate_confirmation:
            self.fields["create_anyway"].widget = forms.HiddenInput()
        self.describe_fields()


class EmergencyContactForm(ModelFieldsForm):
    model = EmergencyContact
    field_names = ("name", "relationship", "phone", "email")
    autofocus = "name"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"] = forms.CharField(label="Phone", max_length=PHONE_MAX, widget=_phone_widget("off"))
        self.fields["relationship"].choices = [c for c in Relationship.choices if c[0] != Relationship.SELF]


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices, label="Channel")
    status = forms.ChoiceField(choices=ConsentStatus.choices, label="Answer", widget=forms.RadioSelect)
    source = forms.CharField(
        max_length=CommunicationConsent._meta.get_field("source").max_length,
        required=False,
        label="Where the answer came from",
        help_text="e.g. front desk, signed form, phone call.",
        initial="front desk",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].widget.attrs["autofocus"] = True

    add_service_errors = ModelFieldsForm.add_service_errors


class AlertForm(ModelFieldsForm):
    model = PatientAlert
    field_names = ("kind", "note")
    autofocus = "kind"


class GuarantorForm(forms.Form):
    """Who pays: the patient, another patient (by their patient number), or someone outside the practice."""

    relationship = forms.ChoiceField(choices=Relationship.choices, label="Guarantor is the patient's")
    guarantor_patient = forms.CharField(
        required=False,
        max_length=20,
        label="Guarantor's MRN, if they are a patient here",
        help_text="Leave blank for someone who is not a patient; fill in their name and address below.",
    )
    name = forms.CharField(required=False, max_length=160)
    address_line1 = forms.CharField(required=False, max_length=200, label="Address")
    city = forms.CharField(required=False, max_length=100)
    state = forms.CharField(required=False, max_length=40)
    postal_code = forms.CharField(required=False, max_length=12)
    phone = forms.CharField(required=False, max_length=PHONE_MAX, widget=_phone_widget("off"))
    email = forms.EmailField(required=False)

    def __init__(self, *args, instance: Guarantor | None = None, **kwargs):
        if instance is not None and "initial" not in kwargs:
            initial = model_to_dict(instance, fields=[f for f in self.base_fields if f != "guarantor_patient"])
            initial["guarantor_patient"] = instance.guarantor_patient.mrn if instance.guarantor_patient_id else ""
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.fields["relationship"].widget.attrs["autofocus"] = True

    add_service_errors = ModelFieldsForm.add_service_errors


class DocumentUploadForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text=f"PDF, PNG, JPEG, TIFF or HEIC, at most {filesizeformat(settings.DOCUMENT_MAX_BYTES)}.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.png,.jpg,.jpeg,.tif,.tiff,.heic,.heif,application/pdf,image/*"}
        ),
    )
    category = forms.ChoiceField(choices=DocumentCategory.choices, label="Category")
    title = forms.CharField(required=False, max_length=200, help_text="Leave blank to use the file's name.")
    retain_until = forms.DateField(
        required=False, label="Keep until", widget=DATE_WIDGET, help_text="Leave blank for the practice's default."
    )

    add_service_errors = ModelFieldsForm.add_service_errors


SORT_CHOICES = [
    ("-updated", "Recently changed"),
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("dob", "Oldest first"),
    ("-dob", "Youngest first"),
    ("mrn", "MRN"),
    ("-created", "Newest patients"),
]


class PatientListForm(forms.Form):
    """The patient list's search box, status filter and sort order (checked here, never passed raw to the ORM)."""

    q = forms.CharField(
        required=False, max_length=100, label="Search", help_text="Name, birth date, phone or MRN; best match first."
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *PatientStatus.choices], label="Status")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES, label="Sort by")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sort"].error_messages["invalid_choice"] = (
            "Unknown sort field '%(value)s'; choose one of: " + ", ".join(k for k, _ in SORT_CHOICES) + "."
        )
        self.fields["status"].error_messages["invalid_choice"] = (
            "Unknown status '%(value)s'; choose one of: " + ", ".join(PatientStatus.values) + "."
        )


class PatientPickForm(forms.Form):
    """Step one of a form about a patient (waitlist entry, letter, task): find them by any identifier."""

    q = forms.CharField(label="Find the patient", max_length=100, required=False,
                        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "type": "search"}),
                        help_text="Name, birth date, phone or MRN.")
