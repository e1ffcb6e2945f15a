"""The patient page's Messages tab (the communication timeline) and its CSV export."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from clinicdesk.core.access import requires
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.models import Patient
from clinicdesk.patients.selectors.records import patient_for_change
from clinicdesk.patients.views import PatientTab, register_patient_tab

from ..selectors.timeline import KINDS, patient_timeline, timeline_kinds

TAB_KEY = "communications"


def _kinds(request: HttpRequest) -> list[str]:
    return [k for k in request.GET.getlist("kind") if k]


def timeline_tab(request: HttpRequest, patient: Patient) -> dict:
    """What the Messages tab shows: the timeline (filtered by ?kind=), audited as one read."""
    chosen = _kinds(request)
    error = ""
    try:
        items = patient_timeline(actor=request.user, patient=patient, kinds=chosen or None)
    except ValidationError as exc:
        error, chosen = " ".join(exc.messages), []
        items = patient_timeline(actor=request.user, patient=patient)
    return {
        "items": items, "kinds": timeline_kinds(actor=request.user), "chosen": chosen, "error": error,
        "query": "&".join(f"kind={k}" for k in chosen), "can_add_task": request.user.has_perm_code(Perm.STAFF_TASKS),
        "has_content": True,
    }


def register_timeline_tab() -> None:
    """Called from CommunicationsConfig.ready: the patient page's Messages tab is the timeline."""
    register_patient_tab(PatientTab(TAB_KEY, "Messages", "communications/timeline_tab.html", timeline_tab,
                                    Perm.MESSAGES_VIEW, order=60))


@require_GET
@requires(Perm.MESSAGES_VIEW, Perm.PATIENT_VIEW)
def patient_timeline_export(request: HttpRequest, public_id: str) -> HttpResponse:
    """The timeline as CSV, with the same kind filter; audited as an export of the patient's record."""
    patient = patient_for_change(actor=request.user, public_id=public_id)
    try:
        items = patient_timeline(actor=request.user, patient=patient, kinds=_kinds(request) or None,
                                 limit=1000, action="patient.timeline_exported", channel=AuditChannel.EXPORT)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
    header = ["when", "kind", "channel", "what", "status", "detail"]
    rows = ([item.at.isoformat(timespec="minutes"), KINDS[item.kind], item.channel, item.title, item.status, item.detail]
            for item in items)
    return csv_response(f"messages-{patient.mrn or patient.public_id}.csv", header, rows)
