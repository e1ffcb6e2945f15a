"""Appointments in and out as files: the download (CSV or XLSX) of a location's days from the calendar, and the
import page that books or moves appointments from such a file through the booking service."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.csv_import_views import CsvImport, imported_counts
from clinicdesk.core.forms import TableImportConfirmForm, TableImportForm
from clinicdesk.core.permissions import Perm
from clinicdesk.core.tables import upload_carry, xlsx_response

from ..selectors.calendar import appointment_export, calendar_location, location_time_zone
from ..services.imports import APPOINTMENT_COLUMNS, appointment_export_row, appointments_import
from .calendar import parse_day, parse_ids
from .front_desk import EXPORT_MAX_ROWS, _audit_patients_exported

EXPORT_DAYS, EXPORT_MAX_DAYS = 7, 92


@require_GET
@requires(Perm.SCHEDULE_VIEW, Perm.PATIENT_VIEW)
def appointment_download(request: HttpRequest) -> HttpResponse:
    """?location&date&days (7 by default)&provider&format=csv|xlsx: the appointments of those days, in the import's
    columns, so the file can be edited and imported back. Each patient in it gets an export audit row."""
    kind = request.GET.get("format", "csv")
    try:
        if kind not in ("csv", "xlsx"):
            raise ValidationError({"format": "Choose csv or xlsx."})
        location = calendar_location(actor=request.user, location_id=request.GET.get("location"))
        first_day = parse_day(request.GET.get("date"), default=timezone.now().astimezone(location_time_zone(location)).date())
        days = request.GET.get("days") or str(EXPORT_DAYS)
        if not days.isdigit() or not 1 <= int(days) <= EXPORT_MAX_DAYS:
            raise ValidationError({"days": f"Give a number of days from 1 to {EXPORT_MAX_DAYS}."})
        provider_ids = parse_ids(request.GET.getlist("provider"), name="provider")
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
    rows = list(appointment_export(actor=request.user, location=location, first_day=first_day, days=int(days),
                                   provider_ids=provider_ids)[: EXPORT_MAX_ROWS + 1])
    if len(rows) > EXPORT_MAX_ROWS:
        messages.error(request, f"That is more than {EXPORT_MAX_ROWS:,} appointments; choose fewer days.")
        return redirect(f"{reverse('scheduling:calendar')}?location={location.pk}&date={first_day.isoformat()}")
    audit_event(action="appointments.exported", actor=request.user, channel=AuditChannel.EXPORT,
                summary=f"Exported {len(rows)} appointment(s) at {location.name} from {first_day.isoformat()} "
                        f"for {days} day(s)"[:300])
    _audit_patients_exported(request, (a.patient for a in rows), "appointments")
    name = f"appointments-{location.code}-{first_day.isoformat()}.{kind}"
    download = csv_response if kind == "csv" else xlsx_response
    return download(name, APPOINTMENT_COLUMNS, (appointment_export_row(a, as_text=kind == "csv") for a in rows))


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_BOOK, Perm.PATIENT_VIEW)
def appointment_import(request: HttpRequest) -> HttpResponse:
    """Book and move appointments from a CSV or XLSX file: see what every row would do (nothing saved), then confirm."""
    return CsvImport(
        upload_form=partial(TableImportForm, columns=APPOINTMENT_COLUMNS), confirm_form=TableImportConfirmForm,
        template="scheduling/appointment_import.html", decode=upload_carry, context={"columns": APPOINTMENT_COLUMNS},
        run=lambda **kw: appointments_import(actor=request.user, **kw),
        done_url=reverse("scheduling:calendar"), done_message=imported_counts,
    ).response(request)
