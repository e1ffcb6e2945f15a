from django import forms
from django.core.exceptions import ValidationError

from .choices import AuditOutcome
from .permissions import ROLE_PERMISSIONS
from .services import IDLE_TIMEOUT_MAX_MINUTES, SESSION_MAX_HOURS_LIMIT
from .tables import MAX_IMPORT_BYTES


class ServiceErrorsMixin:
    """Put a service's ValidationError on the form: on the fields it names, the rest (and an error that names no
    field) at the top of the form. Every form whose view calls a service uses it."""

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            for message in exc.messages:
                self.add_error(None, message)
            return
        for name, messages in exc.message_dict.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, max_length=150, label="User", help_text="Username")
    patient = forms.CharField(required=False, max_length=200, label="Patient", help_text="Name, MRN or patient number")
    action = forms.CharField(required=False, max_length=80, label="Action", help_text="e.g. patient.viewed or auth.")
    outcome = forms.ChoiceField(required=False, choices=[("", "Any")] + AuditOutcome.choices)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict[str, str]:
        """The cleaned filters as the selector takes them (dates in ISO form)."""
        data = self.cleaned_data
        return {k: (v.isoformat() if hasattr(v, "isoformat") else (v or "")) for k, v in data.items()}


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, label="Name", help_text="What the token is for, e.g. 'lab interface'.")
    days = forms.IntegerField(min_value=1, max_value=365, initial=90, label="Valid for (days)")
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Scopes")

    def __init__(self, *args, role: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(code, code) for code in sorted(ROLE_PERMISSIONS.get(role, ()))]


class UserChangeForm(forms.Form):
    """A staff member's details, role and locations (the choices are limited by the view to what the actor may give)."""

    first_name = forms.CharField(max_length=150, label="First name")
    last_name = forms.CharField(max_length=150, label="Last name")
    email = forms.EmailField(max_length=254, label="E-mail", help_text="They can sign in with it instead of the username.")
    title = forms.CharField(max_length=60, required=False, label="Title", help_text="Shown on letters, e.g. MD, NP, RN.")
    role = forms.ChoiceField(label="Role")
    locations = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Locations",
        help_text="Leave all unticked for every location.",
    )

    def __init__(self, *args, roles: list[tuple[str, str]], locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", "Choose a role")] + list(roles)
        self.fields["locations"].queryset = locations


class UserCreateForm(UserChangeForm):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z", max_length=150, label="Username",
        help_text="Letters, digits and . @ + - _ only.",
        error_messages={"invalid": "Use only letters, digits and . @ + - _"},
    )
    password = forms.CharField(
        label="First password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters. Tell it to them in person; they can change it under Security.",
    )
    field_order = ["username", "first_name", "last_name", "email", "title", "role", "locations", "password"]


class OrganizationSecurityForm(forms.Form):
    require_mfa = forms.BooleanField(
        required=False, label="Require two-factor sign-in",
        help_text="Everyone must set up an authenticator app before they can use clinicdesk.",
    )
    idle_timeout_minutes = forms.IntegerField(
        min_value=1, max_value=IDLE_TIMEOUT_MAX_MINUTES, label="Sign out after inactivity (minutes)",
    )
    session_max_hours = forms.IntegerField(
        min_value=1, max_value=SESSION_MAX_HOURS_LIMIT, label="Longest session (hours)",
        help_text="Sign-in is asked again after this long, even when active.",
    )


class TableImportForm(ServiceErrorsMixin, forms.Form):
    """The file of a list's import page (core/tables.py reads it); a page passes its columns for the help text
    (`upload_form=partial(TableImportForm, columns=COLUMNS)`)."""

    file = forms.FileField(label="CSV or XLSX file",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv", "autofocus": True}))

    def __init__(self, *args, columns=(), **kwargs):
        super().__init__(*args, **kwargs)
        if columns:
            self.fields["file"].help_text = f"Columns: {', '.join(columns)}. Dates as YYYY-MM-DD."

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        return upload


class TableImportConfirmForm(forms.Form):
    """The previewed file, sent back to be imported (checked again in full: nothing trusted from the preview)."""

    # An XLSX file travels as base64, a third larger than the file.
    content = forms.CharField(widget=forms.HiddenInput, max_length=7 * 1024 * 1024, strip=False)
    file_name = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
