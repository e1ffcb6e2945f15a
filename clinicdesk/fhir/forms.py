from django import forms

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.models import User

from .scopes import scope_choices
from .services import TOKEN_MAX_DAYS


class FhirTokenForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=80, label="Name", help_text="What the token is for, e.g. 'patient portal'.")
    user = forms.ModelChoiceField(
        queryset=User.objects.none(), label="Acts as",
        help_text="The staff member whose role limits what the token may do; its calls are audited under this name.",
    )
    scopes = forms.MultipleChoiceField(choices=scope_choices, widget=forms.CheckboxSelectMultiple, label="Scopes")
    days = forms.IntegerField(min_value=1, max_value=TOKEN_MAX_DAYS, initial=90, label="Valid for (days)")

    def __init__(self, *args, organization_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(
            organization_id=organization_id, is_active=True).exclude(role="").order_by("last_name", "first_name", "username")
