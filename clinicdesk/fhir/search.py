"""FHIR search parameters turned into filters on the apps' own scoped selectors.

Every search starts from the selector that limits rows to the caller's practice and permissions
(`patient_scope`, `appointment_scope`, `calendar_locations`); this module only narrows them. Unknown
parameters, modifiers and malformed values are refused by name (400) rather than ignored, so a client never
mistakes an unfiltered answer for a filtered one.
"""

from __future__ import annotations

import calendar
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from clinicdesk.core.choices import Role
from clinicdesk.core.models import Location, User
from clinicdesk.patients.selectors.records import patient_scope
from clinicdesk.scheduling.selectors.calendar import appointment_scope

from .bindings import ADMINISTRATIVE_GENDER, APPOINTMENT_STATUS
from .mappers import APPOINTMENT_STATUS_TO_FHIR
from .outcomes import FhirError, Issue

DEFAULT_COUNT = 20
MAX_COUNT = 100
# Parameters every search takes (paging and the format of the answer).
COMMON_PARAMS = ("_count", "_page", "_format")
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
SUPPORTED_PREFIXES = ("eq", "gt", "lt", "ge", "le")
_DATE = re.compile(r"^(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})(T(?P<time>.+))?)?)?$")
PROVIDER_ROLES = (Role.CLINICIAN, Role.NURSE)


def bad(param: str, message: str) -> FhirError:
    return FhirError(400, Issue(message, code="invalid", expression=[param]))


@dataclass(frozen=True)
class Paging:
    count: int
    page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.count


def _single(params, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise bad(name, f"Give {name} once.")
    return values[0] if values else None


def paging(params) -> Paging:
    """`_count` (1–100, default 20) and `_page` (from 1)."""
    values = {}
    for name, default, top in (("_count", DEFAULT_COUNT, MAX_COUNT), ("_page", 1, None)):
        raw = _single(params, name)
        if raw is None or raw == "":
            values[name] = default
            continue
        if not raw.isdigit() or int(raw) < 1 or (top and int(raw) > top) or len(raw) > 9:
            raise bad(name, f"{name} is a whole number from 1{f' to {top}' if top else ''}; got '{raw}'.")
        values[name] = int(raw)
    return Paging(count=values["_count"], page=values["_page"])


def split_param(key: str) -> tuple[str, str]:
    name, _, modifier = key.partition(":")
    return name, modifier


def check_params(params, allowed: dict[str, tuple[str, ...]]) -> None:
    """Refuse parameters and modifiers this server does not support. `allowed` maps a name to its modifiers."""
    for key in params:
        name, modifier = split_param(key)
        if name in COMMON_PARAMS and not modifier:
            continue
        if name not in allowed:
            supported = ", ".join(sorted([*allowed, *COMMON_PARAMS]))
            raise bad(key, f"Unknown search parameter '{name}'; this server supports: {supported}.")
        if modifier and modifier not in allowed[name]:
            raise bad(key, f"The modifier ':{modifier}' is not supported on '{name}'.")
        for value in params.getlist(key):
            if value == "":
                raise bad(key, f"Give '{name}' a value.")


# --- dates ------------------------------------------------------------------------------------------------


def _prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in PREFIXES and not value[:2].isdigit():
        return value[:2], value[2:]
    return "eq", value


def date_range(param: str, text: str, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """The [start, end) a FHIR date value stands for: a year, a month, a day, or an instant (YYYY-MM-DDThh:mm:ss±hh:mm)."""
    match = _DATE.match(text)
    try:
        if match is None:
            raise ValueError
        year = int(match["y"])
        if match["time"]:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise bad(param, f"'{text}': give a time with its UTC offset, e.g. 2027-03-15T09:00:00-04:00.")
            return moment, moment + timedelta(seconds=1)
        if match["d"]:
            day = date(year, int(match["m"]), int(match["d"]))
            first, last = day, day
        elif match["m"]:
            month = int(match["m"])
            first = date(year, month, 1)
            last = date(year, month, calendar.monthrange(year, month)[1])
        else:
            first, last = date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        raise bad(param, f"'{text}' is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a date and time with offset).") from None
    return datetime.combine(first, time.min, tz), datetime.combine(last + timedelta(days=1), time.min, tz)


def date_filter(param: str, values: list[str], field: str, *, tz: zoneinfo.ZoneInfo, as_date: bool) -> Q:
    """Every value ANDed (date=ge2027-01-01&date=lt2027-02-01 is a range); each is prefix + value."""
    q = Q()
    for raw in values:
        for value in raw.split(","):
            prefix, text = _prefix(value)
            if prefix not in SUPPORTED_PREFIXES:
                raise bad(param, f"The prefix '{prefix}' is not supported; use one of: {', '.join(SUPPORTED_PREFIXES)}.")
            start, end = date_range(param, text, tz)
            lo, hi = (start.date(), end.date()) if as_date else (start, end)
            q &= {
                "eq": Q(**{f"{field}__gte": lo, f"{field}__lt": hi}),
                "ge": Q(**{f"{field}__gte": lo}),
                "gt": Q(**{f"{field}__gte": hi}),
                "le": Q(**{f"{field}__lt": hi}),
                "lt": Q(**{f"{field}__lt": lo}),
            }[prefix]
    return q


def default_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


# --- strings and tokens -------------------------------------------------------------------------------------


def _string_q(fields: tuple[str, ...], value: str, modifier: str) -> Q:
    lookup = {"": "istartswith", "contains": "icontains", "exact": "exact"}[modifier]
    q = Q()
    for name in fields:
        q |= Q(**{f"{name}__{lookup}": value})
    return q


def _any_of(param: str, raw: str, make) -> Q:
    """A comma-separated value is an OR of its parts."""
    q = Q()
    for part in raw.split(","):
        if not part:
            raise bad(param, f"'{raw}' has an empty value between commas.")
        q |= make(part)
    return q


def reference_id(param: str, value: str, resource: str) -> str:
    """`Patient/abc`, `abc` or a full URL ending in `Patient/abc` -> 'abc'."""
    head, _, tail = value.rpartition("/")
    if head and not (head == resource or head.endswith(f"/{resource}")):
        raise bad(param, f"'{value}' is not a reference to a {resource}.")
    if not tail:
        raise bad(param, f"'{value}' names no {resource}.")
    return tail


# --- the searches -------------------------------------------------------------------------------------------

PATIENT_PARAMS: dict[str, tuple[str, ...]] = {
    "_id": (), "identifier": (), "name": ("contains", "exact"), "family": ("contains", "exact"),
    "given": ("contains", "exact"), "birthdate": (), "gender": (),
}
_NAME_FIELDS = ("first_name", "middle_name", "last_name", "preferred_name")


def patient_search(*, actor: User, params, mrn_system: str) -> QuerySet:
    """Patients of the actor's practice matching the FHIR parameters (AND across parameters, OR within a comma list)."""
    check_params(params, PATIENT_PARAMS)
    rows = patient_scope(actor=actor).select_related("organization")
    for key in params:
        name, modifier = split_param(key)
        values = params.getlist(key)
        if name == "_id":
            for raw in values:
                rows = rows.filter(_any_of(key, raw, lambda v: Q(public_id=v)))
        elif name == "identifier":
            for raw in values:
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _identifier_q(key, v, mrn_system)))
        elif name in ("name", "family", "given"):
            fields = {"name": _NAME_FIELDS, "family": ("last_name",), "given": ("first_name", "middle_name", "preferred_name")}[name]
            for raw in values:
                rows = rows.filter(_any_of(key, raw, lambda v, f=fields, m=modifier: _string_q(f, v, m)))
        elif name == "birthdate":
            rows = rows.filter(date_filter(key, values, "date_of_birth", tz=default_tz(), as_date=True))
        elif name == "gender":
            for raw in values:
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _gender_q(key, v)))
    return rows.order_by("last_name", "first_name", "date_of_birth", "id")


def _identifier_q(param: str, value: str, mrn_system: str) -> Q:
    system, bar, code = value.partition("|")
    if not bar:
        return Q(mrn=value)
    if system and system != mrn_system:
        return Q(pk__in=[])  # an identifier of another system: nothing here carries it
    if not code:
        raise bad(param, "Give the identifier's value after the '|'.")
    return Q(mrn=code)


def _gender_q(param: str, value: str) -> Q:
    if value not in ADMINISTRATIVE_GENDER:
        raise bad(param, f"'{value}' is not an administrative gender; use one of: {', '.join(ADMINISTRATIVE_GENDER)}.")
    return Q(sex=value)


APPOINTMENT_PARAMS: dict[str, tuple[str, ...]] = {
    "_id": (), "patient": (), "date": (), "status": (), "practitioner": (), "location": (), "_include": (),
}
APPOINTMENT_INCLUDES = ("Appointment:patient",)


def appointment_search(*, actor: User, params) -> tuple[QuerySet, list[str]]:
    """Appointments the actor may see matching the FHIR parameters, by start; and the `_include`s asked for."""
    check_params(params, APPOINTMENT_PARAMS)
    rows = appointment_scope(actor=actor).select_related("location__organization")
    includes: list[str] = []
    for key in params:
        name, _ = split_param(key)
        values = params.getlist(key)
        if name == "_id":
            for raw in values:
                rows = rows.filter(_any_of(key, raw, lambda v: Q(public_id=v)))
        elif name == "patient":
            for raw in values:
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(patient__public_id=reference_id(key, v, "Patient"))))
        elif name == "practitioner":
            for raw in values:
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(provider_id=_numeric(key, reference_id(key, v, "Practitioner")))))
        elif name == "location":
            for raw in values:
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(location_id=_numeric(key, reference_id(key, v, "Location")))))
        elif name == "date":
            rows = rows.filter(date_filter(key, values, "starts_at", tz=default_tz(), as_date=False))
        elif name == "status":
            for raw in values:
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(status__in=_statuses(key, v))))
        elif name == "_include":
            for value in values:
                if value not in APPOINTMENT_INCLUDES:
                    raise bad(key, f"'_include={value}' is not supported; use one of: {', '.join(APPOINTMENT_INCLUDES)}.")
                includes.append(value)
    return rows.order_by("starts_at", "provider_id", "id"), includes


def _numeric(param: str, value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise bad(param, f"'{value}' is not an id of this server.")
    return int(value)


def _statuses(param: str, value: str) -> list[str]:
    if value not in APPOINTMENT_STATUS:
        raise bad(param, f"'{value}' is not an appointment status; use one of: {', '.join(APPOINTMENT_STATUS)}.")
    return [ours for ours, theirs in APPOINTMENT_STATUS_TO_FHIR.items() if theirs == value]


SIMPLE_PARAMS: dict[str, tuple[str, ...]] = {"_id": ()}


def practitioner_scope(*, actor: User) -> QuerySet[User]:
    """The practice's providers (the roles that are booked), active or not: appointments refer to them."""
    return User.objects.filter(organization_id=actor.organization_id, role__in=PROVIDER_ROLES).order_by(
        "last_name", "first_name", "id")


def location_scope(*, actor: User) -> QuerySet[Location]:
    """The practice's locations the actor works at (every one when not limited), open or closed: appointments refer
    to them."""
    rows = Location.objects.filter(organization_id=actor.organization_id).select_related("organization")
    allowed = actor.allowed_location_ids()
    return rows.filter(id__in=allowed) if allowed is not None else rows


def id_filter(params, rows: QuerySet, field: str = "pk", *, numeric: bool = True) -> QuerySet:
    """`_id` (the only parameter of Practitioner, Organization and Location searches)."""
    check_params(params, SIMPLE_PARAMS)
    for raw in params.getlist("_id"):
        rows = rows.filter(_any_of("_id", raw, lambda v: Q(**{field: _numeric("_id", v) if numeric else v})))
    return rows
