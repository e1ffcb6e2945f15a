"""Forms of the statement pages: a new run's settings, and the practice's dunning policy. Amounts stay strings
until the service checks them (never a float)."""

from django import forms


def _date_input():
    return forms.DateInput(attrs={"type": "date"})


class StatementRunForm(forms.Form):
    statement_date = forms.DateField(widget=_date_input(), help_text="Printed on the statements; aging counts to this day.")
    cutoff = forms.DateField(required=False, widget=_date_input(), label="Cut-off",
                             help_text="Activity up to and including this day. Empty: the statement date.")
    minimum_balance = forms.CharField(required=False, max_length=14, label="Minimum balance",
                                      help_text="Empty: the policy's minimum.")
    days_since_last = forms.IntegerField(required=False, min_value=0, max_value=365, label="Days since the last statement",
                                         help_text="Accounts stated more recently are skipped. Empty: the policy's days.")


class DunningPolicyForm(forms.Form):
    second_notice_days = forms.IntegerField(min_value=1, max_value=365, label="Second notice after (days)",
                                            help_text="Counted from the first statement of an unpaid balance.")
    final_notice_days = forms.IntegerField(min_value=1, max_value=365, label="Final notice after (days)")
    collections_days = forms.IntegerField(min_value=1, max_value=730, label="Collections hold after (days)",
                                          help_text="The account gets no more statements until the hold is lifted.")
    minimum_statement_balance = forms.CharField(max_length=14, label="Minimum balance for a statement")
    days_between_statements = forms.IntegerField(min_value=0, max_value=365, label="Days between statements")
    write_off_below = forms.CharField(max_length=14, label="Write off balances below",
                                      help_text="Zero turns small-balance write-offs off.")
    write_off_min_age_days = forms.IntegerField(min_value=0, max_value=3650, label="...once the newest charge is this many days old")
    first_message = forms.CharField(required=False, max_length=300, label="Message on a first notice")
    second_message = forms.CharField(required=False, max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
                                     label="Message on a second notice")
    final_message = forms.CharField(required=False, max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
                                    label="Message on a final notice")
    collections_message = forms.CharField(required=False, max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
                                          label="Message for accounts on collections hold")
