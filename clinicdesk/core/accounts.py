"""How sign-in behaves here: no self sign-up (the practice makes staff accounts), two-factor that an
organization can make compulsory, and the session clock that starts at sign-in."""

import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.forms import LoginForm
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.http import HttpRequest

from .middleware import SESSION_LAST_SEEN_KEY, SESSION_STARTED_KEY

SIGN_IN_FAILED = "That username or e-mail address and password do not match an account."


class ClinicAccountAdapter(DefaultAccountAdapter):
    # One answer whatever was typed and whatever went wrong, so a failure never tells whether an account exists.
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_password_mismatch": SIGN_IN_FAILED,
        "username_password_mismatch": SIGN_IN_FAILED,
    }

    def is_open_for_signup(self, request) -> bool:
        return False


class ClinicLoginForm(LoginForm):
    """allauth's sign-in form, worded for the office."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Username or e-mail"
        self.fields["login"].widget.attrs.update({"placeholder": "", "autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs["placeholder"] = ""


class ClinicMFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """An authenticator app cannot be removed while the organization requires two-factor sign-in."""
        user = authenticator.user
        if authenticator.type == Authenticator.Type.TOTP and user.organization_id and user.organization.require_mfa:
            return False
        return super().can_delete_authenticator(authenticator)


def session_clock_start(request: HttpRequest | None) -> None:
    """A fresh sign-in starts both the idle clock and the absolute lifetime of the session."""
    session = getattr(request, "session", None)
    if session is None:
        return
    now = time.time()
    session[SESSION_STARTED_KEY] = now
    session[SESSION_LAST_SEEN_KEY] = now
