"""API routes of the staff app (/api/v1/staff): staff list and record, credentials (list, add, change, remove) and
training completion. The routes parse and shape; the services and selectors decide, with the same rules as the
pages. Identifiers are strings; dates are ISO 8601."""

from datetime import date

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from clinicdesk.core.api_auth import api_requires
from clinicdesk.core.api_schemas import DetailOut, ErrorsOut, Strict
from clinicdesk.core.audit import audit_event
from clinicdesk.core.permissions import Perm

from . import selectors
from .choices import CredentialKind, EmploymentType, StaffStatus
from .models import Credential, StaffMember, TrainingAssignment
from .services.credentials import credential_delete, credential_save
from .services.training import training_complete

router = Router(tags=["staff"])
LIST_MAX = 200


class StaffOut(Schema):
    id: str
    first_name: str
    last_name: str
    job_title: str
    role: str
    department: str | None
    employment_type: str
    fte: str
    status: str
    hire_date: date | None
    end_date: date | None
    manager_id: str | None
    email: str
    skills: list[str]


class StaffDetailOut(StaffOut):
    phone: str
    npi: str
    taxonomy_code: str
    dea_number: str
    emergency_contact_name: str
    emergency_contact_phone: str
    locations: list[str]


class StaffListOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[StaffOut]


class StaffQuery(Strict):
    q: str = Field("", max_length=100)
    status: StaffStatus | None = None
    employment_type: EmploymentType | None = None
    department: int | None = None
    limit: int = Field(50, ge=1, le=LIST_MAX)
    offset: int = Field(0, ge=0)


class CredentialOut(Schema):
    id: str
    staff_id: str
    kind: str
    name: str
    number: str
    state: str
    issuer: str
    issued_on: date | None
    expires_on: date | None
    required: bool
    verified: bool
    status: str


class CredentialIn(Strict):
    kind: CredentialKind
    name: str = Field(max_length=120)
    number: str = Field("", max_length=40)
    state: str = Field("", max_length=2)
    issuer: str = Field("", max_length=120)
    issued_on: date | None = None
    expires_on: date | None = None
    required: bool = True


class CredentialPatch(Strict):
    name: str | None = Field(None, max_length=120)
    number: str | None = Field(None, max_length=40)
    state: str | None = Field(None, max_length=2)
    issuer: str | None = Field(None, max_length=120)
    issued_on: date | None = None
    expires_on: date | None = None
    required: bool | None = None


class CompleteIn(Strict):
    completed_on: date | None = None
    evidence_note: str = Field(max_length=200)


class AssignmentOut(Schema):
    id: str
    staff_id: str
    course: str
    due_date: date
    status: str
    completed_on: date | None
    evidence_note: str


def _staff_out(m: StaffMember) -> dict:
    return {
        "id": str(m.pk), "first_name": m.first_name, "last_name": m.last_name, "job_title": m.job_title,
        "role": m.role, "department": m.department.name if m.department else None,
        "employment_type": m.employment_type, "fte": str(m.fte), "status": m.status, "hire_date": m.hire_date,
        "end_date": m.end_date, "manager_id": str(m.manager_id) if m.manager_id else None, "email": m.email,
        "skills": [s.code for s in m.skills.all()],
    }


def _credential_out(c: Credential) -> dict:
    return {
        "id": str(c.pk), "staff_id": str(c.staff_id), "kind": c.kind, "name": c.name, "number": c.number,
        "state": c.state, "issuer": c.issuer, "issued_on": c.issued_on, "expires_on": c.expires_on,
        "required": c.required, "verified": c.verified_at is not None, "status": c.status_on(timezone.localdate()),
    }


def _staff(request: HttpRequest, staff_id: str) -> StaffMember:
    if not staff_id.isdigit():
        raise Http404("No such staff member.")
    return selectors.staff_get(user=request.user, staff_id=int(staff_id))


def _credential(request: HttpRequest, credential_id: str) -> Credential:
    credential = (Credential.objects.filter(pk=int(credential_id), organization_id=request.user.organization_id)
                  .select_related("staff").first() if credential_id.isdigit() else None)
    if credential is None:
        raise Http404("No such credential.")
    return credential


@router.get("/", response={200: StaffListOut, 400: ErrorsOut}, summary="List staff")
@api_requires(Perm.STAFF_VIEW)
def staff_list(request: HttpRequest, filters: Query[StaffQuery]):
    rows = selectors.staff_search(user=request.user, query=filters.q, status=filters.status or "",
                                  employment_type=filters.employment_type or "", department_id=filters.department)
    page = list(rows[filters.offset: filters.offset + filters.limit])
    audit_event(action="staff.listed", actor=request.user, summary=f"Listed {len(page)} staff record(s) by API")
    return {"count": rows.count(), "limit": filters.limit, "offset": filters.offset,
            "items": [_staff_out(m) for m in page]}


@router.get("/{staff_id}", response={200: StaffDetailOut, 404: DetailOut}, summary="One staff record")
@api_requires(Perm.STAFF_VIEW)
def staff_detail(request: HttpRequest, staff_id: str):
    m = _staff(request, staff_id)
    audit_event(action="staff.viewed", actor=request.user, target=m, summary=f"Viewed {m.full_name} by API")
    return _staff_out(m) | {
        "phone": m.phone, "npi": m.npi, "taxonomy_code": m.taxonomy_code, "dea_number": m.dea_number,
        "emergency_contact_name": m.emergency_contact_name, "emergency_contact_phone": m.emergency_contact_phone,
        "locations": [loc.code for loc in m.locations.all()],
    }


@router.get("/{staff_id}/credentials", response={200: list[CredentialOut], 404: DetailOut},
            summary="A staff member's credentials")
@api_requires(Perm.STAFF_VIEW)
def credential_list(request: HttpRequest, staff_id: str):
    m = _staff(request, staff_id)
    audit_event(action="staff.viewed", actor=request.user, target=m, summary=f"Viewed credentials of {m.full_name} by API")
    return [_credential_out(c) for c in m.credentials.all()]


@router.post("/{staff_id}/credentials", response={201: CredentialOut, 400: ErrorsOut, 404: DetailOut},
             summary="Record a credential")
@api_requires(Perm.STAFF_VIEW, Perm.CREDENTIALS_MANAGE)
def credential_create(request: HttpRequest, staff_id: str, payload: CredentialIn):
    credential = credential_save(actor=request.user, member=_staff(request, staff_id), data=payload.model_dump())
    return Status(201, _credential_out(credential))


@router.get("/credentials/{credential_id}", response={200: CredentialOut, 404: DetailOut}, summary="One credential")
@api_requires(Perm.STAFF_VIEW)
def credential_detail(request: HttpRequest, credential_id: str):
    credential = _credential(request, credential_id)
    audit_event(action="staff.viewed", actor=request.user, target=credential.staff,
                summary=f"Viewed {credential.label} of {credential.staff.full_name} by API")
    return _credential_out(credential)


@router.patch("/credentials/{credential_id}", response={200: CredentialOut, 400: ErrorsOut, 404: DetailOut},
              summary="Change a credential")
@api_requires(Perm.STAFF_VIEW, Perm.CREDENTIALS_MANAGE)
def credential_update(request: HttpRequest, credential_id: str, payload: CredentialPatch):
    credential = _credential(request, credential_id)
    data = payload.model_dump(exclude_unset=True)
    data = {k: ("" if v is None and k not in ("issued_on", "expires_on") else v) for k, v in data.items()}
    if data.get("required") == "":
        data.pop("required")
    return _credential_out(credential_save(actor=request.user, credential=credential, data=data))


@router.delete("/credentials/{credential_id}", response={204: None, 404: DetailOut}, summary="Remove a credential")
@api_requires(Perm.STAFF_VIEW, Perm.CREDENTIALS_MANAGE)
def credential_remove(request: HttpRequest, credential_id: str):
    credential_delete(actor=request.user, credential=_credential(request, credential_id))
    return Status(204, None)


@router.post("/training/{assignment_id}/complete", response={200: AssignmentOut, 400: ErrorsOut, 404: DetailOut},
             summary="Record a training assignment as completed")
@api_requires(Perm.TRAINING_MANAGE)
def assignment_complete(request: HttpRequest, assignment_id: str, payload: CompleteIn):
    assignment = (TrainingAssignment.objects.filter(pk=int(assignment_id), organization_id=request.user.organization_id)
                  .select_related("staff", "course").first() if assignment_id.isdigit() else None)
    if assignment is None:
        raise Http404("No such assignment.")
    a = training_complete(actor=request.user, assignment=assignment, completed_on=payload.completed_on,
                          evidence_note=payload.evidence_note)
    return {"id": str(a.pk), "staff_id": str(a.staff_id), "course": a.course.name, "due_date": a.due_date,
            "status": a.status, "completed_on": a.completed_on, "evidence_note": a.evidence_note}
