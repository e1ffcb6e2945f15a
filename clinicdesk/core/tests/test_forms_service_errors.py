"""A service's ValidationError shown on the form: on the fields it names, the rest at the top."""

from django import forms
from django.core.exceptions import ValidationError

from clinicdesk.core.forms import ServiceErrorsMixin


class _Form(ServiceErrorsMixin, forms.Form):
    amount = forms.CharField()


def test_errors_naming_a_field_go_on_it_and_the_rest_on_top():
    form = _Form(data={"amount": "5"})
    assert form.is_valid()
    form.add_service_errors(ValidationError({"amount": ["Too much.", "Not a number."], "account": "Closed."}))
    assert form.errors["amount"] == ["Too much.", "Not a number."]
    assert form.non_field_errors() == ["Closed."]


def test_an_error_that_names_no_field_goes_on_top():
    form = _Form(data={"amount": "5"})
    assert form.is_valid()
    form.add_service_errors(ValidationError(["The day is closed.", "Ask a manager."]))
    assert form.non_field_errors() == ["The day is closed.", "Ask a manager."]
    assert "amount" not in form.errors
