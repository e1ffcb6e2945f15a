"""Forms of the staff pages. They parse what people type; the services decide what is allowed and their field
errors are put back on these fields."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.models import Department, Location, User

from .choices import AssignmentStatus, EmploymentType, StaffStatus
from .models import ChecklistTemplate, Course, Credential, Skill, StaffMember
from .services.credentials import CREDENTIAL_FIELDS
from .services.records import RECORD_FIELDS
from .services.training import COURSE_FIELDS

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StaffChoiceField(forms.ModelMultipleChoiceField):
    """Several staff members by id; an id that is not a number the database can hold is refused before any query."""

    def _check_values(self, value):
        for pk in value:
            text = str(pk)
            if not text.isdigit() or len(text) > 18:
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                      params={"pk": text[:20]})
        return super()._check_values(value)


class StaffFilterForm(forms.Form):
    q = forms.CharField(label="Name, title, e-mail or NPI", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False, empty_label="Any department")
    status = forms.ChoiceField(choices=[("", "Any status"), *StaffStatus.choices], required=False)
    employment_type = forms.ChoiceField(label="Employment", choices=[("", "Any"), *EmploymentType.choices],
                                        required=False)
    skill = forms.ModelChoiceField(queryset=Skill.objects.none(), required=False, empty_label="Any skill")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id)
        self.fields["skill"].queryset = Skill.objects.filter(organization_id=organization_id)


class StaffForm(ServiceErrorsMixin, forms.ModelForm):
    """A staff record; relations are limited to the practice's own rows."""

    class Meta:
        model = StaffMember
        fields = ["first_name", "last_name", "job_title", "role", "department", "locations", "skills",
                  "employment_type", "fte", "hire_date", "status", "manager", "user", "email", "phone",
                  "emergency_contact_name", "emergency_contact_relation", "emergency_contact_phone", "npi",
                  "taxonomy_code", "dea_number"]
        widgets = {"hire_date": DATE_WIDGET, "locations": forms.CheckboxSelectMultiple,
                   "skills": forms.CheckboxSelectMultiple}
        labels = {"user": "Sign-in account", "fte": "FTE"}

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].widget.attrs["autofocus"] = True
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id)
        self.fields["locations"].queryset = Location.objects.filter(organization_id=organization_id)
        self.fields["skills"].queryset = Skill.objects.filter(organization_id=organization_id)
        managers = StaffMember.objects.filter(organization_id=organization_id).exclude(status=StaffStatus.OFFBOARDED)
        self.fields["manager"].queryset = managers.exclude(pk=self.instance.pk) if self.instance.pk else managers
        self.fields["user"].queryset = User.objects.filter(organization_id=organization_id, is_active=True)

    def _post_clean(self):
        """The service validates the record (with its relations checked against the practice), not the form."""

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "data": {name: data[name] if data[name] is not None else "" for name in RECORD_FIELDS
                     if name in data and name not in ("fte", "hire_date")}
            | {"fte": data.get("fte"), "hire_date": data.get("hire_date")},
            "department": data.get("department"), "manager": data.get("manager"), "user": data.get("user"),
            "locations": list(data.get("locations") or []), "skills": list(data.get("skills") or []),
        }


class CredentialForm(ServiceErrorsMixin, forms.ModelForm):
    document = forms.FileField(label="Scan or certificate", required=False,
                               help_text="PDF, PNG, JPEG, TIFF or HEIC.")

    class Meta:
        model = Credential
        fields = list(CREDENTIAL_FIELDS)
        widgets = {"issued_on": DATE_WIDGET, "expires_on": DATE_WIDGET}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].widget.attrs["autofocus"] = True

    def _post_clean(self):
        """The service validates the credential."""

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] if data[name] is not None or name in ("issued_on", "expires_on") else ""
                for name in CREDENTIAL_FIELDS}


class VerifyForm(forms.Form):
    note = forms.CharField(label="How it was checked", max_length=200, required=False)


class OffboardForm(ServiceErrorsMixin, forms.Form):
    end_date = forms.DateField(label="Last working day", widget=DATE_WIDGET)
    reason = forms.CharField(max_length=200, required=False)


class ChecklistApplyForm(ServiceErrorsMixin, forms.Form):
    template = forms.ModelChoiceField(label="Checklist", queryset=ChecklistTemplate.objects.none())
    start_date = forms.DateField(label="Start date", widget=DATE_WIDGET)

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = ChecklistTemplate.objects.filter(organization_id=organization_id,
                                                                            is_active=True)


class CourseForm(ServiceErrorsMixin, forms.ModelForm):
    class Meta:
        model = Course
        fields = list(COURSE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs["autofocus"] = True

    def _post_clean(self):
        """The service validates the course."""


class AssignForm(ServiceErrorsMixin, forms.Form):
    staff = StaffChoiceField(queryset=StaffMember.objects.none(), required=False,
                                           help_text="Hold Ctrl (or Cmd) to choose several.")
    department = forms.ModelChoiceField(label="Or everyone in", queryset=Department.objects.none(), required=False,
                                        empty_label="No department")
    due_date = forms.DateField(label="Due", widget=DATE_WIDGET, required=False,
                               help_text="Empty: the course's days to complete from today.")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = StaffMember.objects.filter(organization_id=organization_id).exclude(
            status=StaffStatus.OFFBOARDED)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id)

    def members(self) -> list[StaffMember]:
        chosen = list(self.cleaned_data.get("staff") or [])
        department = self.cleaned_data.get("department")
        if department is not None:
            chosen += list(self.fields["staff"].queryset.filter(department=department))
        return list(dict.fromkeys(chosen))


class CompleteForm(ServiceErrorsMixin, forms.Form):
    completed_on = forms.DateField(label="Completed on", widget=DATE_WIDGET, required=False)
    evidence_note = forms.CharField(label="Certificate number or note", max_length=200, required=False)
    evidence = forms.FileField(label="Certificate", required=False, help_text="PDF, PNG, JPEG, TIFF or HEIC.")


class AssignmentFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *AssignmentStatus.choices, ("overdue", "Overdue")],
                               required=False)
    course = forms.ModelChoiceField(queryset=Course.objects.none(), required=False, empty_label="Any course")
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False,
                                        empty_label="Any department")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = Course.objects.filter(organization_id=organization_id)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id)


class ComplianceFilterForm(forms.Form):
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False,
                                        empty_label="Every department")
    within = forms.TypedChoiceField(label="Expiring within", coerce=int, required=False, empty_value=90,
                                    choices=[(30, "30 days"), (60, "60 days"), (90, "90 days"), (180, "180 days")])

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id)


