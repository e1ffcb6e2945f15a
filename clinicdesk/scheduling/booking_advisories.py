"""Warnings shown while booking that do not stop the booking. Scheduling knows no insurance: a higher app (insurance)
registers an advisory from its AppConfig.ready; the booking page asks `booking_advisories` for each patient it
offers to book."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

BookingAdvisory = Callable[..., list[str]]
BOOKING_ADVISORIES: list[BookingAdvisory] = []


def register_booking_advisory(fn: BookingAdvisory) -> None:
    """Add `fn(*, patient, appointment_type, on) -> list[str]`: plain sentences for the front desk, or none."""
    if fn not in BOOKING_ADVISORIES:
        BOOKING_ADVISORIES.append(fn)


def booking_advisories(*, patient, appointment_type, on: date) -> list[str]:
    """Every registered advisory's warnings for booking `patient` for `appointment_type` on `on`, in order."""
    warnings: list[str] = []
    for advisory in BOOKING_ADVISORIES:
        warnings.extend(advisory(patient=patient, appointment_type=appointment_type, on=on))
    return warnings


def provider_advisories(*, provider, on: date, until: date | None = None) -> list[str]:
    """Warnings about the provider themself: a required credential (licence, BLS, DEA...) that has lapsed by `on` or
    lapses before `until`. Shown when they are booked or given availability; they never block."""
    from clinicdesk.staff.selectors import provider_credential_lapses

    if provider is None:
        return []
    lapses = provider_credential_lapses(organization=provider.organization_id, user_ids=[provider.pk], start=on,
                                        end=(until or on) + timedelta(days=1))
    name = provider.get_full_name() or provider.get_username()
    return [f"{name}: {message}." for message in lapses.get(provider.pk, [])]
