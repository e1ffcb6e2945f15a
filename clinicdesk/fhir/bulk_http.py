"""FHIR Bulk Data `$export` endpoints (the asynchronous request pattern of Bulk Data 1.0 and 2.0), system level: the
export is of the token's practice.

- `GET [base]/$export?_type=...` with `Prefer: respond-async`: 202, `Content-Location` = the status URL;
- `GET [status URL]`: 202 with `X-Progress` while the task runs, 200 with the manifest when done, 500 with an
  OperationOutcome when it failed; `DELETE [status URL]`: cancel, or delete the finished files (202);
- `GET [status URL]/<Type>.ndjson`: one file of the manifest (`requiresAccessToken`: the same bearer token's user).

The token's scopes and the user's role are checked at the kick-off and again on every poll and download.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from clinicdesk.core.access import bearer_token
from clinicdesk.core.permissions import Perm

from .auth import authenticate, require
from .bulk_export import bulk_export_delete, bulk_export_file, bulk_export_for, bulk_export_manifest, bulk_export_start
from .choices import BulkExportStatus
from .exporting import EXPORT_TYPES, PATIENT_TYPES, export_permission_check, export_types
from .models import BulkExport, FhirToken
from .outcomes import FhirError, Issue, operation_outcome
from .scopes import READ, role_allows, scopes_cover
from .views import _not_allowed, error_response, fhir_endpoint, fhir_response

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
KICKOFF_PARAMS = ("_type", "_outputFormat", "_format")
RETRY_AFTER_SECONDS = "5"


def _prefers_async(request: HttpRequest) -> bool:
    prefer = request.headers.get("Prefer", "")
    return any(part.split(";")[0].strip().lower() == "respond-async" for part in prefer.split(","))


def _refused(exc: PermissionDenied) -> FhirError:
    return FhirError(403, Issue(str(exc), code="forbidden"))


def _kickoff_types(request: HttpRequest, token: FhirToken) -> list[str]:
    """The types asked for with `_type` (each needing a read scope and the role's permission), or without it every
    type the token and the role may export; refusals name the parameter."""
    unsupported = sorted(name for name in request.GET if name not in KICKOFF_PARAMS)
    if unsupported:
        raise FhirError(400, [Issue(f"'{name}' is not supported by this server's $export; it takes _type and "
                                    "_outputFormat.", code="not-supported", expression=[name]) for name in unsupported])
    output_format = request.GET.get("_outputFormat")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise FhirError(400, Issue(f"_outputFormat '{output_format}' is not served; use {NDJSON}.", code="not-supported",
                                   expression=["_outputFormat"]))
    text = ",".join(request.GET.getlist("_type"))
    if not text.strip():
        actor = token.user
        types = [t for t in EXPORT_TYPES if scopes_cover(token.scopes, t, READ) and role_allows(actor, t, READ)
                 and (t not in PATIENT_TYPES or actor.has_perm_code(Perm.PATIENT_EXPORT))]
        if not types:
            raise FhirError(403, Issue("Neither the token's scopes nor the role allow exporting any resource type.",
                                       code="forbidden"))
        return types
    try:
        types = export_types(text)
    except ValidationError as exc:
        raise FhirError(400, Issue(" ".join(exc.messages), code="not-supported", expression=["_type"])) from None
    for resource_type in types:
        require(request, token, resource_type, READ)
    return types


def _status_url(request: HttpRequest, job: BulkExport) -> str:
    return request.build_absolute_uri(reverse("fhir:export_status", kwargs={"export_id": job.public_id}))


def _job(token: FhirToken, export_id) -> BulkExport:
    """The token user's own open or finished job; 404 for anyone else's, a deleted one or none. The role must still
    allow the export."""
    job = bulk_export_for(token=token, public_id=export_id)
    if job is None or job.status == BulkExportStatus.CANCELLED:
        raise FhirError(404, Issue(f"No export {export_id} (it may have been deleted).", code="not-found"))
    try:
        export_permission_check(actor=token.user, organization=token.organization, types=job.types)
    except PermissionDenied as exc:
        raise _refused(exc) from None
    return job


@bearer_token
@csrf_exempt
@fhir_endpoint
def export_kickoff(request: HttpRequest) -> HttpResponse:
    """GET [base]/$export: start an export of the practice; 202 with the status URL in Content-Location."""
    token = authenticate(request)
    if request.method != "GET":
        raise _not_allowed(request, ["GET"])
    if not _prefers_async(request):
        raise FhirError(400, Issue("$export runs asynchronously: send the header Prefer: respond-async.",
                                   code="required", expression=["Prefer"]))
    types = _kickoff_types(request, token)
    try:
        job = bulk_export_start(token=token, types=types, request_url=request.build_absolute_uri())
    except PermissionDenied as exc:
        raise _refused(exc) from None
    body = operation_outcome([Issue(f"Export of {', '.join(types)} accepted; poll the Content-Location URL.",
                                    code="informational", severity="information")])
    return fhir_response(body, status=202, headers={"Content-Location": _status_url(request, job)})


@bearer_token
@csrf_exempt
@fhir_endpoint
def export_status(request: HttpRequest, export_id) -> HttpResponse:
    """GET: 202 while running, the manifest when done, an OperationOutcome when failed; DELETE: cancel or delete."""
    token = authenticate(request)
    if request.method not in ("GET", "DELETE"):
        raise _not_allowed(request, ["GET", "DELETE"])
    job = _job(token, export_id)
    if request.method == "DELETE":
        bulk_export_delete(actor=token.user, job=job)
        return HttpResponse(status=202)
    if job.status in (BulkExportStatus.ACCEPTED, BulkExportStatus.IN_PROGRESS):
        response = HttpResponse(status=202)
        response["X-Progress"] = job.progress or job.get_status_display()
        response["Retry-After"] = RETRY_AFTER_SECONDS
        return response
    if job.status == BulkExportStatus.FAILED:
        return fhir_response(operation_outcome([Issue(job.error or "The export failed.", code="exception")]), status=500)

    def file_url(entry: dict) -> str:
        name = entry["name"].rsplit("/", 1)[-1]
        return request.build_absolute_uri(reverse("fhir:export_file", kwargs={"export_id": job.public_id,
                                                                            "file_name": name}))

    return fhir_response(bulk_export_manifest(job=job, file_url=file_url))


@bearer_token
@csrf_exempt
def export_file(request: HttpRequest, export_id, file_name: str) -> HttpResponse:
    """GET one NDJSON file of a completed export (the token's read scope on its type is checked too)."""
    try:
        token = authenticate(request)
        if request.method != "GET":
            raise _not_allowed(request, ["GET"])
        job = _job(token, export_id)
        entry = next((e for e in job.output if e["name"].rsplit("/", 1)[-1] == file_name), None)
        if entry is not None:
            require(request, token, entry["type"], READ)
        handle = bulk_export_file(actor=token.user, job=job, file_name=file_name) if entry is not None else None
        if handle is None:
            raise FhirError(404, Issue(f"Export {export_id} has no file '{file_name}'.", code="not-found"))
    except FhirError as exc:
        return error_response(exc)
    response = FileResponse(handle, content_type=NDJSON)
    response["Cache-Control"] = "private, no-store"
    return response
