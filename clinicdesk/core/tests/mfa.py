"""Two-factor helpers for tests: codes are computed with allauth's own TOTP functions."""

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value


def totp_code(secret: str, at: float | None = None) -> str:
    """The code an authenticator app shows now (or at `at`, a Unix time) for this secret."""
    counter = int(at if at is not None else time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def give_totp(user) -> str:
    """Set up an authenticator app for the user; returns its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def give_recovery_codes(user) -> list[str]:
    return RecoveryCodes.activate(user).generate_codes()
