"""When providers can be booked: availability templates as wall-clock time in the location's zone, minus
exceptions and public holidays, plus extra hours. Loaded with a fixed number of queries, computed in Python.

A 09:00–12:00 block is 09:00–12:00 on the location's clock every day it applies, so across a daylight
saving change the same block is a different stretch of UTC; every instant here is computed from the
local date and wall-clock time with `zoneinfo`, never by adding hours to a UTC instant.
"""

from __future__ import annotations

import math
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays as holiday_calendars
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q
from django.http import Http404

from clinicdesk.core.models import Location, User
from clinicdesk.core.permissions import Perm
from clinicdesk.core.prepared import PreparedQuery, run_together

from ..choices import LIVE_STATUSES, ExceptionKind
from ..models import Appointment, AvailabilityBlock, AvailabilityTemplate, LocationSchedule, ScheduleException

BLOCKING_KINDS = frozenset({ExceptionKind.VACATION, ExceptionKind.BLOCKED, ExceptionKind.SICK})
DEFAULT_SLOT_STEP = 15

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class OpenWindow:
    """A stretch when a provider can be booked at a location; `appointment_type_ids` None means any type."""

    provider_id: int
    location_id: int
    starts_at: datetime
    ends_at: datetime
    appointment_type_ids: frozenset[int] | None = None


@dataclass(frozen=True)
class LocationClock:
    """What the availability engine needs to know about a location."""

    id: int
    name: str
    tz: zoneinfo.ZoneInfo
    holiday_country: str
    holiday_subdivision: str
    observe_holidays: bool
    slot_step_minutes: int

    def holiday(self, day: date) -> str | None:
        if not self.observe_holidays:
            return None
        return holidays_of(self.holiday_country, self.holiday_subdivision, day.year).get(day)


@dataclass
class _Template:
    provider_id: int
    location_id: int
    effective_from: date
    effective_to: date | None
    # weekday -> [(start, end, type ids or None)]
    blocks: dict[int, list[tuple[time, time, frozenset[int] | None]]] = field(default_factory=lambda: defaultdict(list))

    def applies(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def day_seconds(self, day: date, tz: zoneinfo.ZoneInfo) -> tuple[tuple[int, int, frozenset[int] | None], ...]:
        """The blocks of one local date as whole seconds since 1970 (UTC), remembered: templates are shared by
        every search made with the same rows (see `_templates_from_rows`), and days repeat from one search to the next."""
        cache = self.__dict__.setdefault("_day_seconds", {})
        found = cache.get((day, tz))
        if found is None:
            if len(cache) > 4096:
                cache.clear()
            found = cache[(day, tz)] = tuple(
                (_seconds(wall_clock(day, start, tz)), _seconds(wall_clock(day, end, tz)), types)
                for start, end, types in self.blocks.get(day.weekday(), ())
            )
        return found


@dataclass(frozen=True)
class _Exception:
    provider_id: int | None
    location_id: int | None
    kind: str
    starts_at: datetime
    ends_at: datetime
    reason: str


@lru_cache(maxsize=256)
def holidays_of(country: str, subdivision: str, year: int) -> dict[date, str]:
    """Public holidays of a country (and state) in one year; an unknown country or state has none."""
    try:
        calendar = holiday_calendars.country_holidays(country or "US", subdiv=subdivision or None, years=[year])
    except (NotImplementedError, KeyError, ValueError):
        return {}
    return dict(calendar.items())


def location_tz(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


_UTC = zoneinfo.ZoneInfo("UTC")


@lru_cache(maxsize=65536)
def wall_clock(day: date, at: time, tz: zoneinfo.ZoneInfo) -> datetime:
    """The instant `at` o'clock on `day` in `tz` (the location's wall clock), as an aware datetime in UTC.

    Cached: every provider of a practice shares the same few opening times on the same days.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(_UTC)


def _seconds(at: datetime) -> int:
    """Whole seconds since 1970 (UTC), rounded down."""
    return math.floor(at.timestamp())


def subtract(intervals: list[tuple], cuts: list[Interval]) -> list[tuple]:
    """Remove `cuts` from `intervals` ((start, end, *extra) tuples); extra fields ride along on the pieces."""
    if not cuts:
        return intervals
    out = []
    for start, end, *extra in intervals:
        pieces = [(start, end)]
        for cut_start, cut_end in cuts:
            next_pieces = []
            for a, b in pieces:
                if cut_end <= a or cut_start >= b:
                    next_pieces.append((a, b))
                    continue
                if a < cut_start:
                    next_pieces.append((a, cut_start))
                if cut_end < b:
                    next_pieces.append((cut_end, b))
            pieces = next_pieces
        out.extend((a, b, *extra) for a, b in pieces)
    return out


def intersect(intervals: list[tuple], keep: list[Interval]) -> list[tuple]:
    out = []
    for start, end, *extra in intervals:
        for keep_start, keep_end in keep:
            a, b = max(start, keep_start), min(end, keep_end)
            if a < b:
                out.append((a, b, *extra))
    return out


class AvailabilityIndex:
    """Templates, exceptions and location settings for a set of providers over a stretch of time.

    Built by `availability_index` with a fixed number of queries; `windows()` then answers in Python.
    """

    def __init__(self, *, templates: list[_Template], exceptions: list[_Exception], locations: dict[int, LocationClock]):
        self.locations = locations
        self._templates: dict[tuple[int, int], list[_Template]] = defaultdict(list)
        for template in templates:
            self._templates[(template.provider_id, template.location_id)].append(template)
        self.exceptions = exceptions
        self._provider_locations: dict[int, set[int]] = defaultdict(set)
        for provider_id, location_id in self._templates:
            self._provider_locations[provider_id].add(location_id)
        # Templates are loaded for active providers only; extra hours may name anyone.
        self.providers_with_templates = frozenset(self._provider_locations)
        self._special: dict[tuple[int, int], bool] = {}
        # Rows of the caller's own reads sent along with these (see `availability_index`).
        self.extra_rows: list[list] = []

    def pairs(self, *, location_id: int | None = None, provider_ids=None) -> list[tuple[int, int]]:
        """Every (provider, location) that has a template or extra hours, optionally narrowed."""
        found = set(self._templates)
        for exc in self.exceptions:
            if exc.kind == ExceptionKind.EXTRA and exc.provider_id and exc.location_id:
                found.add((exc.provider_id, exc.location_id))
        wanted = set(provider_ids) if provider_ids is not None else None
        return sorted(
            (p, loc) for p, loc in found
            if (location_id is None or loc == location_id) and (wanted is None or p in wanted) and loc in self.locations
        )

    def _exceptions_for(self, provider_id: int, location_id: int, kinds) -> list[_Exception]:
        return [
            exc for exc in self.exceptions
            if exc.kind in kinds
            and (
                (exc.provider_id == provider_id and exc.location_id in (None, location_id))
                or (exc.provider_id is None and exc.location_id == location_id)
            )
        ]

    def template_blocks(self, provider_id: int, location_id: int, day: date) -> list[tuple[datetime, datetime, frozenset[int] | None]]:
        """The template's blocks on one local date, as instants (holidays and exceptions not applied)."""
        clock = self.locations[location_id]
        out = []
        for template in self._templates.get((provider_id, location_id), ()):
            if template.applies(day):
                for start, end, types in template.blocks.get(day.weekday(), ()):
                    out.append((wall_clock(day, start, clock.tz), wall_clock(day, end, clock.tz), types))
        out.sort(key=lambda w: w[0])
        return out

    def windows(self, provider_id: int, location_id: int, start: datetime, end: datetime,
                appointment_type_id: int | None = None) -> list[tuple[datetime, datetime, frozenset[int] | None]]:
        """Open (start, end, type ids) stretches of one provider at one location, clipped to [start, end)."""
        clock = self.locations.get(location_id)
        if clock is None or end <= start:
            return []
        extras = self._exceptions_for(provider_id, location_id, {ExceptionKind.EXTRA})
        extra_spans = [(e.starts_at, e.ends_at) for e in extras]
        blocking = [(e.starts_at, e.ends_at) for e in self._exceptions_for(provider_id, location_id, BLOCKING_KINDS)]
        first = start.astimezone(clock.tz).date()
        last = end.astimezone(clock.tz).date()
        windows: list[tuple] = []
        day = first
        while day <= last:
            blocks = self.template_blocks(provider_id, location_id, day)
            if blocks and clock.holiday(day):
                # A holiday closes the day, except where extra hours were opened on purpose.
                blocks = intersect(blocks, extra_spans)
            windows.extend(blocks)
            day += timedelta(days=1)
        # The provider's own extra hours (location-wide extras only lift holidays, above).
        for exc in extras:
            if exc.provider_id == provider_id:
                windows.append((exc.starts_at, exc.ends_at, None))
        if appointment_type_id is not None:
            windows = [w for w in windows if w[2] is None or appointment_type_id in w[2]]
        windows = subtract(windows, blocking)
        windows = intersect(windows, [(start, end)])
        windows.sort(key=lambda w: (w[0], w[1]))
        return _merge(windows)

    def windows_seconds(self, provider_id: int, location_id: int, start: datetime, end: datetime,
                        appointment_type_id: int) -> list[tuple[int, int]]:
        """`windows()` for one appointment type as (start, end) in whole seconds since 1970, each end rounded down:
        what slot search walks. Without exceptions for the provider at the location (the usual case) the
        template's days come from a cache; otherwise this is `windows()` itself, converted."""
        clock = self.locations.get(location_id)
        if clock is None or end <= start:
            return []
        key = (provider_id, location_id)
        special = self._special.get(key)
        if special is None:
            special = self._special[key] = bool(
                self._exceptions_for(provider_id, location_id, {ExceptionKind.EXTRA, *BLOCKING_KINDS}))
        if special:
            return [(_seconds(a), _seconds(b)) for a, b, _types in self.windows(provider_id, location_id, start, end,
                                                                                   appointment_type_id)]
        tz = clock.tz
        templates = self._templates.get(key, ())
        lo, hi = _seconds(start), _seconds(end)
        windows: list[tuple] = []
        day, last = start.astimezone(tz).date(), end.astimezone(tz).date()
        while day <= last:
            blocks = [block for template in templates if template.applies(day) for block in template.day_seconds(day, tz)]
            if blocks and not clock.holiday(day):  # with no extra hours, a holiday closes the whole day
                blocks.sort(key=lambda w: w[0])
                windows.extend(blocks)
            day += timedelta(days=1)
        clipped = [
            (max(a, lo), min(b, hi), types) for a, b, types in windows
            if (types is None or appointment_type_id in types) and max(a, lo) < min(b, hi)
        ]
        clipped.sort(key=lambda w: (w[0], w[1]))
        return [(a, b) for a, b, _types in _merge(clipped)]

    def refusal(self, *, provider, location, appointment_type, starts_at: datetime, ends_at: datetime) -> tuple[str, str] | None:
        """Why the visit cannot be booked as far as availability goes: (field, message), or None when it can."""
        pad = timedelta(days=1)
        windows = self.windows(provider.pk, location.pk, starts_at - pad, ends_at + pad)
        if any(a <= starts_at and ends_at <= b and (types is None or appointment_type.pk in types) for a, b, types in windows):
            return None
        clock = self.locations.get(location.pk)
        if clock is None:
            return "location", f"{location} has no scheduling settings."
        local_start = starts_at.astimezone(clock.tz)
        day = local_start.date()
        holiday = clock.holiday(day)
        if holiday and self.template_blocks(provider.pk, location.pk, day):
            return "starts_at", f"{day:%A %B %-d, %Y} is a public holiday ({holiday}); {location} is closed."
        for exc in self._exceptions_for(provider.pk, location.pk, BLOCKING_KINDS):
            if exc.starts_at < ends_at and starts_at < exc.ends_at:
                who = provider if exc.provider_id else location
                what = ExceptionKind(exc.kind).label.lower()
                why = f" ({exc.reason})" if exc.reason else ""
                return "starts_at", f"{who} is not available then: {what}{why}."
        if any(a <= starts_at and ends_at <= b for a, b, _types in windows):
            return "appointment_type", f"{provider}'s hours at that time are kept for other appointment types."
        hours = ", ".join(
            f"{a.astimezone(clock.tz):%H:%M}–{b.astimezone(clock.tz):%H:%M}"
            for a, b, _types in windows
            if a.astimezone(clock.tz).date() == day
        )
        if hours:
            return "starts_at", f"Outside {provider}'s hours at {location} on {day:%A %B %-d}: {hours}."
        return "starts_at", f"{provider} does not see patients at {location} on {day:%A %B %-d}."


def _merge(windows: list[tuple]) -> list[tuple]:
    """Join touching or overlapping windows that allow the same types."""
    merged: list[tuple] = []
    for start, end, types in windows:
        if merged and merged[-1][2] == types and start <= merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), types)
        else:
            merged.append((start, end, types))
    return merged


def location_clocks(*, organization_id: int, location_ids=None) -> dict[int, LocationClock]:
    """Time zone, holiday calendar and slot grid of the practice's active locations (one query)."""
    rows = Location.objects.filter(organization_id=organization_id, is_active=True)
    if location_ids is not None:
        rows = rows.filter(id__in=list(location_ids))
    rows = rows.values_list(
        "id", "name", "time_zone", "schedule__holiday_country", "schedule__holiday_subdivision",
        "schedule__observe_holidays", "schedule__slot_step_minutes",
    )
    return {
        pk: LocationClock(
            id=pk, name=name, tz=location_tz(tz), holiday_country=country or "US", holiday_subdivision=subdivision or "",
            observe_holidays=True if observe is None else observe, slot_step_minutes=step or DEFAULT_SLOT_STEP,
        )
        for pk, name, tz, country, subdivision, observe, step in rows
    }


def _clock_rows_sql(organization_id: int, location_ids) -> tuple[str, list]:
    """`location_clocks` as one hand-written statement, so slot search can send it with its other reads."""
    location, schedule = Location._meta.db_table, LocationSchedule._meta.db_table
    sql = (
        f"SELECT l.id, l.name, l.time_zone, s.holiday_country, s.holiday_subdivision, s.observe_holidays, "  # noqa: S608
        f"s.slot_step_minutes FROM {location} l LEFT JOIN {schedule} s ON s.location_id = l.id "
        f"WHERE l.organization_id = %s AND l.is_active"
    )
    params: list = [organization_id]
    if location_ids is not None:
        ids = [int(p) for p in location_ids] or [0]
        sql += f" AND l.id IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    return sql, params


def _clocks_from_rows(rows) -> dict[int, LocationClock]:
    return {
        pk: LocationClock(
            id=pk, name=name, tz=location_tz(tz), holiday_country=country or "US", holiday_subdivision=subdivision or "",
            observe_holidays=True if observe is None else bool(observe), slot_step_minutes=step or DEFAULT_SLOT_STEP,
        )
        for pk, name, tz, country, subdivision, observe, step in rows
    }


def _as_date(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _as_time(value) -> time:
    return time.fromisoformat(value) if isinstance(value, str) else value


def _block_rows_sql(organization_id: int, first_day: date, last_day: date, provider_ids, location_ids) -> tuple[str, list]:
    """Every block of the active providers' templates valid in [first_day, last_day], with its type restrictions
    (one row per restricted type). One hand-written query: it runs on every slot search and booking."""
    block, template = AvailabilityBlock._meta.db_table, AvailabilityTemplate._meta.db_table
    through = AvailabilityBlock.appointment_types.through._meta.db_table
    user = User._meta.db_table
    sql = (
        f"SELECT b.id, t.id, t.provider_id, t.location_id, t.effective_from, t.effective_to, b.weekday, "  # noqa: S608
        f"CAST(b.start_time AS TEXT), CAST(b.end_time AS TEXT), r.appointmenttype_id "
        f"FROM {block} b JOIN {template} t ON t.id = b.template_id JOIN {user} u ON u.id = t.provider_id "
        f"LEFT JOIN {through} r ON r.availabilityblock_id = b.id "
        f"WHERE t.organization_id = %s AND u.is_active AND t.effective_from <= %s "
        f"AND (t.effective_to IS NULL OR t.effective_to >= %s)"
    )
    params: list = [organization_id, last_day, first_day]
    if provider_ids is not None:
        ids = [int(p) for p in provider_ids] or [0]
        sql += f" AND t.provider_id IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    if location_ids is not None:
        ids = [int(p) for p in location_ids] or [0]
        sql += f" AND t.location_id IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    return sql, params


def known_clock(location) -> dict[int, LocationClock] | None:
    """The location's clock without a query when its schedule settings were loaded with it
    (`select_related("schedule")`); None otherwise."""
    if not Location.schedule.is_cached(location):
        return None
    try:
        schedule = location.schedule
    except LocationSchedule.DoesNotExist:
        schedule = None
    return {location.pk: LocationClock(
        id=location.pk, name=location.name, tz=location_tz(location.time_zone),
        holiday_country=(schedule.holiday_country if schedule else "") or "US",
        holiday_subdivision=(schedule.holiday_subdivision if schedule else "") or "",
        observe_holidays=schedule.observe_holidays if schedule else True,
        slot_step_minutes=(schedule.slot_step_minutes if schedule else 0) or DEFAULT_SLOT_STEP,
    )}


_EXCEPTION_COLUMNS = ("provider_id", "location_id", "kind", "starts_at", "ends_at", "reason")


def _exceptions(organization_id, start, end):
    return ScheduleException.objects.filter(organization_id=organization_id, starts_at__lt=end, ends_at__gt=start)


def _exception_rows_sql(organization_id: int, start: datetime, end: datetime, provider_ids, location_ids) -> tuple[str, list]:
    """The exceptions of a set of providers and locations as one hand-written statement (what `_exceptions` with
    the same filters reads, in the same order)."""
    adapt = connection.ops.adapt_datetimefield_value
    sql = (
        f"SELECT {', '.join(_EXCEPTION_COLUMNS)} FROM {ScheduleException._meta.db_table} "  # noqa: S608
        f"WHERE organization_id = %s AND starts_at < %s AND ends_at > %s"
    )
    params: list = [organization_id, adapt(end), adapt(start)]
    for column, ids in (("provider_id", provider_ids), ("location_id", location_ids)):
        if ids is not None:
            ids = [int(p) for p in ids] or [0]
            sql += f" AND ({column} IN ({', '.join(['%s'] * len(ids))}) OR {column} IS NULL)"
            params += ids
    return sql + " ORDER BY starts_at", params


def _aware(value: datetime) -> datetime:
    """A timestamp read by hand-written SQL, aware as the ORM would give it (SQLite returns naive UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# One provider at one location: every booking and move asks this (see core/prepared.py).
_ONE_PROVIDER_EXCEPTIONS = PreparedQuery(
    lambda organization_id, provider_id, location_id, start, end: _exceptions(organization_id, start, end)
    .filter(Q(provider_id=provider_id) | Q(provider__isnull=True))
    .filter(Q(location_id=location_id) | Q(location__isnull=True))
    .values_list(*_EXCEPTION_COLUMNS)
)


@lru_cache(maxsize=64)
def _templates_from_rows(block_rows: tuple) -> tuple[_Template, ...]:
    """The templates in the rows of `_block_rows_sql`. Cached by the rows themselves: they are read on every
    search (so an edit shows at once), but turning them into templates is only done when they change."""
    templates: dict[int, _Template] = {}
    restricted: dict[int, set[int]] = defaultdict(set)
    blocks: dict[int, tuple] = {}
    for row in block_rows:
        block_id, template_id, provider_id, location_id, eff_from, eff_to, weekday, start_time, end_time, type_id = row
        if template_id not in templates:
            templates[template_id] = _Template(provider_id, location_id, _as_date(eff_from), _as_date(eff_to))
        blocks.setdefault(block_id, (template_id, weekday, _as_time(start_time), _as_time(end_time)))
        if type_id is not None:
            restricted[block_id].add(type_id)
    for block_id, (template_id, weekday, start_time, end_time) in blocks.items():
        types = frozenset(restricted[block_id]) if block_id in restricted else None
        templates[template_id].blocks[weekday].append((start_time, end_time, types))
    return tuple(templates.values())


def availability_index(*, organization_id: int, start: datetime, end: datetime, provider_ids=None, location_ids=None,
                       clocks: dict[int, LocationClock] | None = None, extra_reads=()) -> AvailabilityIndex:
    """Load what decides availability between two instants: a fixed number of queries whatever the number of providers.

    `extra_reads`, hand-written `(sql, params)` statements of the caller, go in the same round trip as the
    templates, exceptions and locations (on PostgreSQL); their rows come back in `index.extra_rows`.
    """
    provider_ids = list(provider_ids) if provider_ids is not None else None
    location_ids = list(location_ids) if location_ids is not None else None
    first_day, last_day = (start - timedelta(days=1)).date(), (end + timedelta(days=1)).date()
    blocks_sql = _block_rows_sql(organization_id, first_day, last_day, provider_ids, location_ids)
    extra_rows: list[list] = []
    if provider_ids is not None and location_ids is not None and len(provider_ids) == len(location_ids) == 1 and not extra_reads:
        # One provider at one location (every booking and move): both reads in one round trip.
        block_rows, exception_rows = run_together(blocks_sql, (_ONE_PROVIDER_EXCEPTIONS, {
            "organization_id": organization_id, "provider_id": int(provider_ids[0]), "location_id": int(location_ids[0]),
            "start": start, "end": end,
        }))
    else:
        # Hand-written, and together in one round trip: slot search asks this on every search.
        reads = [blocks_sql, _exception_rows_sql(organization_id, start, end, provider_ids, location_ids)]
        if clocks is None:
            reads.append(_clock_rows_sql(organization_id, location_ids))
        block_rows, exception_rows, *rest = run_together(*reads, *extra_reads)
        if clocks is None:
            clocks = _clocks_from_rows(rest.pop(0))
        extra_rows = rest
        exception_rows = [(*row[:3], _aware(row[3]), _aware(row[4]), row[5]) for row in exception_rows]
    templates_list = list(_templates_from_rows(tuple(map(tuple, block_rows))))
    exceptions = [_Exception(*row) for row in exception_rows]
    index = AvailabilityIndex(
        templates=templates_list,
        exceptions=exceptions,
        locations=clocks if clocks is not None else location_clocks(organization_id=organization_id, location_ids=location_ids),
    )
    index.extra_rows = extra_rows
    return index


# --- reads for pages and the API -----------------------------------------------------------------------------


def _require(actor: User, code: str = Perm.SCHEDULE_VIEW) -> None:
    if actor is None or not actor.has_perm_code(code):
        raise PermissionDenied(f"Needs {code}")


def provider_availability(*, actor, start: datetime, end: datetime, provider_ids=None, location=None) -> list[OpenWindow]:
    """The open windows of the actor's practice's providers between two instants (calendar background, API)."""
    _require(actor)
    if location is not None and location.organization_id != actor.organization_id:
        raise Http404("No such location.")
    index = availability_index(
        organization_id=actor.organization_id, start=start, end=end, provider_ids=provider_ids,
        location_ids=[location.pk] if location is not None else None,
    )
    out = []
    for provider_id, location_id in index.pairs(location_id=location.pk if location else None, provider_ids=provider_ids):
        for a, b, types in index.windows(provider_id, location_id, start, end):
            out.append(OpenWindow(provider_id, location_id, a, b, types))
    out.sort(key=lambda w: (w.starts_at, w.provider_id, w.location_id))
    return out


def provider_day_schedule(*, actor, provider_id: int, day: date) -> dict:
    """One provider's day: open windows and live appointments (REST /schedule/providers/{id}/schedule).

    The day is the local date at each of the provider's locations; with locations in different time
    zones the span is the union of those local days.
    """
    _require(actor)
    provider = User.objects.filter(pk=provider_id, organization_id=actor.organization_id, is_active=True).first()
    if provider is None:
        raise Http404("No such provider.")
    clocks = location_clocks(organization_id=actor.organization_id)
    tzs = {clock.tz for clock in clocks.values()} or {location_tz("UTC")}
    start = min(wall_clock(day, time(0), tz) for tz in tzs)
    end = max(wall_clock(day + timedelta(days=1), time(0), tz) for tz in tzs)
    windows = [w for w in provider_availability(actor=actor, start=start, end=end, provider_ids=[provider.pk])
               if w.starts_at.astimezone(clocks[w.location_id].tz).date() == day]
    appointments = list(
        Appointment.objects.filter(
            organization_id=actor.organization_id, provider=provider, status__in=LIVE_STATUSES,
            starts_at__lt=end, ends_at__gt=start,
        ).select_related("patient", "appointment_type", "location", "room")
    )
    appointments = [a for a in appointments if a.starts_at.astimezone(clocks[a.location_id].tz if a.location_id in clocks else location_tz("UTC")).date() == day]
    return {"provider": provider, "date": day, "windows": windows, "appointments": appointments}

