"""Slot search: the next free times for an appointment type.

Honours availability templates (wall-clock in each location's time zone), exceptions, public holidays,
the type's buffers, minimum notice, maximum per day, rooms of the needed kind, equipment and every live
appointment. The search walks forward in growing windows (1 day, then 2, 4, 8…, or less once the slots found
so far show how far the rest lies); each window costs one query for appointments (providers and rooms
together) and, when the type needs equipment, one for equipment in use. Templates, exceptions, locations and
the type's equipment come before, in one round trip on PostgreSQL. Everything else is computed in Python, so
the number of queries never depends on how many appointments exist.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import BigIntegerField, Func
from django.utils import timezone

from clinicdesk.core.models import Room, User
from clinicdesk.core.permissions import Perm

from ..choices import LIVE_STATUSES, TimeOfDay
from ..models import Appointment, AppointmentType
from .availability import AvailabilityIndex, LocationClock, availability_index

# No appointment holds time longer than this (the booking service refuses longer ones), which bounds
# the index range scan on busy_from when loading a window's appointments.
MAX_BUSY_SPAN = timedelta(hours=24)
MAX_LIMIT = 200
FIRST_WINDOW = timedelta(days=1)
WINDOW_GROWTH = 2
NEEDED_MARGIN = 1.25

_NOON, _EVENING = time(12, 0), time(17, 0)


@dataclass(frozen=True)
class Slot:
    provider_id: int
    location_id: int
    starts_at: datetime
    ends_at: datetime


def in_time_of_day(local_start: datetime, time_of_day: str) -> bool:
    at = local_start.time()
    if time_of_day == TimeOfDay.MORNING:
        return at < _NOON
    if time_of_day == TimeOfDay.AFTERNOON:
        return _NOON <= at < _EVENING
    if time_of_day == TimeOfDay.EVENING:
        return at >= _EVENING
    return True


# Whole seconds since 1970 of a timestamp column, per database.
_EPOCH_SQL = {
    "sqlite": "CAST(strftime('%%s', {}) AS INTEGER)",
    "postgresql": "CAST(FLOOR(EXTRACT(EPOCH FROM {})) AS BIGINT)",
}


class Epoch(Func):
    """A timestamp as whole seconds since 1970 (UTC), computed by the database: comparing integers in Python is
    many times cheaper than building a datetime for every busy stretch of a big window."""

    output_field = BigIntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(FLOOR(EXTRACT(EPOCH FROM %(expressions)s)) AS BIGINT)", **extra)


# A busy stretch: (busy_from, busy_until, exclusive, appointment type id, starts_at), times in epoch seconds;
# the type and start are only loaded when the search needs them (group types, maximum per day).
_Busy = tuple


def _ts(at: datetime) -> int:
    return math.floor(at.timestamp())


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


_UNIX_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001  (SQLite keeps UTC as naive text)


@lru_cache(maxsize=65536)
def _text_seconds(stored: str) -> int:
    """Whole seconds since 1970 of a timestamp as SQLite stores it (naive UTC text), as strftime('%s') gives them.

    Cached: a practice's visits start and end on the same few grid times every day.
    """
    return (datetime.fromisoformat(stored) - _UNIX_EPOCH) // timedelta(seconds=1)


# Written out in the statement rather than bound, so that it repeats the condition of appt_provider_live_busy_idx
# word for word: SQLite only uses a partial index when the query states its condition.
_LIVE_SQL = ", ".join(f"'{status}'" for status in LIVE_STATUSES)


class _Timeline:
    """The busy stretches of one provider, room or piece of equipment, sorted for bisecting."""

    __slots__ = ("items", "longest", "starts")

    def __init__(self) -> None:
        self.items: list[_Busy] = []
        self.starts: list[int] = []
        self.longest = 0

    def add(self, item: _Busy) -> None:
        self.items.append(item)

    def seal(self) -> None:
        self.items.sort()
        self.starts = []

    def overlapping(self, start: int, end: int) -> list[_Busy]:
        if not self.starts and self.items:  # built on first use: most searches only need free_gaps()
            self.starts = [b[0] for b in self.items]
            self.longest = max(b[1] - b[0] for b in self.items)
        i = bisect_left(self.starts, start - self.longest)
        found = []
        items, starts = self.items, self.starts
        while i < len(items) and starts[i] < end:
            if items[i][1] > start:
                found.append(items[i])
            i += 1
        return found

    def free_gaps(self) -> tuple[list[int], list[int]]:
        """The complement of the busy stretches as (gap starts, gap ends), from the beginning to the end of time."""
        gap_starts, gap_ends = [], []
        cursor = _NEVER
        for busy_from, busy_until, *_rest in self.items:
            if busy_from > cursor:
                gap_starts.append(cursor)
                gap_ends.append(busy_from)
            if busy_until > cursor:
                cursor = busy_until
        gap_starts.append(cursor)
        gap_ends.append(_FOREVER)
        return gap_starts, gap_ends


_NEVER, _FOREVER = -(2**62), 2**62
_ALWAYS_FREE = ([_NEVER], [_FOREVER])


def _group_ok(overlaps: list[_Busy], *, type_id: int, starts_at: int, capacity: int) -> bool:
    """A group type may join a session of the same type that starts at the same time, up to capacity."""
    if not overlaps:
        return True
    if capacity <= 1:
        return False
    return all(not b[2] and b[3] == type_id and b[4] == starts_at for b in overlaps) and len(overlaps) < capacity


class _BusyWindow:
    """Live appointments of a set of providers and rooms (and equipment use) within one stretch of time.

    The common search (an ordinary type, no room, no equipment, no daily maximum) only needs each provider's
    free gaps long enough for the visit and its buffers, so the database works them out (window functions
    over the provider's busy stretches in time order) and sends back only those: a nearly full week costs a
    handful of rows instead of every visit in it. Otherwise every busy stretch comes back as a row. Either
    way it is one statement for appointments, plus one for equipment in use when the type needs equipment.
    """

    def __init__(self, *, provider_ids, room_ids, equipment_ids, start: datetime, end: datetime, detail: bool,
                 gap_seconds: int | None = None) -> None:
        self.providers: dict[int, _Timeline] = defaultdict(_Timeline)
        self.rooms: dict[int, _Timeline] = defaultdict(_Timeline)
        self.equipment: dict[int, _Timeline] = defaultdict(_Timeline)
        # provider -> (gap starts, gap ends), when the database computed the gaps
        self.gaps: dict[int, tuple[list[int], list[int]]] | None = None
        # (provider, type, start, location) of every visit, for max_per_day
        self.rows: list[tuple] = []
        lo = start - MAX_BUSY_SPAN
        adapt = connection.ops.adapt_datetimefield_value
        epoch = _EPOCH_SQL[connection.vendor]
        table = Appointment._meta.db_table
        who = f"provider_id IN ({', '.join(['%s'] * len(provider_ids)) or 'NULL'})"
        params: list = [*provider_ids]
        if room_ids:
            who = f"({who} OR room_id IN ({', '.join(['%s'] * len(room_ids))}))"
            params += list(room_ids)
        where = f"{who} AND status IN ({_LIVE_SQL}) AND busy_from >= %s AND busy_from < %s AND busy_until > %s"
        params += [adapt(lo), adapt(end), adapt(start)]
        if gap_seconds is not None and not room_ids and not detail:
            if connection.vendor == "postgresql":
                self._load_gaps(table, epoch, where, params, gap_seconds)
            else:
                self._scan_gaps(table, where, params, gap_seconds)
        else:
            self._load_rows(table, epoch, where, params, provider_ids=provider_ids, room_ids=room_ids, detail=detail)
        if equipment_ids:
            through = Appointment.equipment.through
            for equipment_id, *fields_ in through.objects.filter(
                equipment_id__in=list(equipment_ids), appointment__status__in=LIVE_STATUSES,
                appointment__busy_from__gte=lo, appointment__busy_from__lt=end, appointment__busy_until__gt=start,
            ).annotate(
                bf=Epoch("appointment__busy_from"), bu=Epoch("appointment__busy_until"), st=Epoch("appointment__starts_at")
            ).values_list("equipment_id", "bf", "bu", "appointment__exclusive", "appointment__appointment_type_id", "st"):
                self.equipment[equipment_id].items.append(tuple(fields_))
        for timeline in (*self.providers.values(), *self.rooms.values(), *self.equipment.values()):
            timeline.seal()

    def _load_rows(self, table, epoch, where, params, *, provider_ids, room_ids, detail) -> None:
        columns = ["provider_id", epoch.format("busy_from"), epoch.format("busy_until"), "exclusive"]
        if detail:
            columns += ["appointment_type_id", epoch.format("starts_at"), "location_id"]
        if room_ids:
            columns.append("room_id")
        sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {where}"  # noqa: S608  (placeholders only)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        wanted = set(provider_ids)
        providers = self.providers
        for row in rows:
            item = (row[1], row[2], bool(row[3]), row[4], row[5]) if detail else (row[1], row[2], bool(row[3]), None, None)
            if row[0] in wanted:
                providers[row[0]].items.append(item)
                if detail:
                    self.rows.append((row[0], row[4], row[5], row[6]))
            if room_ids and row[-1] is not None:
                self.rooms[row[-1]].items.append(item)

    def _load_gaps(self, table, epoch, where, params, gap_seconds: int) -> None:
        # For each busy stretch in time order: how far the provider's time is taken so far (a running maximum,
        # so overlapping group sessions count once) and where the next stretch begins. The gap between the two
        # is kept when the visit fits in it; the first stretch is kept for the gap before it. The window runs over
        # the raw columns, in the order of appt_provider_live_busy_idx, so nothing is sorted; only the rows sent
        # back are turned into seconds.
        sql = (
            f"SELECT provider_id, {epoch.format('bf')}, {epoch.format('reach')}, {epoch.format('next_bf')}, n FROM ("  # noqa: S608
            f"SELECT provider_id, busy_from AS bf, MAX(busy_until) OVER w AS reach, LEAD(busy_from) OVER w AS next_bf, "
            f"ROW_NUMBER() OVER w AS n FROM {table} WHERE {where} "
            f"WINDOW w AS (PARTITION BY provider_id ORDER BY busy_from, busy_until "
            f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
            f") AS ordered WHERE n = 1 OR next_bf IS NULL "
            f"OR (next_bf > reach AND {epoch.format('next_bf')} - {epoch.format('reach')} >= %s)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, gap_seconds])
            rows = cursor.fetchall()
        rows.sort(key=lambda r: (r[0], r[4]))
        gaps: dict[int, tuple[list[int], list[int]]] = {}
        for provider_id, busy_from, reach, next_from, n in rows:
            starts, ends = gaps.setdefault(provider_id, ([], []))
            if n == 1:
                starts.append(_NEVER)
                ends.append(busy_from)
            if next_from is None:
                starts.append(reach)
                ends.append(_FOREVER)
            elif next_from - reach >= gap_seconds:
                starts.append(reach)
                ends.append(next_from)
        self.gaps = gaps

    def _scan_gaps(self, table, where, params, gap_seconds: int) -> None:
        """The same gaps as `_load_gaps`, worked out here from the provider's busy stretches in time order.

        SQLite's window functions cost several times more than reading the index in order and walking it here;
        the stored timestamps (UTC text) compare in time order as they are, so only a gap's two ends are turned
        into seconds.
        """
        # As text: a bare timestamp column would go through the driver's datetime converter, row by row.
        sql = (
            f"SELECT provider_id, CAST(busy_from AS TEXT), CAST(busy_until AS TEXT) FROM {table} "  # noqa: S608
            f"WHERE {where} ORDER BY provider_id, busy_from, busy_until"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        gaps: dict[int, tuple[list[int], list[int]]] = {}
        seconds = _text_seconds
        provider = reach = None
        starts: list[int] = []
        ends: list[int] = []
        for provider_id, busy_from, busy_until in rows:
            if provider_id != provider:
                if provider is not None:
                    starts.append(seconds(reach))
                    ends.append(_FOREVER)
                starts, ends = gaps[provider_id] = ([_NEVER], [seconds(busy_from)])
                provider, reach = provider_id, busy_until
                continue
            if busy_from > reach:
                gap_from, gap_until = seconds(reach), seconds(busy_from)
                if gap_until - gap_from >= gap_seconds:
                    starts.append(gap_from)
                    ends.append(gap_until)
            if busy_until > reach:
                reach = busy_until
        if provider is not None:
            starts.append(seconds(reach))
            ends.append(_FOREVER)
        self.gaps = gaps


def equipment_in_use(overlaps: list[_Busy]) -> int:
    """Units in use: each exclusive visit takes one; a group session takes one however many attend."""
    sessions = {(b[3], b[4]) for b in overlaps if not b[2]}
    return sum(1 for b in overlaps if b[2]) + len(sessions)


class _Search:
    """One search: walks forward window by window (1 day, then doubling) until `limit` slots are found.

    Times inside are integer seconds since 1970 (UTC); the grid and the time of day are worked out on each
    location's wall clock.
    """

    def __init__(self, *, kind: AppointmentType, index: AvailabilityIndex, pairs, start, end, earliest, time_of_day,
                 provider_rank: dict[int, int], equipment_rows) -> None:
        self.kind = kind
        self.index = index
        self.start, self.end, self.earliest = start, end, earliest
        self.time_of_day = time_of_day
        self.provider_rank = provider_rank
        self.duration = kind.duration_minutes * 60
        self.before = kind.buffer_before_minutes * 60
        self.after = kind.buffer_after_minutes * 60
        self.group = kind.capacity > 1
        location_ids = sorted({loc for _p, loc in pairs})
        self.rooms: dict[int, list[int]] = defaultdict(list)
        if kind.room_kind:
            for room_id, location_id in Room.objects.filter(
                location_id__in=location_ids, kind=kind.room_kind, is_active=True
            ).order_by("name", "id").values_list("id", "location_id"):
                self.rooms[location_id].append(room_id)
        self.equipment: dict[int, list[tuple[int, int]]] = defaultdict(list)
        # A type that needs equipment can only be booked where that equipment is (and active).
        self.needs_equipment = bool(equipment_rows)
        for equipment_id, location_id, quantity, is_active in equipment_rows:
            if is_active:
                self.equipment[location_id].append((equipment_id, quantity))
        self.pairs = [
            (p, loc) for p, loc in pairs
            if not (kind.room_kind and not self.rooms.get(loc)) and not (self.needs_equipment and not self.equipment.get(loc))
        ]
        self.provider_ids = sorted({p for p, _loc in self.pairs})

    def _candidates(self, lo: datetime, hi: datetime, busy: _BusyWindow) -> list[tuple[int, int, int, int]]:
        """(start, provider rank, provider, location) of every grid start in [lo, hi) that is open and, for an
        ordinary (exclusive) type, free of the provider's other visits with the buffers on both sides."""
        out = []
        first_dt = max(self.earliest, lo)
        first, hi_ts, end_ts = _ts(first_dt), _ts(hi), _ts(self.end)
        duration, before, after = self.duration, self.before, self.after
        any_time = self.time_of_day == TimeOfDay.ANY
        window_end = hi + timedelta(seconds=duration)
        for provider_id, location_id in self.pairs:
            clock: LocationClock = self.index.locations[location_id]
            step = clock.slot_step_minutes * 60
            rank = self.provider_rank.get(provider_id, provider_id)
            if busy.gaps is not None:
                gap_starts, gap_ends = busy.gaps.get(provider_id, _ALWAYS_FREE)
            else:
                timeline = busy.providers.get(provider_id)
                gap_starts, gap_ends = timeline.free_gaps() if timeline is not None and not self.group else _ALWAYS_FREE
            for a, b in self.index.windows_seconds(provider_id, location_id, first_dt, window_end, self.kind.pk):
                i = bisect_left(gap_ends, a + duration + after)  # the first gap that could hold a visit in this window
                while i < len(gap_starts) and gap_starts[i] < b:
                    lo_s = max(a, gap_starts[i] + before, first)
                    last = min(b, gap_ends[i] - after) - duration
                    i += 1
                    if last < lo_s:
                        continue
                    s = _ts(_grid_ceil(_dt(lo_s), clock, clock.slot_step_minutes))
                    while s <= last and s < hi_ts and s < end_ts:
                        if any_time or in_time_of_day(datetime.fromtimestamp(s, clock.tz), self.time_of_day):
                            out.append((s, rank, provider_id, location_id))
                        s += step
        out.sort()
        return out

    def _per_day_counts(self, busy: _BusyWindow) -> dict[tuple[int, date], int]:
        counts: dict[tuple[int, date], int] = defaultdict(int)
        for provider_id, type_id, starts_at, location_id in busy.rows:
            if type_id == self.kind.pk:
                clock = self.index.locations.get(location_id)
                local_day = datetime.fromtimestamp(starts_at, clock.tz if clock else UTC).date()
                counts[(provider_id, local_day)] += 1
        return counts

    def run(self, limit: int) -> list[Slot]:
        found: list[Slot] = []
        lo = self.earliest
        span = FIRST_WINDOW
        detail = self.group or bool(self.kind.max_per_day)
        room_ids = [r for rooms in self.rooms.values() for r in rooms]
        equipment_ids = [e for items in self.equipment.values() for e, _q in items]
        pad = timedelta(days=1) if self.kind.max_per_day else timedelta(0)
        while lo < self.end and len(found) < limit and self.pairs:
            hi = min(lo + span, self.end)
            busy = _BusyWindow(
                provider_ids=self.provider_ids, room_ids=room_ids, equipment_ids=equipment_ids, detail=detail,
                gap_seconds=None if self.group else self.duration + self.before + self.after,
                start=lo - timedelta(seconds=self.before) - pad, end=hi + timedelta(seconds=self.duration + self.after) + pad,
            )
            per_day = self._per_day_counts(busy) if self.kind.max_per_day else {}
            for s, _rank, provider_id, location_id in self._candidates(lo, hi, busy):
                if self._free(busy, per_day, s, provider_id, location_id):
                    found.append(Slot(provider_id, location_id, _dt(s), _dt(s + self.duration)))
                    if len(found) >= limit:
                        break
            lo = hi
            span = self._next_span(span, searched=hi - self.earliest, found=len(found), limit=limit)
        return found

    @staticmethod
    def _next_span(span: timedelta, *, searched: timedelta, found: int, limit: int) -> timedelta:
        """How far the next window reaches: twice as far, or, once some slots are found, about as far as the rate
        found so far says the rest needs (with a margin), if that is less. Reading days the search does not need
        is what a nearly finished search would otherwise spend most of its time on."""
        grown = span * WINDOW_GROWTH
        if not found or found >= limit:
            return grown
        return max(FIRST_WINDOW, min(grown, searched * ((limit - found) / found) * NEEDED_MARGIN))

    def _free(self, busy: _BusyWindow, per_day, s: int, provider_id: int, location_id: int) -> bool:
        kind = self.kind
        capacity = kind.capacity
        held_from, held_until = s - self.before, s + self.duration + self.after
        if kind.max_per_day:
            clock = self.index.locations[location_id]
            if per_day.get((provider_id, datetime.fromtimestamp(s, clock.tz).date()), 0) >= kind.max_per_day:
                return False
        if self.group:
            timeline = busy.providers.get(provider_id)
            if timeline is not None and not _group_ok(
                timeline.overlapping(held_from, held_until), type_id=kind.pk, starts_at=s, capacity=capacity
            ):
                return False
        if kind.room_kind:
            for room_id in self.rooms[location_id]:
                room_line = busy.rooms.get(room_id)
                if room_line is None or _group_ok(room_line.overlapping(held_from, held_until), type_id=kind.pk, starts_at=s,
                                                  capacity=capacity):
                    break
            else:
                return False
        for equipment_id, quantity in self.equipment.get(location_id, ()):
            line = busy.equipment.get(equipment_id)
            if line is None:
                continue
            overlaps = line.overlapping(held_from, held_until)
            joins_session = capacity > 1 and any(not b[2] and b[3] == kind.pk and b[4] == s for b in overlaps)
            if not joins_session and equipment_in_use(overlaps) >= quantity:
                return False
        return True


def _grid_ceil(at: datetime, clock: LocationClock, step_minutes: int) -> datetime:
    """The first start on the location's slot grid (local wall-clock minutes divisible by the step) at or after `at`."""
    local = at.astimezone(clock.tz)
    wall_minutes = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    k = math.ceil(wall_minutes / step_minutes - 1e-9)
    naive = datetime.combine(local.date(), time(0)) + timedelta(minutes=k * step_minutes)
    result = naive.replace(tzinfo=clock.tz).astimezone(at.tzinfo)
    return result if result >= at else result + timedelta(minutes=step_minutes)


def _equipment_sql(kind: AppointmentType) -> tuple[str, list]:
    """The equipment the type needs, (id, location, quantity, active): sent with the availability reads."""
    through = AppointmentType.equipment.through._meta.db_table
    table = AppointmentType.equipment.field.related_model._meta.db_table
    sql = (
        f"SELECT e.id, e.location_id, e.quantity, e.is_active FROM {table} e "  # noqa: S608  (placeholders only)
        f"JOIN {through} t ON t.equipment_id = e.id WHERE t.appointmenttype_id = %s ORDER BY e.id"
    )
    return sql, [kind.pk]


def find_slots(*, organization, appointment_type, start: datetime, end: datetime, provider_ids=None, location=None,
               time_of_day: str = TimeOfDay.ANY, limit: int = 20, now: datetime | None = None) -> list[Slot]:
    """The first `limit` free slots for the type between `start` and `end`, earliest first (then by provider).

    No actor: the public online booking page uses it too, so it returns times and provider ids only.
    """
    organization_id = getattr(organization, "pk", organization)
    kind = appointment_type
    if kind.organization_id != organization_id or not kind.is_active:
        return []
    limit = max(0, min(int(limit), MAX_LIMIT))
    now = now or timezone.now()
    earliest = max(start, now + timedelta(minutes=kind.min_notice_minutes))
    if limit == 0 or earliest >= end:
        return []
    location_ids = [location.pk] if location is not None else None
    if provider_ids is not None:
        provider_ids = list(dict.fromkeys(int(p) for p in provider_ids))
        if not provider_ids:
            return []
    index = availability_index(
        organization_id=organization_id, start=earliest, end=end + timedelta(minutes=kind.duration_minutes),
        provider_ids=provider_ids, location_ids=location_ids, extra_reads=[_equipment_sql(kind)],
    )
    (equipment_rows,) = index.extra_rows
    pairs = index.pairs(location_id=location.pk if location is not None else None, provider_ids=provider_ids)
    if not pairs:
        return []
    unchecked = {p for p, _l in pairs} - index.providers_with_templates
    if unchecked:
        inactive = set(User.objects.filter(pk__in=unchecked).exclude(organization_id=organization_id, is_active=True)
                       .values_list("pk", flat=True))
        pairs = [(p, loc) for p, loc in pairs if p not in inactive]
    rank = {p: i for i, p in enumerate(provider_ids)} if provider_ids is not None else {}
    search = _Search(
        kind=kind, index=index, pairs=pairs, start=start, end=end, earliest=earliest,
        time_of_day=time_of_day, provider_rank=rank, equipment_rows=equipment_rows,
    )
    return search.run(limit)


def slot_search(*, actor, appointment_type, start: datetime, end: datetime, provider_ids=None, location=None,
                time_of_day: str = TimeOfDay.ANY, limit: int = 20, now: datetime | None = None) -> list[Slot]:
    """Slot search for staff: the actor's practice only, and they must be allowed to see the schedule."""
    if actor is None or not actor.has_perm_code(Perm.SCHEDULE_VIEW):
        raise PermissionDenied(f"Needs {Perm.SCHEDULE_VIEW}")
    errors = {}
    if appointment_type is None or appointment_type.organization_id != actor.organization_id:
        errors["appointment_type"] = "No such appointment type."
    if location is not None and location.organization_id != actor.organization_id:
        errors["location"] = "No such location."
    if provider_ids is not None:
        provider_ids = list(provider_ids)
        known = set(User.objects.filter(pk__in=provider_ids, organization_id=actor.organization_id).values_list("pk", flat=True))
        if set(provider_ids) - known:
            errors["provider"] = "No such provider."
    if start is None or end is None or end <= start:
        errors["end"] = "The end of the search must be after its start."
    elif end - start > timedelta(days=366):
        errors["end"] = "Search at most a year at a time."
    if time_of_day not in TimeOfDay.values:
        errors["time_of_day"] = f"Choose one of: {', '.join(TimeOfDay.values)}."
    if errors:
        raise ValidationError(errors)
    return find_slots(
        organization=actor.organization_id, appointment_type=appointment_type, start=start, end=end,
        provider_ids=provider_ids, location=location, time_of_day=time_of_day, limit=limit, now=now,
    )
