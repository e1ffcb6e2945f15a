"""API routes for patient records (/api/v1/patients): list and search, read (audited), register,
change, and the chart's documents. The routes parse and shape; services and selectors decide."""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from ninja import File, Form, Router, Schema, Status, UploadedFile

from clinicdesk.core.api_auth import api_requires
from clinicdesk.core.api_schemas import DetailOut, ErrorsOut, Strict
from clinicdesk.core.audit import audit_events
from clinicdesk.core.choices import Role
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm

from . import services
from .models import Document, Patient
from .selectors import patient_likely_duplicates, patient_search
from .selectors.records import (
    PATIENT_SORTS,
    document_list,
    patient_chart,
    patient_for_change,
    patient_get,
    patient_list,
)

router = Router(tags=["patients"])

MAX_LIMIT = 100
LIST_PARAMS = ("q", "status", "sort", "limit", "offset")


# --- schemas -----------------------------------------------------------------------------------------------


class PatientSummaryOut(Schema):
    id: str
    mrn: str
    first_name: str
    last_name: str
    preferred_name: str
    date_of_birth: date
    sex: str
    status: str
    phone_mobile: str


class PatientListOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[PatientSummaryOut]


class ContactOut(Schema):
    id: str
    name: str
    relationship: str
    phone: str
    email: str


class AlertOut(Schema):
    id: str
    kind: str
    note: str
    created_at: datetime


class ConsentOut(Schema):
    channel: str
    status: str
    opted_in_at: datetime | None
    opted_out_at: datetime | None
    source: str


class GuarantorOut(Schema):
    relationship: str
    patient_id: str | None
    name: str
    phone: str
    email: str


class PatientOut(PatientSummaryOut):
    middle_name: str
    suffix: str
    pronouns: str
    gender_identity: str
    deceased_date: date | None
    phone_home: str
    phone_work: str
    email: str
    preferred_language: str
    preferred_channel: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    country: str
    primary_provider_id: str | None
    created_at: datetime
    updated_at: datetime
    emergency_contacts: list[ContactOut] = []
    alerts: list[AlertOut] = []
    consents: list[ConsentOut] = []
    guarantor: GuarantorOut | None = None


class PatientPatchIn(Strict):
    mrn: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    suffix: str | None = None
    preferred_name: str | None = None
    pronouns: str | None = None
    date_of_birth: date | None = None
    sex: str | None = None
    gender_identity: str | None = None
    status: str | None = None
    deceased_date: date | None = None
    phone_mobile: str | None = None
    phone_home: str | None = None
    phone_work: str | None = None
    email: str | None = None
    preferred_language: str | None = None
    preferred_channel: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    primary_provider_id: str | None = None


class PatientCreateIn(PatientPatchIn):
    first_name: str
    last_name: str
    date_of_birth: date
    sex: str
    create_anyway: bool = False


class DuplicateOut(Schema):
    id: str
    mrn: str
    name: str
    date_of_birth: date
    reasons: list[str]


class DuplicatesOut(Schema):
    errors: dict[str, list[str]]
    duplicates: list[DuplicateOut]


class DocumentOut(Schema):
    id: str
    title: str
    category: str
    content_type: str
    size: int
    sha256: str
    original_name: str
    retain_until: date | None
    created_at: datetime
    url: str


class DocumentListOut(Schema):
    count: int
    items: list[DocumentOut]


# --- shaping -----------------------------------------------------------------------------------------------


def _summary(p: Patient) -> dict:
    return {
        "id": p.public_id, "mrn": p.mrn, "first_name": p.first_name, "last_name": p.last_name,
        "preferred_name": p.preferred_name, "date_of_birth": p.date_of_birth, "sex": p.sex, "status": p.status,
        "phone_mobile": p.phone_mobile,
    }  # fmt: skip


def _detail(p: Patient, *, with_chart: bool = True) -> dict:
    body = _summary(p)
    for name in PatientOut.model_fields:
        if name not in body and hasattr(p, name) and name not in ("emergency_contacts", "alerts", "consents", "guarantor"):
            body[name] = getattr(p, name)
    body["primary_provider_id"] = str(p.primary_provider_id) if p.primary_provider_id else None
    if with_chart:
        chart = patient_chart(patient=p)
        body["emergency_contacts"] = [
            {"id": str(c.pk), "name": c.name, "relationship": c.relationship, "phone": c.phone, "email": c.email}
            for c in chart.contacts
        ]
        body["alerts"] = [{"id": str(a.pk), "kind": a.kind, "note": a.note, "created_at": a.created_at} for a in chart.alerts]
        body["consents"] = [
            {"channel": c.channel, "status": c.status, "opted_in_at": c.opted_in_at, "opted_out_at": c.opted_out_at,
             "source": c.source}
            for c in chart.consents
        ]
        g = getattr(p, "guarantor", None)
        if g is not None:
            body["guarantor"] = {
                "relationship": g.relationship,
                "patient_id": g.guarantor_patient.public_id if g.guarantor_patient_id else None,
                "name": g.name, "phone": g.phone, "email": g.email,
            }  # fmt: skip
    return body


def _document(d: Document) -> dict:
    return {
        "id": d.public_id, "title": d.title, "category": d.category, "content_type": d.content_type, "size": d.size,
        "sha256": d.sha256, "original_name": d.original_name, "retain_until": d.retain_until, "created_at": d.created_at,
        "url": reverse("patients:document", kwargs={"public_id": d.public_id}),
    }  # fmt: skip


def _service_values(payload: PatientPatchIn, actor: User) -> dict:
    """The fields the client sent (and only those), with the provider id turned into a user of the practice."""
    values = payload.model_dump(exclude_unset=True)
    values.pop("create_anyway", None)
    if "primary_provider_id" in values:
        provider_id = values.pop("primary_provider_id")
        provider = None
        if provider_id:
            provider = (
                User.objects.filter(organization_id=actor.organization_id, role=Role.CLINICIAN, pk=provider_id).first()
                if str(provider_id).isdigit()
                else None
            )
            if provider is None:
                raise ValidationError({"primary_provider_id": f"No clinician {provider_id} in this practice."})
        values["primary_provider"] = provider
    return values


def _check_list_params(request: HttpRequest) -> None:
    unknown = [key for key in request.GET if key not in LIST_PARAMS]
    if unknown:
        raise ValidationError(
            {key: f"Unknown filter '{key}'; use one of: {', '.join(LIST_PARAMS)}." for key in unknown}
        )


# --- routes ------------------------------------------------------------------------------------------------


@router.get("", response={200: PatientListOut, 400: ErrorsOut}, summary="List or search patients")
@api_requires(Perm.PATIENT_VIEW)
def list_patients(
    request: HttpRequest, q: str = "", status: str = "", sort: str = "", limit: int = 20, offset: int = 0
):
    """`?q=` searches by name, birth date, phone or MRN (best first); without it the list is sorted by `sort`
    (one of name, -name, dob, -dob, mrn, -mrn, created, -created, updated, -updated). A search returns at
    most the 100 best matches. Every patient returned is recorded in the audit trail as read."""
    _check_list_params(request)
    errors = {}
    if not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [f"Use a limit between 1 and {MAX_LIMIT}."]
    if offset < 0:
        errors["offset"] = ["The offset cannot be negative."]
    if q and sort:
        errors["sort"] = ["Search results come best match first; leave out sort when searching."]
    elif sort and sort not in PATIENT_SORTS:
        errors["sort"] = [f"Unknown sort field '{sort}'; use one of: {', '.join(PATIENT_SORTS)}."]
    if errors:
        raise ValidationError(errors)
    if q:
        found = patient_search(actor=request.user, query=q, limit=min(offset + limit, MAX_LIMIT))
        if status:
            patient_list(actor=request.user, status=status)  # validates the status name
            found = [p for p in found if p.status == status]
        count, page = len(found), found[offset : offset + limit]
    else:
        qs = patient_list(actor=request.user, status=status, sort=sort)
        count, page = qs.count(), list(qs[offset : offset + limit])
    audit_events(action="patient.listed", actor=request.user, targets=page, summary="Returned by the patient list API")
    return {"count": count, "limit": limit, "offset": offset, "items": [_summary(p) for p in page]}


@router.post("", response={201: PatientOut, 400: ErrorsOut, 409: DuplicatesOut}, summary="Register a patient")
@api_requires(Perm.PATIENT_VIEW, Perm.PATIENT_CREATE)
def create_patient(request: HttpRequest, payload: PatientCreateIn):
    """Leave `mrn` out to have the next one assigned. If likely duplicates exist the answer is 409 listing
    them; send again with `create_anyway: true` once they are checked."""
    values = _service_values(payload, request.user)
    phones = [values.get(f) or "" for f in ("phone_mobile", "phone_home", "phone_work")]
    duplicates = patient_likely_duplicates(
        actor=request.user, first_name=payload.first_name, last_name=payload.last_name,
        date_of_birth=payload.date_of_birth, phones=phones,
    )  # fmt: skip
    if duplicates and not payload.create_anyway:
        return Status(409, {
            "errors": {"create_anyway": ["Likely duplicates exist; check them, then send create_anyway: true."]},
            "duplicates": [
                {"id": d.public_id, "mrn": d.mrn, "name": d.display_name, "date_of_birth": d.date_of_birth,
                 "reasons": list(getattr(d, "duplicate_reasons", []))}
                for d in duplicates
            ],
        })
    patient = services.patient_create(actor=request.user, acknowledged_duplicates=duplicates, **values)
    return Status(201, _detail(patient, with_chart=False))


@router.get("/{public_id}", response={200: PatientOut, 404: DetailOut}, summary="One patient (audited read)")
@api_requires(Perm.PATIENT_VIEW)
def get_patient(request: HttpRequest, public_id: str):
    patient = patient_get(actor=request.user, public_id=public_id, summary="Read through the API")
    return _detail(patient)


@router.patch("/{public_id}", response={200: PatientOut, 400: ErrorsOut, 404: DetailOut}, summary="Change a patient")
@api_requires(Perm.PATIENT_VIEW, Perm.PATIENT_CHANGE)
def update_patient(request: HttpRequest, public_id: str, payload: PatientPatchIn):
    """Send only the fields to change; `null` clears an optional field."""
    patient = patient_for_change(actor=request.user, public_id=public_id)
    patient = services.patient_update(patient=patient, actor=request.user, **_service_values(payload, request.user))
    return _detail(patient)


@router.get(
    "/{public_id}/documents", response={200: DocumentListOut, 404: DetailOut}, summary="Documents in the chart"
)
@api_requires(Perm.PATIENT_VIEW, Perm.DOCUMENT_VIEW)
def list_documents(request: HttpRequest, public_id: str, category: str = ""):
    patient = patient_get(actor=request.user, public_id=public_id, action="document.listed",
                          summary="Document list read through the API")
    documents = list(document_list(actor=request.user, patient=patient, category=category))
    return {"count": len(documents), "items": [_document(d) for d in documents]}


@router.post(
    "/{public_id}/documents",
    response={201: DocumentOut, 400: ErrorsOut, 404: DetailOut},
    summary="Upload a document (multipart)",
)
@api_requires(Perm.PATIENT_VIEW, Perm.DOCUMENT_UPLOAD)
def upload_document(
    request: HttpRequest,
    public_id: str,
    file: File[UploadedFile],
    category: Form[str],
    title: Form[str] = "",
    retain_until: Form[date | None] = None,
):
    """PDF, PNG, JPEG, TIFF or HEIC, checked by content; the size limit is the practice's DOCUMENT_MAX_BYTES."""
    patient = patient_for_change(actor=request.user, public_id=public_id)
    document = services.document_upload(
        patient=patient, actor=request.user, file=file, category=category, title=title, retain_until=retain_until
    )
    return Status(201, _document(document))
