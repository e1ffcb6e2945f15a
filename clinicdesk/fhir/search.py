"""FHIR search parameters turned into filters on the apps' own scoped selectors.

Every search starts from the selector that limits rows to the caller's practice and permissions
(`patient_scope`, `appointment_scope`, `calendar_locations`); this module only narrows them. Unknown
parameters, modifiers and malformed values are refused by name (400) rather than ignored, so a client never
mistakes an unfiltered answer for a filtered one.
"""

from __future__ import annotations

import calendar
import math
import re
import sys
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Count, F, Max, Min, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Collate, Concat

from clinicdesk.core.choices import Role
from clinicdesk.core.models import Location, User
from clinicdesk.insurance.selectors.coverage import coverage_scope
from clinicdesk.patients.search import normalize_name
from clinicdesk.patients.selectors.records import patient_scope
from clinicdesk.patients.selectors.search import (
    FTS_MATCH_SQL,
    PG_NAME_WORD_SQL,
    NameWalk,
    name_walk_scope,
    word_scanned,
)
from clinicdesk.scheduling.choices import LIVE_STATUSES
from clinicdesk.scheduling.models import AppointmentType, AvailabilityTemplate
from clinicdesk.scheduling.selectors.availability import location_tz
from clinicdesk.scheduling.selectors.calendar import appointment_scope
from clinicdesk.scheduling.selectors.slots import MAX_LIMIT as SLOT_SEARCH_LIMIT
from clinicdesk.scheduling.selectors.slots import slot_search

from .bindings import ADMINISTRATIVE_GENDER, APPOINTMENT_STATUS, COVERAGE_STATUS, SLOT_STATUS
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


def date_values(param: str, values: list[str], tz: zoneinfo.ZoneInfo) -> Iterator[tuple[str, datetime, datetime, str]]:
    """Each value of a date parameter (repeated, or comma-separated) as (prefix, start, end, value as given), with
    [start, end) the range its date stands for; an unsupported prefix is refused naming the parameter."""
    for raw in values:
        for value in raw.split(","):
            prefix, text = _prefix(value)
            if prefix not in SUPPORTED_PREFIXES:
                raise bad(param, f"The prefix '{prefix}' is not supported; use one of: {', '.join(SUPPORTED_PREFIXES)}.")
            start, end = date_range(param, text, tz)
            yield prefix, start, end, value


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
        return datetime.combine(first, time.min, tz), datetime.combine(last + timedelta(days=1), time.min, tz)
    except (ValueError, OverflowError):
        raise bad(param, f"'{text}' is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a date and time with offset).") from None


def date_filter(param: str, values: list[str], field: str, *, tz: zoneinfo.ZoneInfo, as_date: bool) -> Q:
    """Every value ANDed (date=ge2027-01-01&date=lt2027-02-01 is a range); each is prefix + value."""
    q = Q()
    for prefix, start, end, _ in date_values(param, values, tz):
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
# The most entries of the name index worth reading for a common name's page, in chunks of
# patients.selectors.search.WALK_CHUNK: past that, fetching the matches and sorting them costs less.
NAME_WALK_CHUNKS = 6


def patient_search(*, actor: User, params, mrn_system: str, narrowed: bool = True) -> QuerySet:
    """Patients of the actor's practice matching the FHIR parameters (AND across parameters, OR within a comma list).

    In the order of the patients' name index (last name, then first names, accents folded; then id), so that a
    page is read from the index instead of sorting every match: a two-letter family prefix matches tens of
    thousands of patients in a large practice. Without `narrowed`, the name parameters' looser indexed condition
    (`_name_index_q`) is left out: the same rows, for checking a few known ids without the text index.
    """
    check_params(params, PATIENT_PARAMS)
    rows = patient_scope(actor=actor).select_related("organization").alias(name_key=_name_key())
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
                rows = rows.filter(_any_of(key, raw, lambda v, f=fields, n=name, m=modifier: (
                    _string_q(f, v, m) & (_name_index_q(n, v, m) if narrowed else Q()))))
        elif name == "birthdate":
            rows = rows.filter(date_filter(key, values, "date_of_birth", tz=default_tz(), as_date=True))
        elif name == "gender":
            for raw in values:
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _gender_q(key, v)))
    return rows.order_by("name_key", "id")


def patient_search_page(*, actor: User, params, mrn_system: str, count_up_to: int) -> tuple[QuerySet, int | None]:
    """`patient_search` for one page of a searchset, and the number of matches counted up to `count_up_to` + 1 when
    choosing how to read the page took counting them (else None)."""
    rows = patient_search(actor=actor, params=params, mrn_system=mrn_system)
    if not _by_name_words_alone(params):
        return rows, None
    counted = rows.order_by()[: count_up_to + 1].count()
    if counted > count_up_to:
        scanned = _name_words_scanned(params)
        if scanned is None:
            return rows, counted
        page_of = paging(params)
        exact = patient_search(actor=actor, params=params, mrn_system=mrn_system, narrowed=False)
        return _first_in_name_order(actor, rows, exact, scanned, page_of.offset + page_of.count + 1), counted
    # Few matches: reading the name index in order would pass over most of the practice to find them.
    return _fetched_and_sorted(rows), counted


def _fetched_and_sorted(rows: QuerySet) -> QuerySet:
    """`rows` in the same order, but by an expression the name index does not give, so that the database fetches
    the matches through the text index and sorts them instead of reading the name index in order."""
    return rows.order_by(Concat("name_key", Value("")), "id")


def _name_key():
    # The expression of the (organization, search_name, id) index of patients migration 0002: "C" on PostgreSQL.
    return Collate("search_name", "C") if connection.vendor == "postgresql" else F("search_name")


def _name_index_q(param: str, value: str, modifier: str) -> Q:
    """A looser condition on the derived search_name that the name indexes answer, ANDed to the exact one.

    Every patient the exact condition keeps passes it (a name part starting with, or equal to, the value
    begins a word of search_name once both are folded the same way), so it changes no answer; it only lets the
    database go straight to the candidates instead of reading the practice. search_name starts with the last
    name, so a family prefix is a range of the name index; other parts go through the text index.
    """
    words = normalize_name(value)
    if not words or modifier == "contains":
        return Q()
    if param == "family":
        return Q(name_key__gte=words, name_key__lt=words[:-1] + chr(ord(words[-1]) + 1))
    if connection.vendor == "postgresql":
        return Q(RawSQL(PG_NAME_WORD_SQL, [f"% {words}%"], output_field=BooleanField()))  # noqa: S611
    # The words are [a-z0-9] only (normalize_name), passed as a parameter.
    return Q(id__in=RawSQL(FTS_MATCH_SQL, [" AND ".join(f'search_name : "{w}"*' for w in words.split())]))  # noqa: S611


def _by_name_words_alone(params) -> bool:
    """Whether only the text index narrows the search (name= or given=, no family prefix, identifier or date).

    On PostgreSQL the planner's estimate for a LIKE on trigrams is the same for 'John' as for 'Burgess', so it reads
    the name index in order for both: a page of Johns in milliseconds, a page of Burgesses only after most of the
    practice. Counting the matches through the text index, capped, tells the two apart (and gives the total).
    """
    if connection.vendor != "postgresql":
        return False
    names = {split_param(key) for key in params}
    if not any(name in ("name", "given") and modifier != "contains" for name, modifier in names):
        return False
    return not any(name in ("_id", "identifier", "birthdate") or (name == "family" and modifier != "contains")
                   for name, modifier in names)


def _name_words_scanned(params) -> Q | None:
    """The looser condition of the name parameters (see `_name_index_q`) on the name index's entries alone, or None
    when some parameter gives it nothing to check (`:contains`, a value without letters or digits)."""
    condition = Q()
    for key in params:
        name, modifier = split_param(key)
        if name not in ("name", "given"):
            continue
        for raw in params.getlist(key):
            words = [normalize_name(part) for part in raw.split(",")]
            if modifier == "contains" or not all(words):
                return None
            either = Q()
            for part in words:
                either |= word_scanned(part)
            condition &= either
    return condition or None


def _first_in_name_order(actor: User, rows: QuerySet, exact: QuerySet, scanned: Q, wanted: int) -> QuerySet:
    """The first `wanted` of `rows` in name order, found by reading the name index in order and checking the words on
    its entries (`scanned`) before the exact condition (`exact`: `rows` without the text index) visits the few rows
    that pass, by id.

    For a common first name this replaces a heap visit for every row the ordered read passes (about 20,000 for
    `name=Eric` in a practice of a million) with an index-only read of the same entries. Matches bunched in one
    place of the alphabet (`name=Murphy`: mostly last names) would take a long walk to reach: when the rate of the
    entries read so far says the page needs more than NAME_WALK_CHUNKS chunks, the matches are fetched and sorted.
    """
    walk = NameWalk(name_walk_scope(patient_scope(actor=actor)), scanned, limit=sys.maxsize)
    first = walk.chunk
    budget = NAME_WALK_CHUNKS * first
    ids: list[int] = []
    entries = 0
    while True:
        read = len(walk.found)
        entries += walk.chunk
        exhausted = walk.step()
        candidates = [pk for _, pk in walk.found[read:]]
        if candidates:
            ids += exact.filter(id__in=candidates).values_list("id", flat=True)
        if exhausted or len(ids) >= wanted:
            return exact.filter(id__in=ids[:wanted])
        # At the rate found so far, the entries the page needs; past the budget fetching every match costs less.
        needed = wanted * entries / len(ids) if ids else math.inf
        if needed > budget:
            return _fetched_and_sorted(rows)
        walk.chunk = max(first, math.ceil((needed - entries) * 1.5))  # the rest in one more read, with a margin


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


# --- PractitionerRole -----------------------------------------------------------------------------------------

PRACTITIONER_ROLE_PARAMS: dict[str, tuple[str, ...]] = {"_id": (), "practitioner": (), "location": ()}


def _works_at(location_id: int) -> Q:
    """Providers who see patients at a location: not limited to some locations, limited to it, or with hours there."""
    return Q(locations__isnull=True) | Q(locations=location_id) | Q(availability_templates__location=location_id)


def practitioner_role_search(*, actor: User, params) -> QuerySet[User]:
    """The roles of the practice's providers (one per provider) matching `_id`, `practitioner` and `location`."""
    check_params(params, PRACTITIONER_ROLE_PARAMS)
    rows = practitioner_scope(actor=actor)
    visible = set(location_scope(actor=actor).filter(is_active=True).values_list("pk", flat=True))
    for key in params:
        name, _ = split_param(key)
        for raw in params.getlist(key):
            if name in ("_id", "practitioner"):
                kind = "Practitioner" if name == "practitioner" else "PractitionerRole"
                rows = rows.filter(_any_of(key, raw, lambda v, key=key, kind=kind: Q(pk=_numeric(key, reference_id(key, v, kind)))))
            elif name == "location":
                def at(v, key=key):
                    location_id = _numeric(key, reference_id(key, v, "Location"))
                    return _works_at(location_id) if location_id in visible else Q(pk__in=[])
                rows = rows.filter(pk__in=User.objects.filter(_any_of(key, raw, at)).values("pk"))
    return rows


def role_locations(user: User, visible: list[Location]) -> list[Location]:
    """The open locations, among those the caller sees, where a provider sees patients: the ones their sign-in is
    limited to (every one when not limited) and any where they have hours. Uses prefetched `locations` and
    `availability_templates`."""
    limited = {loc.pk for loc in user.locations.all()}
    with_hours = {t.location_id for t in user.availability_templates.all()}
    return [loc for loc in visible if loc.is_active and (not limited or loc.pk in limited or loc.pk in with_hours)]


# --- Schedule -------------------------------------------------------------------------------------------------

SCHEDULE_PARAMS: dict[str, tuple[str, ...]] = {"_id": (), "actor": (), "date": ()}
_SCHEDULE_ID = re.compile(r"^(\d{1,18})-(\d{1,18})$")


def schedule_key(param: str, value: str, *, strict: bool = True) -> tuple[int, int] | None:
    """'7-3' (or Schedule/7-3) -> (provider 7, location 3); a malformed id is refused when `strict`, else None."""
    match = _SCHEDULE_ID.match(reference_id(param, value, "Schedule") if strict else value)
    if match is None:
        if strict:
            raise bad(param, f"'{value}' is not a schedule id of this server (<practitioner id>-<location id>).")
        return None
    return int(match[1]), int(match[2])


def schedule_scope(*, actor: User) -> QuerySet:
    """One row per (provider, location) with availability templates, at the locations the actor sees: a Schedule.

    Each row carries the provider's and location's names and states, the first day of the first template (`first`),
    the last day of the last one (`last`, meaningless when `open_ended`), and when a template last changed.
    """
    visible = location_scope(actor=actor).values("pk")
    return (
        AvailabilityTemplate.objects.filter(organization_id=actor.organization_id, location_id__in=visible,
                                            provider__organization_id=actor.organization_id,
                                            provider__role__in=PROVIDER_ROLES)
        .values("provider_id", "location_id", "provider__first_name", "provider__last_name", "provider__title",
                "provider__is_active", "location__name", "location__is_active")
        .annotate(first=Min("effective_from"), last=Max("effective_to"), updated=Max("updated_at"),
                  open_ended=Count("pk", filter=Q(effective_to__isnull=True)))
        .order_by("provider__last_name", "provider__first_name", "provider_id", "location__name", "location_id")
    )


def _schedule_actor_q(param: str, value: str) -> Q:
    kind, _, ident = value.rpartition("/")
    kind = kind.rpartition("/")[2]
    if kind == "Practitioner":
        return Q(provider_id=_numeric(param, ident))
    if kind == "Location":
        return Q(location_id=_numeric(param, ident))
    raise bad(param, f"'{value}': give the actor as Practitioner/[id] or Location/[id].")


def _horizon_q(param: str, values: list[str], tz: zoneinfo.ZoneInfo) -> Q:
    """`date` on a Schedule: its planning horizon (first to last day of its templates) meets the value's range."""
    q = Q()
    for prefix, start, end, value in date_values(param, values, tz):
        first_day, last_day = start.date(), (end - timedelta(microseconds=1)).date()
        try:
            reaches = {"ge": first_day, "gt": last_day + timedelta(days=1), "eq": first_day}.get(prefix)
            begins = {"le": last_day, "lt": first_day - timedelta(days=1), "eq": last_day}.get(prefix)
        except OverflowError:
            raise bad(param, f"'{value}' is out of range.") from None
        if reaches is not None:
            q &= Q(open_ended__gt=0) | Q(last__gte=reaches)
        if begins is not None:
            q &= Q(first__lte=begins)
    return q


def schedule_search(*, actor: User, params) -> QuerySet:
    check_params(params, SCHEDULE_PARAMS)
    rows = schedule_scope(actor=actor)
    for key in params:
        name, _ = split_param(key)
        values = params.getlist(key)
        if name == "_id":
            for raw in values:
                def one(v, key=key):
                    provider_id, location_id = schedule_key(key, v)
                    return Q(provider_id=provider_id, location_id=location_id)
                rows = rows.filter(_any_of(key, raw, one))
        elif name == "actor":
            for raw in values:
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _schedule_actor_q(key, v)))
        elif name == "date":
            rows = rows.filter(_horizon_q(key, values, default_tz()))
    return rows


# --- Slot -----------------------------------------------------------------------------------------------------

SLOT_PARAMS: dict[str, tuple[str, ...]] = {"_id": (), "schedule": (), "start": (), "status": (), "service-type": ()}
SLOT_STATUSES_SERVED = ("free", "busy")
# How far one Slot search may reach, and how far it reaches when `start` gives no upper bound.
SLOT_MAX_RANGE = timedelta(days=31)
SLOT_DEFAULT_RANGE = timedelta(days=7)
# A search that would list more slots than this is refused (narrow the range or the schedules) rather than cut.
SLOT_MAX_RESULTS = 5000
# Far enough either way for any real schedule, and far from the ends of the calendar Python can count in.
SLOT_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
SLOT_LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_SLOT_ID = re.compile(r"^(\d{1,18})-(\d{1,18})-(\d{1,18})-(\d{14})$")


@dataclass(frozen=True)
class FhirSlot:
    """A slot of a schedule (provider at a location) for one appointment type: free (the scheduling app's slot
    search offers it) or busy (live appointments hold it)."""

    provider_id: int
    location_id: int
    appointment_type: AppointmentType
    starts_at: datetime
    ends_at: datetime
    status: str
    tz: zoneinfo.ZoneInfo

    @property
    def id(self) -> str:
        """Schedule, type and start (UTC): the same slot has the same id whether it is free or, once booked, busy."""
        at = self.starts_at.astimezone(UTC).strftime("%Y%m%d%H%M%S")
        return f"{self.provider_id}-{self.location_id}-{self.appointment_type.pk}-{at}"

    @property
    def sort_key(self) -> tuple:
        return (self.starts_at, self.provider_id, self.location_id, self.appointment_type.pk, self.status)


def parse_slot_id(value: str) -> tuple[int, int, int, datetime] | None:
    match = _SLOT_ID.match(value)
    if match is None:
        return None
    try:
        at = datetime.strptime(match[4], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    if not SLOT_EARLIEST <= at < SLOT_LATEST:
        return None
    return int(match[1]), int(match[2]), int(match[3]), at


def _slot_range(param: str, values: list[str], now: datetime, *, lower: datetime | None = None,
                upper: datetime | None = None) -> tuple[datetime, datetime]:
    """[lower, upper) of slot starts from `start` values (ANDed): ge/gt give the lower bound, le/lt the upper, eq
    both. No lower bound is now; no upper bound is the lower one plus a week. Wider than 31 days is refused."""
    tz = default_tz()
    for prefix, start, end, _ in date_values(param, values, tz):
        low = {"eq": start, "ge": start, "gt": end}.get(prefix)
        high = {"eq": end, "le": end, "lt": start}.get(prefix)
        if low is not None:
            lower = low if lower is None else max(lower, low)
        if high is not None:
            upper = high if upper is None else min(upper, high)
    lower = lower if lower is not None else now.replace(second=0, microsecond=0)
    if not SLOT_EARLIEST <= lower < SLOT_LATEST or (upper is not None and not SLOT_EARLIEST < upper <= SLOT_LATEST):
        raise bad(param, f"Slots are searched between {SLOT_EARLIEST.year} and {SLOT_LATEST.year}.")
    upper = upper if upper is not None else lower + SLOT_DEFAULT_RANGE
    if upper <= lower:
        raise bad(param, "The start range is empty: its upper bound is not after its lower bound.")
    if upper - lower > SLOT_MAX_RANGE:
        raise bad(param, f"Search at most {SLOT_MAX_RANGE.days} days of slots at a time (give start=ge… and "
                         "start=lt… no further apart).")
    return lower, upper


def _slot_types(param: str, values: list[str], kinds: dict[str, AppointmentType], system: str) -> set[int] | None:
    """The appointment types named by `service-type` (system|code or code; ANDed across repeats), None when not asked."""
    chosen: set[int] | None = None
    for raw in values:
        here: set[int] = set()
        for part in raw.split(","):
            code_system, bar, code = part.rpartition("|") if "|" in part else ("", "", part)
            if bar and code_system and code_system != system:
                raise bad(param, f"'{part}': appointment types are coded in {system}.")
            kind = kinds.get(code)
            if kind is None:
                known = ", ".join(sorted(kinds)) or "none"
                raise bad(param, f"'{code}' is not an appointment type of this practice; its codes are: {known}.")
            here.add(kind.pk)
        chosen = here if chosen is None else chosen & here
    return chosen


def _slot_statuses(param: str, values: list[str]) -> set[str]:
    chosen = set(SLOT_STATUSES_SERVED)
    for raw in values:
        here = set()
        for part in raw.split(","):
            if part not in SLOT_STATUS:
                raise bad(param, f"'{part}' is not a slot status; use one of: {', '.join(SLOT_STATUS)}.")
            if part not in SLOT_STATUSES_SERVED:
                raise bad(param, f"This server only tells free and busy slots apart; '{part}' is not served.")
            here.add(part)
        chosen &= here
    return chosen


def _free_slots(*, actor: User, kind: AppointmentType, pairs: set[tuple[int, int]], lower: datetime, upper: datetime,
                clocks: dict[int, zoneinfo.ZoneInfo]) -> list[FhirSlot]:
    """Every free slot of the type for these schedules in [lower, upper), from the scheduling app's slot search
    (asked again from the last start found while it fills its limit)."""
    provider_ids = sorted({p for p, _ in pairs})
    location_ids = {loc for _, loc in pairs}
    location = Location.objects.get(pk=next(iter(location_ids))) if len(location_ids) == 1 else None
    found: list[FhirSlot] = []
    cursor = lower
    while cursor < upper:
        batch = slot_search(actor=actor, appointment_type=kind, start=cursor, end=upper, provider_ids=provider_ids,
                            location=location, limit=SLOT_SEARCH_LIMIT)
        if len(batch) == SLOT_SEARCH_LIMIT and batch[0].starts_at != batch[-1].starts_at:
            # The limit may have cut the last start short: ask again from it.
            last = batch[-1].starts_at
            batch = [s for s in batch if s.starts_at != last]
            next_cursor = last
        elif len(batch) == SLOT_SEARCH_LIMIT:
            next_cursor = batch[-1].starts_at + timedelta(seconds=1)
        else:
            next_cursor = upper
        for s in batch:
            if (s.provider_id, s.location_id) in pairs:
                found.append(FhirSlot(s.provider_id, s.location_id, kind, s.starts_at, s.ends_at, "free", clocks[s.location_id]))
        if len(found) > SLOT_MAX_RESULTS:
            raise bad("start", f"More than {SLOT_MAX_RESULTS} slots match; narrow the start range or the schedules.")
        cursor = next_cursor
    return found


def _busy_slots(*, actor: User, kinds: dict[int, AppointmentType], type_ids: set[int] | None, pairs: set[tuple[int, int]],
                lower: datetime, upper: datetime, clocks: dict[int, zoneinfo.ZoneInfo]) -> list[FhirSlot]:
    """The time live appointments hold on these schedules, one slot per schedule, type and start. A group session
    with places left is not busy (the slot search still offers it)."""
    providers = {p for p, _ in pairs}
    locations = {loc for _, loc in pairs}
    rows = (appointment_scope(actor=actor)
            .filter(status__in=LIVE_STATUSES, starts_at__gte=lower, starts_at__lt=upper, provider_id__in=providers,
                    location_id__in=locations)
            .values("provider_id", "location_id", "appointment_type_id", "starts_at")
            .annotate(ends=Max("ends_at"), held=Count("pk")).order_by())
    if type_ids is not None:
        rows = rows.filter(appointment_type_id__in=type_ids)
    found = []
    for row in rows:
        pair = (row["provider_id"], row["location_id"])
        kind = kinds.get(row["appointment_type_id"])
        if pair not in pairs or kind is None or row["held"] < kind.capacity:
            continue
        found.append(FhirSlot(*pair, kind, row["starts_at"], row["ends"], "busy", clocks[row["location_id"]]))
    if len(found) > SLOT_MAX_RESULTS:
        raise bad("start", f"More than {SLOT_MAX_RESULTS} slots match; narrow the start range or the schedules.")
    return found


def slot_search_fhir(*, actor: User, params, type_system: str, now: datetime) -> list[FhirSlot]:
    """Free and busy slots of the schedules the actor sees, by start. Free slots come from the scheduling app's slot
    search for the appointment types named by `service-type` (required for them: a slot's length and rules are
    the type's)."""
    check_params(params, SLOT_PARAMS)
    schedules = list(schedule_scope(actor=actor).values_list("provider_id", "location_id"))
    pairs = {(p, loc) for p, loc in schedules}
    every_kind = {k.code: k for k in AppointmentType.objects.filter(organization_id=actor.organization_id, is_active=True)
                  .select_related("organization")}
    type_ids: set[int] | None = None
    statuses = set(SLOT_STATUSES_SERVED)
    start_values: list[str] = []
    wanted: set[tuple[int, int, int, datetime]] | None = None
    for key in params:
        name, _ = split_param(key)
        values = params.getlist(key)
        if name == "schedule":
            for raw in values:
                here = set()
                for part in raw.split(","):
                    if not part:
                        raise bad(key, f"'{raw}' has an empty value between commas.")
                    here.add(schedule_key(key, part))
                pairs &= here
        elif name == "service-type":
            type_ids = _slot_types(key, values, every_kind, type_system)
        elif name == "status":
            statuses = _slot_statuses(key, values)
        elif name == "start":
            start_values = values
        elif name == "_id":
            for raw in values:
                here = {parsed for part in raw.split(",") if (parsed := parse_slot_id(part)) is not None}
                wanted = here if wanted is None else wanted & here
    if wanted is not None and not start_values:
        starts = [at for _p, _l, _t, at in wanted] or [now]
        lower, upper = _slot_range("start", [], now, lower=min(starts), upper=max(starts) + timedelta(seconds=1))
    else:
        lower, upper = _slot_range("start", start_values, now)
    if "free" in statuses and type_ids is None and wanted is None:
        raise bad("service-type", "Free slots are for an appointment type (its length and rules decide them): give "
                                  f"service-type={type_system}|<code>, or status=busy.")
    if wanted is not None:
        # Slot ids name their schedule, type and start: look only where they point.
        pairs &= {(p, loc) for p, loc, _t, _at in wanted}
        ids_types = {t for _p, _l, t, _at in wanted}
        type_ids = ids_types if type_ids is None else type_ids & ids_types
    if not pairs or not statuses:
        return []
    kinds = {k.pk: k for k in every_kind.values()}
    clocks = {loc.pk: location_tz(loc.time_zone) for loc in Location.objects.filter(pk__in={loc for _, loc in pairs})}
    slots: dict[str, FhirSlot] = {}
    if "busy" in statuses:
        for slot in _busy_slots(actor=actor, kinds=kinds, type_ids=type_ids, pairs=pairs, lower=lower, upper=upper,
                                clocks=clocks):
            slots[slot.id] = slot
    if "free" in statuses:
        for type_id in sorted(type_ids or ()):
            if type_id in kinds:
                for slot in _free_slots(actor=actor, kind=kinds[type_id], pairs=pairs, lower=lower, upper=upper,
                                        clocks=clocks):
                    slots[slot.id] = slot  # free wins: a slot the search still offers is not busy
    found = list(slots.values())
    if wanted is not None:
        found = [s for s in found if (s.provider_id, s.location_id, s.appointment_type.pk, s.starts_at) in wanted]
    return sorted(found, key=lambda s: s.sort_key)


def slot_get(*, actor: User, slot_id: str) -> FhirSlot | None:
    """The slot an id names, free or busy as it is now; None when the id is malformed, the schedule or the type is
    not the actor's, or the time is neither offered nor held."""
    parsed = parse_slot_id(slot_id)
    if parsed is None:
        return None
    provider_id, location_id, type_id, at = parsed
    if not schedule_scope(actor=actor).filter(provider_id=provider_id, location_id=location_id).exists():
        return None
    kind = (AppointmentType.objects.filter(organization_id=actor.organization_id, is_active=True, pk=type_id)
            .select_related("organization").first())
    if kind is None:
        return None
    location = Location.objects.get(pk=location_id)
    tz = location_tz(location.time_zone)
    for s in slot_search(actor=actor, appointment_type=kind, start=at, end=at + timedelta(seconds=1),
                         provider_ids=[provider_id], location=location, limit=1):
        if s.starts_at == at and s.provider_id == provider_id:
            return FhirSlot(provider_id, location_id, kind, s.starts_at, s.ends_at, "free", tz)
    pairs = {(provider_id, location_id)}
    for slot in _busy_slots(actor=actor, kinds={kind.pk: kind}, type_ids={kind.pk}, pairs=pairs, lower=at,
                            upper=at + timedelta(seconds=1), clocks={location_id: tz}):
        return slot
    return None


# --- Coverage -------------------------------------------------------------------------------------------------

COVERAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "_id": (), "identifier": (), "patient": (), "beneficiary": (), "payor": ("identifier",), "status": (),
}


def coverage_search(*, actor: User, params, member_system: str, payer_system: str) -> QuerySet:
    """The coverages the actor may see matching the FHIR parameters, by patient and billing order."""
    check_params(params, COVERAGE_PARAMS)
    rows = coverage_scope(actor=actor)
    for key in params:
        name, _ = split_param(key)
        for raw in params.getlist(key):
            if name == "_id":
                rows = rows.filter(_any_of(key, raw, lambda v: Q(public_id=v)))
            elif name == "identifier":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _system_value_q(key, v, member_system, "member_id")))
            elif name in ("patient", "beneficiary"):
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(patient__public_id=reference_id(key, v, "Patient"))))
            elif name == "payor":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _payor_q(key, v, payer_system)))
            elif name == "status":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _coverage_status_q(key, v)))
    return rows.order_by("patient__last_name", "patient__first_name", "patient_id", "rank", "-is_active", "id")


def _system_value_q(param: str, value: str, system: str, field: str) -> Q:
    code_system, bar, code = value.rpartition("|") if "|" in value else ("", "", value)
    if not code:
        raise bad(param, "Give the identifier's value after the '|'.")
    if bar and code_system and code_system != system:
        return Q(pk__in=[])  # another system's identifier: nothing here carries it
    return Q(**{field: code})


def _payor_q(param: str, value: str, payer_system: str) -> Q:
    if "/" in value and "|" not in value:
        raise bad(param, f"'{value}': payers are not served as resources here; search by payer ID: "
                         f"payor:identifier={payer_system}|<payer ID>.")
    return _system_value_q(param, value, payer_system, "payer__payer_identifier")


def _coverage_status_q(param: str, value: str) -> Q:
    if value not in COVERAGE_STATUS:
        raise bad(param, f"'{value}' is not a coverage status; use one of: {', '.join(COVERAGE_STATUS)}.")
    if value == "active":
        return Q(is_active=True)
    if value == "cancelled":
        return Q(is_active=False)
    return Q(pk__in=[])  # no coverage is a draft or entered in error here
