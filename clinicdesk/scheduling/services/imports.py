"""Appointments from a CSV or XLSX file. A row with a public_id is that appointment (moved when its time, provider
or room changed); a row without one is a new booking. Both go through the booking service, so every rule of the
schedule holds on every line, double booking included. All or nothing, with a dry run."""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import ImportOutcome
from clinicdesk.core.models import Room, User
from clinicdesk.core.tables import ImportResult, TableRow, rows_save, table_read
from clinicdesk.patients.selectors.records import patient_scope

from ..choices import AppointmentStatus, BookingChannel
from ..models import Appointment, AppointmentType
from ..selectors.calendar import appointment_scope, calendar_locations, location_time_zone
from .appointments import PROVIDER_ROLES, appointment_book, appointment_move

APPOINTMENT_COLUMNS = ("public_id", "patient_mrn", "patient", "provider", "location", "appointment_type",
                       "starts_at", "ends_at", "room", "status", "channel", "notes")
REQUIRED_COLUMNS = ("patient_mrn", "provider", "location", "appointment_type", "starts_at")
# Where a refusal of the booking service (by field) shows in the file.
FIELD_COLUMNS = {"patient": "patient_mrn", "appointment": "public_id", "equipment": "appointment_type"}
# What a booking or move cannot change: an existing appointment is cancelled and booked again for that.
_FIXED = {"patient_mrn": "the patient", "location": "the location", "appointment_type": "the type",
          "channel": "how it was booked", "notes": "the notes", "status": "the status"}
_WHEN_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:?\d{2})?$")


def wall_clock(at: datetime, location) -> datetime:
    """`at` as the location's wall-clock time, the way files and the calendar write it."""
    return at.astimezone(location_time_zone(location)).replace(second=0, microsecond=0)


def appointment_export_row(appointment: Appointment, *, as_text: bool) -> list:
    """One appointment as the download writes it (the import's columns); times on the location's wall clock,
    as text for CSV or as date-times for XLSX."""
    times = [wall_clock(appointment.starts_at, appointment.location), wall_clock(appointment.ends_at, appointment.location)]
    if as_text:
        times = [f"{t:%Y-%m-%d %H:%M}" for t in times]
    return [appointment.public_id, appointment.patient.mrn, str(appointment.patient), appointment.provider.username,
            appointment.location.code, appointment.appointment_type.code, *times,
            appointment.room.name if appointment.room else "", appointment.get_status_display(),
            appointment.get_channel_display(), appointment.notes]


def _choice(row: TableRow, column: str, choices, default: str) -> str:
    text = row.cell(column)
    if not text:
        return default
    for value, label in choices.choices:
        if text.casefold() in (value.casefold(), str(label).casefold()):
            return value
    row.fail(column, f"{text} is not one of: {', '.join(str(label) for _, label in choices.choices)}.")
    return default


def _when(row: TableRow, column: str, location, *, required: bool) -> datetime | None:
    """A date and time on the location's wall clock (an explicit offset wins), like 2027-03-15 09:00."""
    text = row.cell(column)
    if not text:
        if required:
            row.fail(column, "a date and time is required (YYYY-MM-DD HH:MM).")
        return None
    try:
        if not _WHEN_RE.match(text):
            raise ValueError
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        row.fail(column, f"{text} is not a date and time; write it as YYYY-MM-DD HH:MM, e.g. 2027-03-15 09:00.")
        return None
    if at.tzinfo is None and location is not None:
        at = at.replace(tzinfo=location_time_zone(location))
    return at


class _Lookups:
    """The practice's records a file names, each read once, keyed the ways a file may write them."""

    def __init__(self, rows: list[TableRow], *, actor) -> None:
        org_id = actor.organization_id
        self.locations: dict[str, object] = {}
        for location in calendar_locations(actor=actor):
            self.locations.setdefault(location.code.casefold(), location)
            self.locations.setdefault(location.name.casefold(), location)
        self.providers: dict[str, User] = {}
        for user in User.objects.filter(organization_id=org_id, is_active=True, role__in=PROVIDER_ROLES):
            self.providers.setdefault(user.username.casefold(), user)
            if user.email:
                self.providers.setdefault(user.email.casefold(), user)
        self.types: dict[str, AppointmentType] = {}
        for kind in AppointmentType.objects.filter(organization_id=org_id):
            self.types.setdefault(kind.code.casefold(), kind)
            self.types.setdefault(kind.name.casefold(), kind)
        mrns = {r.cell("patient_mrn") for r in rows} - {""}
        self.patients = {p.mrn.casefold(): p for p in patient_scope(actor=actor).filter(mrn__in=mrns)}
        self.rooms = {(r.location_id, r.name.casefold()): r
                      for r in Room.objects.filter(location__organization_id=org_id, is_active=True)}
        ids = {r.cell("public_id") for r in rows} - {""}
        self.appointments = {a.public_id: a for a in appointment_scope(actor=actor).filter(public_id__in=ids)}

    def find(self, row: TableRow, column: str, table: dict, what: str):
        text = row.cell(column)
        if not text:
            row.fail(column, f"{what} is required.")
            return None
        found = table.get(text.casefold())
        if found is None:
            row.fail(column, f"no {what} {text} in this practice.")
        return found


def _row_booking(row: TableRow, found: _Lookups) -> dict:
    """The booking a row asks for: its parties found and its times read, each problem named by column."""
    location = found.find(row, "location", found.locations, "location")
    booking = {
        "patient": found.find(row, "patient_mrn", found.patients, "patient with MRN"),
        "provider": found.find(row, "provider", found.providers, "provider"),
        "location": location,
        "appointment_type": found.find(row, "appointment_type", found.types, "appointment type"),
        "starts_at": _when(row, "starts_at", location, required=True),
        "ends_at": _when(row, "ends_at", location, required=False),
        "room": None,
        "channel": _choice(row, "channel", BookingChannel, BookingChannel.PHONE),
        "notes": row.cell("notes"),
        "status": _choice(row, "status", AppointmentStatus, AppointmentStatus.SCHEDULED),
    }
    if row.cell("room") and location is not None:
        booking["room"] = found.rooms.get((location.pk, row.cell("room").casefold()))
        if booking["room"] is None:
            row.fail("room", f"no room {row.cell('room')} at {location.name}.")
    return booking


def _outcome(row: TableRow, booking: dict, found: _Lookups) -> str:
    """New without a public_id; for an appointment, updated when its time, provider or room moves, else unchanged.
    What a move cannot change is refused on its column."""
    public_id = row.cell("public_id")
    if not public_id:
        if booking["status"] != AppointmentStatus.SCHEDULED:
            row.fail("status", "a new appointment is booked as Scheduled; leave the status blank.")
        return ImportOutcome.NEW
    appointment = row.target = found.appointments.get(public_id)
    if appointment is None:
        row.fail("public_id", f"no appointment {public_id} in this practice; leave it blank to book a new one.")
        return ImportOutcome.ERROR
    now = {"patient_mrn": appointment.patient, "location": appointment.location, "appointment_type": appointment.appointment_type,
           "channel": appointment.channel, "notes": appointment.notes, "status": appointment.status}
    given = {"patient_mrn": booking["patient"], "location": booking["location"], "appointment_type": booking["appointment_type"],
             "channel": booking["channel"] if row.cell("channel") else appointment.channel,
             "notes": booking["notes"], "status": booking["status"] if row.cell("status") else appointment.status}
    for column, what in _FIXED.items():
        if given[column] != now[column]:
            row.fail(column, f"an import moves an appointment but does not change {what}; "
                             "change it on the appointment's page, or cancel it and book again.")
    ends_at = booking["ends_at"]
    if ends_at is None and booking["starts_at"] is not None:
        ends_at = booking["starts_at"] + (appointment.ends_at - appointment.starts_at)  # the move keeps the length
    moved = (booking["starts_at"] != appointment.starts_at or ends_at != appointment.ends_at
             or booking["provider"] != appointment.provider
             or (row.cell("room") and booking["room"] != appointment.room))
    return ImportOutcome.UPDATED if moved else ImportOutcome.UNCHANGED


@transaction.atomic
def appointments_import(*, actor, file, dry_run: bool) -> ImportResult:
    """Import appointments from CSV or XLSX (the export is a valid file). Every new or moved row goes through the
    booking service in file order, also in a dry run (then undone), so a double booking, with the schedule or with
    an earlier line, is refused on its line; one bad row and nothing is saved."""
    table = table_read(file, required=REQUIRED_COLUMNS, expected=APPOINTMENT_COLUMNS)
    rows = [TableRow(line=line.line, cells=line.cells(APPOINTMENT_COLUMNS)) for line in table.rows]
    found = _Lookups(rows, actor=actor)
    bookings: dict[int, dict] = {}
    seen: dict[str, int] = {}
    for row in rows:
        public_id = row.cell("public_id")
        if public_id and public_id in seen:
            row.fail("public_id", f"the same appointment as line {seen[public_id]}.")
            continue
        if public_id:
            seen[public_id] = row.line
        booking = _row_booking(row, found)
        outcome = _outcome(row, booking, found)
        if row.outcome != ImportOutcome.ERROR:
            row.outcome = outcome
            bookings[row.line] = booking
    result = ImportResult(rows=rows, dry_run=dry_run)

    def save(row: TableRow) -> None:
        booking = bookings[row.line]
        if row.target is None:
            appointment_book(actor=actor, patient=booking["patient"], provider=booking["provider"],
                             location=booking["location"], appointment_type=booking["appointment_type"],
                             starts_at=booking["starts_at"], ends_at=booking["ends_at"], room=booking["room"],
                             channel=booking["channel"], notes=booking["notes"])
        else:
            appointment_move(actor=actor, appointment=row.target, starts_at=booking["starts_at"],
                             ends_at=booking["ends_at"], provider=booking["provider"], room=booking["room"])

    # The rows that read well are still saved (and undone) to show every refusal at once.
    rows_save(result, save=save, columns=FIELD_COLUMNS)
    if result.saved:
        counts = result.counts
        audit_event(action="appointments.imported", actor=actor,
                    summary=f"Appointments imported: {counts['new']} new, {counts['updated']} updated, "
                            f"{counts['unchanged']} unchanged", changes={"counts": counts})
    return result

