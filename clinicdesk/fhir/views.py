"""The FHIR R4 endpoints under /fhir/R4/: the CapabilityStatement, read and search of Patient, Practitioner,
Organization, Location, Appointment, PractitionerRole, Schedule, Slot and Coverage, and booking and cancelling
appointments.

Views parse the request, check the token (auth.py), call the apps' selectors and services, and map the rows
(mappers.py). Every refusal is an OperationOutcome naming the element (outcomes.py); the rules themselves
(who sees what, what may be booked) stay in the apps' selectors and services.

Plain Django views rather than django-ninja: FHIR fixes its own media type, error body, search syntax and
resource models, so a schema layer would only stand between the request and the FHIR models.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError as ModelError

from clinicdesk.core.access import bearer_token, public
from clinicdesk.core.audit import audit_event, audit_event_rows, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import Location, User
from clinicdesk.patients.selectors.records import patient_for_change, patient_get, patient_scope
from clinicdesk.scheduling.choices import BookingChannel
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.selectors.calendar import calendar_appointment, calendar_appointment_types
from clinicdesk.scheduling.services.appointments import BookingConflict, appointment_book, appointment_cancel

from . import capability, mappers, search
from .auth import authenticate, require
from .bindings import APPOINTMENT_STATUS, code_issues
from .models import FhirToken
from .outcomes import FhirError, Issue, from_model_error, from_validation_error, operation_outcome
from .resources import billing, claims, workflow
from .scopes import READ, RESOURCE_TYPES, WRITE

FHIR_JSON = "application/fhir+json"
JSON_PATCH = "application/json-patch+json"
BODY_TYPES = (FHIR_JSON, "application/json")
JSON_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir")
MAX_BODY_BYTES = 1_000_000


# --- responses ----------------------------------------------------------------------------------------------


def fhir_response(body: dict, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=f"{FHIR_JSON}; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(exc: FhirError) -> HttpResponse:
    return fhir_response(operation_outcome(exc.issues), status=exc.status, headers=exc.headers)


def _check_format(request: HttpRequest) -> None:
    """JSON only: `_format` or an Accept header that rules JSON out is 406."""
    wanted = request.GET.get("_format")
    if wanted is not None and wanted.split(";")[0].strip() not in JSON_FORMATS:
        raise FhirError(406, Issue(f"Only JSON is served (_format=json); not '{wanted}'.", code="not-supported",
                                   expression=["_format"]))
    accept = request.headers.get("Accept", "")
    if accept:
        kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        if not any(k in ("*/*", "application/*", *JSON_FORMATS) for k in kinds):
            raise FhirError(406, Issue(f"Only {FHIR_JSON} is served; the Accept header asks for '{accept}'.",
                                       code="not-supported"))


def fhir_endpoint(view: Callable) -> Callable:
    """A FHIR view: JSON only, every refusal an OperationOutcome."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            _check_format(request)
            return view(request, *args, **kwargs)
        except FhirError as exc:
            return error_response(exc)

    return wrapped


def _absolute(request: HttpRequest, relative: str) -> str:
    """An absolute URL under the FHIR base ([base]/Patient/abc)."""
    base = reverse("fhir:metadata").removesuffix("metadata")
    return request.build_absolute_uri(base + relative)


# --- request bodies -----------------------------------------------------------------------------------------


def _json_body(request: HttpRequest, media_types: tuple[str, ...]):
    content_type = request.content_type or ""
    if content_type not in media_types:
        raise FhirError(415, Issue(f"Send the body as {' or '.join(media_types)}; got '{content_type or 'nothing'}'.",
                                   code="not-supported"))
    if len(request.body) > MAX_BODY_BYTES:
        raise FhirError(413, Issue("The body is larger than 1 MB.", code="too-long"))
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FhirError(400, Issue(f"The body is not valid JSON: {exc}.", code="structure")) from None


def _resource_body(request: HttpRequest, resource_type: str, model) -> tuple[dict, object]:
    """The posted resource, checked against the R4B model and its code bindings."""
    data = _json_body(request, BODY_TYPES)
    if not isinstance(data, dict):
        raise FhirError(400, Issue(f"The body must be one {resource_type} resource (a JSON object).", code="structure"))
    if data.get("resourceType") != resource_type:
        raise FhirError(400, Issue(f"resourceType must be '{resource_type}'; got {data.get('resourceType')!r}.",
                                   code="invalid", expression=[f"{resource_type}.resourceType"]))
    extra = _library_only_keys(data, resource_type)
    if extra:
        raise FhirError(400, [Issue("Not a FHIR element.", code="structure", expression=[path]) for path in extra])
    try:
        resource = model.model_validate(data)
    except ModelError as exc:
        raise from_model_error(exc, resource_type) from None
    issues = code_issues(data)
    if issues:
        raise FhirError(422, issues)
    return data, resource


def _library_only_keys(value, path: str) -> list[str]:
    """Paths of `fhir_comments` keys: the FHIR models accept them (a leftover of the library's own JSON comments),
    FHIR does not."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "fhir_comments":
                found.append(f"{path}.{key}")
            else:
                found += _library_only_keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _library_only_keys(item, f"{path}[{i}]")
    return found


# --- resources ----------------------------------------------------------------------------------------------


@dataclass
class Kind:
    """What the server does with one resource type."""

    read: Callable[[HttpRequest, User, str], dict]
    search: Callable[[HttpRequest, FhirToken], dict]
    create: Callable[[HttpRequest, FhirToken], HttpResponse] | None = None
    patch: Callable[[HttpRequest, FhirToken, str], HttpResponse] | None = None


def _searchset(request: HttpRequest, resource_type: str, rows: QuerySet | list, to_resource: Callable,
               *, audit: Callable[[list], None] | None = None, include: Callable[[list], list[dict]] | None = None,
               counted: int | None = None) -> dict:
    """A searchset Bundle of one page of `rows` with self/first/previous/next links, and its total and last link
    when the total is known (see `_search_total`; `counted`: the rows already counted up to TOTAL_COUNTED_UP_TO + 1)."""
    page_of = search.paging(request.GET)
    # One row past the page tells whether there is a next page without counting every match.
    page = list(rows[page_of.offset : page_of.offset + page_of.count + 1])
    more = len(page) > page_of.count
    page = page[: page_of.count]
    total = _search_total(rows, page_of, page, more, counted)
    if audit is not None:
        audit(page)
    entries = []
    base = _absolute(request, "")  # once a page: ids and resource types need no escaping
    for row in page:
        resource = to_resource(row)
        entries.append({"fullUrl": f"{base}{resource_type}/{resource['id']}", "resource": resource,
                        "search": {"mode": "match"}})
    for resource in include(page) if include is not None else []:
        entries.append({"fullUrl": f"{base}{resource['resourceType']}/{resource['id']}", "resource": resource,
                        "search": {"mode": "include"}})
    last_page = None if total is None else max(1, -(-total // page_of.count))
    links = [("self", page_of.page), ("first", 1)]
    if page_of.page > 1:
        links.append(("previous", page_of.page - 1 if last_page is None else min(page_of.page - 1, last_page)))
    if more:
        links.append(("next", page_of.page + 1))
    if last_page is not None:
        links.append(("last", last_page))
    bundle = Bundle.model_validate({
        "resourceType": "Bundle", "type": "searchset", "total": total,
        "meta": {"lastUpdated": timezone.now().isoformat(timespec="seconds")},
        "link": [{"relation": relation, "url": _page_url(request, resource_type, number)} for relation, number in links],
    }).model_dump(mode="json", exclude_none=True)
    # Each resource was checked against its model by its mapper; checking it again inside the Bundle took as long.
    if entries:
        bundle["entry"] = entries
    return bundle


# Bundle.total is optional in FHIR: past this many matches it is left out rather than counted.
TOTAL_COUNTED_UP_TO = 1000


def _search_total(rows, page_of: search.Paging, page: list, more: bool, counted: int | None) -> int | None:
    """The number of matches: from the page itself when it is the last one, else counted up to
    TOTAL_COUNTED_UP_TO; None past that (counting every patient named "Sm…" in a large practice costs more than
    the page)."""
    if isinstance(rows, list):
        return len(rows)
    if not more and (page or page_of.page == 1):
        return page_of.offset + len(page)
    if counted is None:
        # (rows that are not one query, such as Communication's messages then letters, count themselves)
        counted = rows.order_by()[: TOTAL_COUNTED_UP_TO + 1].count() if isinstance(rows, QuerySet) else rows.count()
    return counted if counted <= TOTAL_COUNTED_UP_TO else None


def _page_url(request: HttpRequest, resource_type: str, number: int) -> str:
    params = [(k, v) for k in request.GET for v in request.GET.getlist(k) if k != "_page"]
    params.append(("_page", str(number)))
    return _absolute(request, resource_type) + "?" + urlencode(params)


# Patient


def _patient_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    patient = patient_get(actor=actor, public_id=resource_id, summary="Read through the FHIR API", channel=AuditChannel.API)
    return mappers.patient_resource(patient)


def _patient_search(request: HttpRequest, token: FhirToken) -> dict:
    actor = token.user
    rows, counted = search.patient_search_page(actor=actor, params=request.GET, mrn_system=mappers.mrn_system(token.organization),
                                               count_up_to=TOTAL_COUNTED_UP_TO)

    def audit(page: list) -> None:
        # Rows of columns rather than `audit_events`' model instances: a third of the CPU of a page of twenty.
        audit_event_rows({"action": "patient.listed", "actor": actor, "target": patient, "channel": AuditChannel.API,
                          "summary": "Returned by a FHIR Patient search"} for patient in page)

    return _searchset(request, "Patient", rows, mappers.patient_resource, audit=audit, counted=counted)


# Practitioner, Organization, Location: the practice's own records, no patient data.


def _one(rows: QuerySet, resource_id: str, *, numeric: bool = True):
    if numeric and (not resource_id.isdigit() or len(resource_id) > 18):
        raise Http404
    found = rows.filter(pk=int(resource_id) if numeric else resource_id).first()
    if found is None:
        raise Http404
    return found


def _practitioner_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    return mappers.practitioner_resource(_one(search.practitioner_scope(actor=actor), resource_id))


def _practitioner_search(request: HttpRequest, token: FhirToken) -> dict:
    rows = search.id_filter(request.GET, search.practitioner_scope(actor=token.user))
    return _searchset(request, "Practitioner", rows, mappers.practitioner_resource)


def _organization_rows(actor: User) -> QuerySet:
    return type(actor.organization).objects.filter(pk=actor.organization_id)


def _organization_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    return mappers.organization_resource(_one(_organization_rows(actor), resource_id))


def _organization_search(request: HttpRequest, token: FhirToken) -> dict:
    rows = search.id_filter(request.GET, _organization_rows(token.user))
    return _searchset(request, "Organization", rows, mappers.organization_resource)


def _location_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    return mappers.location_resource(_one(search.location_scope(actor=actor), resource_id))


def _location_search(request: HttpRequest, token: FhirToken) -> dict:
    rows = search.id_filter(request.GET, search.location_scope(actor=token.user).order_by("name", "id"))
    return _searchset(request, "Location", rows, mappers.location_resource)


# Appointment


def _appointment_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    appointment = calendar_appointment(actor=actor, public_id=resource_id)
    audit_event(action="appointment.viewed", actor=actor, target=appointment, channel=AuditChannel.API,
                summary="Appointment read through the FHIR API")
    return mappers.appointment_resource(appointment)


def _appointment_search(request: HttpRequest, token: FhirToken) -> dict:
    actor = token.user
    rows, includes = search.appointment_search(actor=actor, params=request.GET)
    if includes:
        # The patients come along only for a token and a role that may read patients.
        require(request, token, "Patient", READ)

    def audit(page: list) -> None:
        audit_events(action="appointment.listed", actor=actor, targets=page, channel=AuditChannel.API,
                     summary="Returned by a FHIR Appointment search")

    def include(page: list) -> list[dict]:
        if not includes:
            return []
        ids = {a.patient_id for a in page}
        patients = list(patient_scope(actor=actor).filter(pk__in=ids).select_related("organization").order_by("id"))
        audit_events(action="patient.listed", actor=actor, targets=patients, channel=AuditChannel.API,
                     summary="Included in a FHIR Appointment search (_include=Appointment:patient)")
        return [mappers.patient_resource(p) for p in patients]

    return _searchset(request, "Appointment", rows, mappers.appointment_resource, audit=audit, include=include)


# Where each field a scheduling service names comes from in the Appointment resource.
_BOOKING_PATHS = {
    "starts_at": "Appointment.start", "ends_at": "Appointment.end", "appointment_type": "Appointment.serviceType",
    "notes": "Appointment.comment", "status": "Appointment.status", "reason": "Appointment.cancelationReason",
    "patient": "Appointment.participant", "provider": "Appointment.participant", "location": "Appointment.participant",
    "room": "Appointment.participant", "equipment": "Appointment.participant", "appointment": "Appointment",
}


def _participants(resource) -> dict[str, tuple[str, str]]:
    """{'Patient': (id, path), 'Practitioner': ..., 'Location': ...} from the participants' actor references."""
    found: dict[str, tuple[str, str]] = {}
    issues = []
    for i, participant in enumerate(resource.participant or []):
        path = f"Appointment.participant[{i}].actor.reference"
        reference = participant.actor.reference if participant.actor is not None else None
        if not reference:
            issues.append(Issue("Each participant names its actor with a reference (Patient/…, Practitioner/…, Location/…).",
                                code="required", expression=[f"Appointment.participant[{i}].actor"]))
            continue
        kind, _, ident = reference.rpartition("/")
        kind = kind.rpartition("/")[2]
        if kind not in ("Patient", "Practitioner", "Location") or not ident:
            issues.append(Issue(f"'{reference}' is not a Patient, Practitioner or Location reference.", code="value",
                                expression=[path]))
        elif kind in found:
            issues.append(Issue(f"Give one {kind} participant; a second one is at this element.", code="business-rule",
                                expression=[path]))
        else:
            found[kind] = (ident, path)
    for kind in ("Patient", "Practitioner", "Location"):
        if kind not in found and not issues:
            issues.append(Issue(f"The appointment needs a {kind} participant.", code="required",
                                expression=["Appointment.participant"]))
    if issues:
        raise FhirError(422, issues)
    return found


def _appointment_type_code(resource, organization) -> str:
    system = mappers.appointment_type_system(organization)
    for i, concept in enumerate(resource.serviceType or []):
        for j, coding in enumerate(concept.coding or []):
            if coding.code and coding.system in (None, system):
                return coding.code
            if coding.code:
                raise FhirError(422, Issue(f"Use the practice's appointment type codes ({system}).", code="code-invalid",
                                           expression=[f"Appointment.serviceType[{i}].coding[{j}].system"]))
    raise FhirError(422, Issue(f"Give the appointment type as serviceType.coding with system {system}.", code="required",
                               expression=["Appointment.serviceType"]))


def _appointment_create(request: HttpRequest, token: FhirToken) -> HttpResponse:
    """Book through the scheduling service the front desk uses: every booking rule applies."""
    actor = token.user
    _, resource = _resource_body(request, "Appointment", FhirAppointment)
    if resource.status != "booked":
        raise FhirError(422, Issue("Only booked appointments can be created here (status 'booked').", code="business-rule",
                                   expression=["Appointment.status"]))
    if resource.start is None:
        raise FhirError(422, Issue("Give the start (an instant with its UTC offset).", code="required",
                                   expression=["Appointment.start"]))
    parties = _participants(resource)
    code = _appointment_type_code(resource, token.organization)
    ends_at: datetime | None = resource.end
    if ends_at is None and resource.minutesDuration:
        ends_at = resource.start + timedelta(minutes=resource.minutesDuration)
    patient_id, patient_path = parties["Patient"]
    provider_id, provider_path = parties["Practitioner"]
    location_id, location_path = parties["Location"]
    issues = []
    try:
        patient = patient_for_change(actor=actor, public_id=patient_id)
    except Http404:
        patient = None
        issues.append(Issue("No such patient.", code="not-found", expression=[patient_path]))
    provider = search.practitioner_scope(actor=actor).filter(pk=int(provider_id)).first() if provider_id.isdigit() else None
    if provider is None:
        issues.append(Issue("No such practitioner in this practice.", code="not-found", expression=[provider_path]))
    location = search.location_scope(actor=actor).filter(pk=int(location_id)).first() if location_id.isdigit() else None
    if location is None:
        issues.append(Issue("No such location in this practice.", code="not-found", expression=[location_path]))
    kind = calendar_appointment_types(actor=actor).filter(code=code).first()
    if kind is None:
        issues.append(Issue(f"No appointment type '{code}' in this practice.", code="code-invalid",
                            expression=["Appointment.serviceType"]))
    if issues:
        raise FhirError(422, issues)
    paths = {**_BOOKING_PATHS, "patient": patient_path, "provider": provider_path, "location": location_path}
    try:
        appointment = appointment_book(
            actor=actor, patient=patient, provider=provider, location=location, appointment_type=kind,
            starts_at=resource.start, ends_at=ends_at, notes=resource.comment or "", channel=BookingChannel.API,
        )
    except BookingConflict as exc:
        raise from_validation_error(exc, paths, "Appointment.start", status=409, code="conflict") from None
    except ValidationError as exc:
        raise from_validation_error(exc, paths, "Appointment") from None
    appointment = Appointment.objects.select_related(
        "patient", "provider", "appointment_type", "location__organization").get(pk=appointment.pk)
    body = mappers.appointment_resource(appointment)
    return fhir_response(body, status=201, headers={"Location": _absolute(request, f"Appointment/{appointment.public_id}")})


def _cancel_reason(value, path: str) -> str:
    if not isinstance(value, dict):
        raise FhirError(422, Issue("cancelationReason is a CodeableConcept, e.g. {\"text\": \"Patient called\"}.",
                                   code="structure", expression=[path]))
    text = value.get("text")
    if not text:
        for coding in value.get("coding") or []:
            if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
                text = coding.get("display") or coding.get("code")
                break
    if not isinstance(text, str) or not text.strip():
        raise FhirError(422, Issue("Say why: cancelationReason.text.", code="required", expression=[path]))
    return text


def _appointment_patch(request: HttpRequest, token: FhirToken, resource_id: str) -> HttpResponse:
    """Cancel with a JSON Patch: replace /status with "cancelled" and add /cancelationReason. Nothing else changes
    through PATCH (moves and check-ins stay with the schedule's own pages and API)."""
    actor = token.user
    ops = _json_body(request, (JSON_PATCH,))
    if not isinstance(ops, list) or not ops:
        raise FhirError(400, Issue("A JSON Patch is a list of operations.", code="structure"))
    status, reason = None, None
    issues = []
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            issues.append(Issue(f"Operation {i} is not a JSON Patch operation with a path.", code="structure"))
            continue
        element = "Appointment" + op["path"].replace("/", ".")
        if op.get("op") == "replace" and op["path"] == "/status":
            status = op.get("value")
            if status != "cancelled":
                code = "code-invalid" if status not in APPOINTMENT_STATUS else "business-rule"
                issues.append(Issue(f"Only a cancellation (status 'cancelled') can be patched; got {status!r}.", code=code,
                                    expression=[element]))
        elif op.get("op") in ("add", "replace") and op["path"] == "/cancelationReason":
            reason = _cancel_reason(op.get("value"), element)
        else:
            issues.append(Issue(f"'{op.get('op')} {op['path']}' is not supported; patch /status to 'cancelled' with "
                                "/cancelationReason.", code="not-supported", expression=[element]))
    if status is None and not issues:
        issues.append(Issue("Replace /status with 'cancelled'.", code="required", expression=["Appointment.status"]))
    if issues:
        raise FhirError(422, issues)
    appointment = calendar_appointment(actor=actor, public_id=resource_id)
    try:
        appointment_cancel(actor=actor, appointment=appointment, reason=reason or "")
    except ValidationError as exc:
        raise from_validation_error(exc, _BOOKING_PATHS, "Appointment") from None
    appointment = calendar_appointment(actor=actor, public_id=resource_id)
    return fhir_response(mappers.appointment_resource(appointment))


# PractitionerRole, Schedule, Slot: the schedule's own records, no patient data.


def _practitioner_roles(actor: User) -> QuerySet:
    return search.practitioner_scope(actor=actor).select_related("organization", "staff_member").prefetch_related(
        "locations", "availability_templates")


def _visible_locations(actor: User) -> list[Location]:
    return list(search.location_scope(actor=actor).order_by("name", "id"))


def _practitioner_role_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    user = _one(_practitioner_roles(actor), resource_id)
    return mappers.practitioner_role_resource(user, search.role_locations(user, _visible_locations(actor)))


def _practitioner_role_search(request: HttpRequest, token: FhirToken) -> dict:
    actor = token.user
    matching = search.practitioner_role_search(actor=actor, params=request.GET)
    rows = _practitioner_roles(actor).filter(pk__in=matching.values("pk"))
    visible = _visible_locations(actor)
    return _searchset(request, "PractitionerRole", rows,
                      lambda user: mappers.practitioner_role_resource(user, search.role_locations(user, visible)))


def _schedule_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    key = search.schedule_key("_id", resource_id, strict=False)
    if key is None:
        raise Http404
    row = search.schedule_scope(actor=actor).filter(provider_id=key[0], location_id=key[1]).first()
    if row is None:
        raise Http404
    return mappers.schedule_resource(row)


def _schedule_search(request: HttpRequest, token: FhirToken) -> dict:
    rows = search.schedule_search(actor=token.user, params=request.GET)
    return _searchset(request, "Schedule", rows, mappers.schedule_resource)


def _slot_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    slot = search.slot_get(actor=actor, slot_id=resource_id)
    if slot is None:
        raise Http404
    return mappers.slot_resource(slot)


def _slot_search(request: HttpRequest, token: FhirToken) -> dict:
    slots = search.slot_search_fhir(actor=token.user, params=request.GET,
                                    type_system=mappers.appointment_type_system(token.organization), now=timezone.now())
    return _searchset(request, "Slot", slots, mappers.slot_resource)


# Coverage: a patient's insurance, so every coverage returned is audited like a patient read.


def _coverage_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    coverage = search.coverage_scope(actor=actor).filter(public_id=resource_id).first()
    if coverage is None:
        raise Http404
    audit_event(action="insurance.coverage_viewed", actor=actor, target=coverage, channel=AuditChannel.API,
                summary=f"{coverage.get_rank_display()} coverage read through the FHIR API: {coverage.payer.name}"[:300])
    return mappers.coverage_resource(coverage)


def _coverage_search(request: HttpRequest, token: FhirToken) -> dict:
    actor = token.user
    organization = token.organization
    rows = search.coverage_search(actor=actor, params=request.GET, member_system=mappers.member_id_system(organization),
                                  payer_system=mappers.payer_id_system(organization))

    def audit(page: list) -> None:
        audit_events(action="insurance.coverage_listed", actor=actor, targets=page, channel=AuditChannel.API,
                     summary="Returned by a FHIR Coverage search")

    return _searchset(request, "Coverage", rows, mappers.coverage_resource, audit=audit)


KINDS: dict[str, Kind] = {
    "Patient": Kind(read=_patient_read, search=_patient_search),
    "Practitioner": Kind(read=_practitioner_read, search=_practitioner_search),
    "Organization": Kind(read=_organization_read, search=_organization_search),
    "Location": Kind(read=_location_read, search=_location_search),
    "Appointment": Kind(read=_appointment_read, search=_appointment_search, create=_appointment_create,
                        patch=_appointment_patch),
    "PractitionerRole": Kind(read=_practitioner_role_read, search=_practitioner_role_search),
    "Schedule": Kind(read=_schedule_read, search=_schedule_search),
    "Slot": Kind(read=_slot_read, search=_slot_search),
    "Coverage": Kind(read=_coverage_read, search=_coverage_search),
    "Claim": Kind(read=claims.claim_read, search=claims.claim_search_view),
    "ExplanationOfBenefit": Kind(read=claims.eob_read, search=claims.eob_search_view),
    "Communication": Kind(read=workflow.communication_read, search=workflow.communication_search_view),
    "Task": Kind(read=workflow.task_read, search=workflow.task_search_view),
    "ChargeItem": Kind(read=billing.charge_item_read, search=billing.charge_item_search_view),
    "Account": Kind(read=billing.account_read, search=billing.account_search_view),
    "Invoice": Kind(read=billing.invoice_read, search=billing.invoice_search_view),
}
assert tuple(KINDS) == RESOURCE_TYPES  # noqa: S101  (the scopes and the endpoints describe the same resources)


def _kind(resource_type: str) -> Kind:
    kind = KINDS.get(resource_type)
    if kind is None:
        raise FhirError(404, Issue(f"This server has no '{resource_type}' resource; it serves: {', '.join(KINDS)}.",
                                   code="not-supported", expression=[resource_type]))
    return kind


def _not_allowed(request: HttpRequest, allowed: list[str]) -> FhirError:
    return FhirError(405, Issue(f"{request.method} is not supported here; use {', '.join(allowed)}.", code="not-supported"),
                     headers={"Allow": ", ".join(allowed)})


# --- endpoints ----------------------------------------------------------------------------------------------


@public
@fhir_endpoint
def metadata(request: HttpRequest) -> HttpResponse:
    """The CapabilityStatement, open to anyone (clients read it before they have a token)."""
    if request.method not in ("GET", "HEAD"):
        raise _not_allowed(request, ["GET"])
    return fhir_response(capability.capability_statement(base_url=_absolute(request, "")))


# The token endpoints take no cookies (a session is refused), so a forged cross-site request carries no
# credentials: no CSRF token is asked for.
@bearer_token
@csrf_exempt
@fhir_endpoint
def type_endpoint(request: HttpRequest, resource_type: str) -> HttpResponse:
    """GET [base]/[type]: search; POST [base]/[type]: create."""
    token = authenticate(request)
    kind = _kind(resource_type)
    if request.method == "GET":
        require(request, token, resource_type, READ)
        return fhir_response(kind.search(request, token))
    if request.method == "POST" and kind.create is not None:
        require(request, token, resource_type, WRITE)
        return kind.create(request, token)
    raise _not_allowed(request, ["GET", "POST"] if kind.create else ["GET"])


@bearer_token
@csrf_exempt
@fhir_endpoint
def instance_endpoint(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    """GET [base]/[type]/[id]: read; PATCH [base]/Appointment/[id]: cancel."""
    token = authenticate(request)
    kind = _kind(resource_type)
    try:
        if request.method == "GET":
            require(request, token, resource_type, READ)
            return fhir_response(kind.read(request, token.user, resource_id))
        if request.method == "PATCH" and kind.patch is not None:
            require(request, token, resource_type, WRITE)
            return kind.patch(request, token, resource_id)
    except Http404:
        raise FhirError(404, Issue(f"{resource_type}/{resource_id} is not known.", code="not-found",
                                   expression=[resource_type])) from None
    raise _not_allowed(request, ["GET", "PATCH"] if kind.patch else ["GET"])
