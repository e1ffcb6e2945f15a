"""The merge-field catalogue: every `{{ namespace.field }}` a template may use, with a label and a sample value,
and the builder of the context a template is rendered with.

The context holds plain strings only (never model instances), so a template cannot reach anything beyond the
fields listed here. Billing and insurance add the `balance` and `claim` values later through
`register_merge_source`; until then those fields exist (a template may use them) and show "(not available)".

Text messages are read on lock screens: only fields marked `sms_safe` may appear in an SMS template. Dates of
birth, MRNs, addresses, the visit type (it can name a condition: "HIV follow-up"), balances and claims are not
SMS-safe; the patient's first name, the time, place and provider of a visit, the practice and links are.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from clinicdesk.core import money

NOT_AVAILABLE = "(not available)"


@dataclass(frozen=True)
class MergeField:
    """One field: `key` is its dotted name ("patient.first_name")."""

    key: str
    label: str
    sample: str
    sms_safe: bool = False


@dataclass
class MergeSource:
    """Where a namespace's values come from: a callable given organization, patient, appointment and extra."""

    namespace: str
    provide: Callable[..., Mapping[str, object]]


def _fields(namespace: str, rows: list[tuple[str, str, str, bool]]) -> dict[str, MergeField]:
    return {f"{namespace}.{name}": MergeField(f"{namespace}.{name}", label, sample, safe) for name, label, sample, safe in rows}


CATALOGUE: dict[str, MergeField] = {
    **_fields("patient", [
        ("first_name", "First name", "Ana", True),
        ("preferred_name", "Name the patient goes by", "Ana", True),
        ("last_name", "Last name", "Álvarez", False),
        ("display_name", "Name for a greeting (preferred first name and last name)", "Ana Álvarez", False),
        ("full_name", "Legal full name", "Ana María Álvarez", False),
        ("date_of_birth", "Date of birth", "March 4, 1980", False),
        ("mrn", "MRN", "T000123", False),
        ("address_line1", "Address line 1", "12 Elm Street", False),
        ("address_line2", "Address line 2", "Apt 3", False),
        ("city_line", "City, state and ZIP", "Springfield, IL 62704", False),
        ("phone", "Phone", "(217) 555-0134", False),
        ("email", "E-mail", "ana@example.com", False),
    ]),
    **_fields("guarantor", [
        ("name", "Name of the responsible party", "Ana Álvarez", False),
        ("relationship", "Relationship to the patient", "Self", False),
        ("address_line1", "Address line 1", "12 Elm Street", False),
        ("city_line", "City, state and ZIP", "Springfield, IL 62704", False),
        ("phone", "Phone", "(217) 555-0134", False),
        ("email", "E-mail", "ana@example.com", False),
    ]),
    **_fields("appointment", [
        ("date", "Date", "Tuesday, March 10, 2026", True),
        ("time", "Time", "9:30 AM", True),
        ("weekday", "Weekday", "Tuesday", True),
        ("type", "Kind of visit", "Annual physical", False),
        ("duration", "Length", "30 minutes", True),
        ("location", "Location", "Main Street Office", True),
        ("location_address", "Location address", "100 Main Street, Springfield, IL 62701", True),
        ("provider", "Provider", "Dr. Maria Chen", True),
    ]),
    **_fields("provider", [
        ("name", "Name", "Dr. Maria Chen", True),
        ("title", "Title", "MD", False),
        ("full_name", "Full name with credentials", "Maria Chen, MD", False),
    ]),
    **_fields("location", [
        ("name", "Name", "Main Street Office", True),
        ("address", "Address", "100 Main Street, Springfield, IL 62701", True),
        ("phone", "Phone", "(217) 555-0100", True),
    ]),
    **_fields("practice", [
        ("name", "Name", "Riverside Family Medicine", True),
        ("phone", "Phone", "(217) 555-0100", True),
    ]),
    **_fields("balance", [
        ("amount_due", "Amount due", "$125.40", False),
        ("past_due_amount", "Past-due amount", "$80.00", False),
        ("days_past_due", "Days past due", "64", False),
        ("statement_date", "Last statement date", "February 1, 2026", False),
        ("due_date", "Pay by", "March 15, 2026", False),
    ]),
    **_fields("claim", [
        ("number", "Claim number", "CLM-2026-00042", False),
        ("payer", "Insurance", "Acme Health Plan", False),
        ("service_date", "Date of service", "January 12, 2026", False),
        ("status", "Status", "Denied", False),
        ("patient_responsibility", "Patient responsibility", "$45.00", False),
    ]),
    **_fields("links", [
        ("confirm_url", "Confirm the appointment", "https://example.org/m/confirm", True),
        ("cancel_url", "Cancel the appointment", "https://example.org/m/cancel", True),
        ("reschedule_url", "Ask for another time", "https://example.org/m/reschedule", True),
        ("unsubscribe_url", "Unsubscribe", "https://example.org/m/unsubscribe", True),
        ("letter_url", "Read the letter", "https://example.org/m/letter", True),
        ("offer_url", "Take the offered time", "https://example.org/m/offer", True),
        ("booking_url", "Book online", "https://example.org/book/main/", True),
        ("pay_url", "Pay online", "https://example.org/pay/123", True),
        ("statement_url", "See the statement", "https://example.org/statements/123", True),
    ]),
    "today": MergeField("today", "Today's date", "March 2, 2026", True),
}

NAMESPACES: frozenset[str] = frozenset(key.split(".")[0] for key in CATALOGUE)
SMS_SAFE_FIELDS: frozenset[str] = frozenset(key for key, f in CATALOGUE.items() if f.sms_safe)
# Namespaces whose every field may go in a text message.
SMS_SAFE_NAMESPACES: frozenset[str] = frozenset(
    ns for ns in NAMESPACES if all(f.sms_safe for k, f in CATALOGUE.items() if k.split(".")[0] == ns)
)
# Namespaces the billing and insurance apps fill (see register_merge_source).
PLUGGABLE_NAMESPACES = frozenset({"balance", "claim"})
_SOURCES: dict[str, MergeSource] = {}


def register_merge_source(namespace: str, fields: Mapping[str, str], provide: Callable[..., Mapping[str, object]]) -> None:
    """Let another app fill a namespace: `fields` maps field name to label (new ones join the catalogue with
    a neutral sample), `provide(organization=, patient=, appointment=, extra=)` returns their values."""
    global NAMESPACES
    if namespace in NAMESPACES - PLUGGABLE_NAMESPACES:
        raise ValueError(f"'{namespace}' is filled by communications itself.")
    for name, label in fields.items():
        key = f"{namespace}.{name}"
        if key not in CATALOGUE:
            CATALOGUE[key] = MergeField(key, label, label)
    NAMESPACES = frozenset(k.split(".")[0] for k in CATALOGUE)
    _NAMES.clear()
    _SOURCES[namespace] = MergeSource(namespace, provide)


def unregister_merge_source(namespace: str) -> None:
    """Forget a source (tests); the namespace's fields stay and show "(not available)"."""
    _SOURCES.pop(namespace, None)


def fields_of(namespace: str) -> list[MergeField]:
    return [f for k, f in CATALOGUE.items() if k.split(".")[0] == namespace or k == namespace]


def field_groups() -> list[tuple[str, list[MergeField]]]:
    """The catalogue grouped by namespace, for the template editor's help panel."""
    order = ["patient", "guarantor", "appointment", "provider", "location", "practice", "balance", "claim", "links", "today"]
    extra = sorted(NAMESPACES - set(order))
    return [(ns, fields_of(ns)) for ns in [*order, *extra] if fields_of(ns)]


# --- formatting for people --------------------------------------------------------------------------------


def format_date(value: date | None) -> str:
    return f"{value:%B} {value.day}, {value.year}" if value else ""


def format_time(value: datetime) -> str:
    hour = value.hour % 12 or 12
    return f"{hour}:{value:%M} {'AM' if value.hour < 12 else 'PM'}"


def format_money(value: Decimal | int | str | None) -> str:
    """An amount as the practice shows money everywhere (core.money), or "" when there is none."""
    if value is None or value == "":
        return ""
    return money.format_money(value if isinstance(value, Decimal) else Decimal(str(value)))


def _plain(value: object) -> str:
    """A value from a source or `extra`, as the text a person reads."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{format_date(value.date())} {format_time(value)}"
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TypeError(f"Merge values must be plain text, numbers or dates, not {type(value).__name__}.")


def _city_line(city: str, state: str, postal_code: str) -> str:
    place = ", ".join(p for p in (city, state) if p)
    return f"{place} {postal_code}".strip()


def _address_one_line(location) -> str:
    parts = [location.address_line1, location.address_line2, _city_line(location.city, location.state, location.postal_code)]
    return ", ".join(p for p in parts if p)


def _person_name(user) -> str:
    """How patients call a provider: "Dr. Maria Chen" for doctors, "Maria Chen, NP" for others."""
    if user is None:
        return ""
    name = user.get_full_name() or user.username
    title = (user.title or "").strip()
    if title.upper() in ("MD", "DO", "DDS", "DMD", "DPM", "PHD", "DR", "DR."):
        return f"Dr. {name}"
    return f"{name}, {title}" if title else name


def _patient_values(patient) -> dict[str, str]:
    first = patient.preferred_name or patient.first_name
    return {
        "first_name": patient.first_name,
        "preferred_name": first,
        "last_name": patient.last_name,
        "display_name": f"{first} {patient.last_name}",
        "full_name": " ".join(p for p in (patient.first_name, patient.middle_name, patient.last_name, patient.suffix) if p),
        "date_of_birth": format_date(patient.date_of_birth),
        "mrn": patient.mrn,
        "address_line1": patient.address_line1,
        "address_line2": patient.address_line2,
        "city_line": _city_line(patient.city, patient.state, patient.postal_code),
        "phone": patient.phone_mobile or patient.phone_home or patient.phone_work,
        "email": patient.email,
    }


def _guarantor_values(patient) -> dict[str, str]:
    from clinicdesk.patients.choices import Relationship

    guarantor = getattr(patient, "guarantor", None) if patient is not None else None
    if guarantor is None or guarantor.relationship == Relationship.SELF:
        mine = _patient_values(patient) if patient is not None else {}
        return {"name": mine.get("full_name", ""), "relationship": "Self" if patient else "",
                "address_line1": mine.get("address_line1", ""), "city_line": mine.get("city_line", ""),
                "phone": mine.get("phone", ""), "email": mine.get("email", "")}
    other = guarantor.guarantor_patient
    if other is not None:
        theirs = _patient_values(other)
        return {"name": theirs["full_name"], "relationship": guarantor.get_relationship_display(),
                "address_line1": theirs["address_line1"], "city_line": theirs["city_line"],
                "phone": theirs["phone"], "email": theirs["email"]}
    return {"name": guarantor.name, "relationship": guarantor.get_relationship_display(),
            "address_line1": guarantor.address_line1,
            "city_line": _city_line(guarantor.city, guarantor.state, guarantor.postal_code),
            "phone": guarantor.phone, "email": guarantor.email}


def _appointment_values(appointment) -> dict[str, str]:
    tz = zoneinfo.ZoneInfo(appointment.location.time_zone)
    local = timezone.localtime(appointment.starts_at, tz)
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    return {
        "date": f"{local:%A}, {format_date(local.date())}",
        "time": format_time(local),
        "weekday": f"{local:%A}",
        "type": appointment.appointment_type.name,
        "duration": f"{minutes} minutes" if minutes != 1 else "1 minute",
        "location": appointment.location.name,
        "location_address": _address_one_line(appointment.location),
        "provider": _person_name(appointment.provider),
    }


def _provider_values(provider) -> dict[str, str]:
    signature = getattr(provider, "letter_signature", None) if provider is not None else None
    name = (provider.get_full_name() or provider.username) if provider is not None else ""
    title = (provider.title or "") if provider is not None else ""
    full = signature.name_line if signature is not None else (f"{name}, {title}" if title else name)
    return {"name": _person_name(provider), "title": title, "full_name": full}


def _location_values(location) -> dict[str, str]:
    return {"name": location.name, "address": _address_one_line(location), "phone": location.phone}


# The field names of each namespace, worked out once (register_merge_source adds fields and clears it).
_NAMES: dict[str, tuple[str, ...]] = {}


def _empty(namespace: str, value: str = "") -> dict[str, str]:
    names = _NAMES.get(namespace)
    if names is None:
        names = _NAMES[namespace] = tuple(f.key.split(".", 1)[1] for f in fields_of(namespace) if "." in f.key)
    return dict.fromkeys(names, value)


def _today(location) -> str:
    tz = zoneinfo.ZoneInfo(location.time_zone if location is not None else settings.TIME_ZONE)
    return format_date(timezone.now().astimezone(tz).date())


def merge_context(
    *, organization, patient=None, appointment=None, location=None, provider=None,
    links: Mapping[str, str] | None = None, extra: Mapping[str, Mapping[str, object]] | None = None,
) -> dict[str, object]:
    """The values a template is rendered with: one dict of strings per namespace, and `today`.

    Every catalogued field is present (empty when unknown), so a template that passed the save check never
    fails on a missing value. The appointment fills location and provider when they are not given. `extra`
    adds or overrides values by namespace ({"balance": {"amount_due": Decimal("12.50")}}) for callers that
    know them; unknown namespaces in it are refused.
    """
    from clinicdesk.core.models import Location

    if appointment is not None:
        location = location or appointment.location
        provider = provider or appointment.provider
        patient = patient or appointment.patient
    if location is None:
        location = Location.objects.filter(organization=organization, is_active=True).order_by("pk").first()
    context: dict[str, object] = {
        "patient": _patient_values(patient) if patient is not None else _empty("patient"),
        "guarantor": _guarantor_values(patient),
        "appointment": _appointment_values(appointment) if appointment is not None else _empty("appointment"),
        "provider": _provider_values(provider) if provider is not None else _empty("provider"),
        "location": _location_values(location) if location is not None else _empty("location"),
        "practice": {"name": organization.name, "phone": location.phone if location is not None else ""},
        "links": {**_empty("links"), **{k: str(v) for k, v in (links or {}).items() if f"links.{k}" in CATALOGUE}},
        "today": _today(location),
    }
    for namespace in sorted(NAMESPACES - set(context)):
        source = _SOURCES.get(namespace)
        values = _empty(namespace, NOT_AVAILABLE)
        if source is not None:
            provided = source.provide(organization=organization, patient=patient, appointment=appointment, extra=extra)
            values.update({k: _plain(v) for k, v in (provided or {}).items() if f"{namespace}.{k}" in CATALOGUE})
        context[namespace] = values
    for namespace, values in (extra or {}).items():
        if namespace not in NAMESPACES or namespace == "today":
            raise ValueError(f"Unknown merge namespace '{namespace}'.")
        current = context[namespace]
        current.update({k: _plain(v) for k, v in values.items() if f"{namespace}.{k}" in CATALOGUE})
    return context


def sample_context(organization) -> dict[str, object]:
    """Every field filled with its sample value (the practice's own name where it has one): for previews."""
    context: dict[str, object] = {}
    for key, merge_field in CATALOGUE.items():
        if "." not in key:
            context[key] = merge_field.sample
            continue
        namespace, name = key.split(".", 1)
        context.setdefault(namespace, {})[name] = merge_field.sample
    if organization is not None:
        context["practice"]["name"] = organization.name
    return context
