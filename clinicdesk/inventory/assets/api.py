"""API routes of office technology (/api/v1/assets): the register (list, one asset, record one) and service tickets
(list, one with its timeline, open one, comment on one, move one). The routes parse and shape; the services and selectors decide,
with the same rules as the pages. Identifiers and amounts are strings; dates are ISO 8601."""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from clinicdesk.core.api_auth import api_requires
from clinicdesk.core.api_schemas import DetailOut, ErrorsOut, Strict
from clinicdesk.core.models import Department, Location, User
from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.models import Vendor
from clinicdesk.staff.models import StaffMember

from . import selectors
from .choices import AssetKind, AssetStatus, TicketPriority, TicketStatus
from .models import Asset, ServiceTicket
from .services.assets import asset_save
from .services.tickets import ticket_comment, ticket_move, ticket_open

router = Router(tags=["assets"])
LIST_MAX = 200


class AssetOut(Schema):
    id: str
    tag: str
    name: str
    kind: str
    status: str
    make: str
    model: str
    serial_number: str
    location_id: str | None
    department_id: str | None
    assigned_to_id: str | None
    vendor: str | None
    purchase_date: date | None
    purchase_cost: str | None
    warranty_expires: date | None
    support_expires: date | None
    licence_expires: date | None
    licence_seats: int | None
    retired_on: date | None


class AssetListOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[AssetOut]


class AssetQuery(Strict):
    q: str = Field("", max_length=100)
    kind: AssetKind | None = None
    status: AssetStatus | None = None
    location: int | None = Field(None, ge=1, le=2**62)
    expiring_within: int | None = Field(None, ge=0, le=3650)
    limit: int = Field(50, ge=1, le=LIST_MAX)
    offset: int = Field(0, ge=0)


class AssetIn(Strict):
    tag: str = Field(max_length=40)
    name: str = Field(max_length=120)
    kind: AssetKind
    status: AssetStatus = AssetStatus.IN_USE
    make: str = Field("", max_length=80)
    model: str = Field("", max_length=80)
    serial_number: str = Field("", max_length=80)
    location_id: int | None = Field(None, ge=1, le=2**62)
    department_id: int | None = Field(None, ge=1, le=2**62)
    assigned_to_id: int | None = Field(None, ge=1, le=2**62)
    vendor_id: int | None = Field(None, ge=1, le=2**62)
    purchase_date: date | None = None
    purchase_cost: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    warranty_expires: date | None = None
    support_expires: date | None = None
    licence_expires: date | None = None
    licence_seats: int | None = Field(None, ge=1, le=1_000_000)
    retired_on: date | None = None
    notes: str = Field("", max_length=5000)


class TicketOut(Schema):
    id: str
    asset_id: str
    asset_tag: str
    title: str
    description: str
    status: str
    priority: str
    vendor: str | None
    vendor_reference: str
    reported_by: str | None
    assigned_to_id: str | None
    opened_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None


class EntryOut(Schema):
    kind: str
    author: str | None
    from_status: str
    to_status: str
    body: str
    at: datetime


class TicketDetailOut(TicketOut):
    timeline: list[EntryOut]


class TicketQuery(Strict):
    status: TicketStatus | None = None
    asset: int | None = Field(None, ge=1, le=2**62)
    limit: int = Field(50, ge=1, le=LIST_MAX)
    offset: int = Field(0, ge=0)


class TicketIn(Strict):
    title: str = Field(max_length=160)
    description: str = Field("", max_length=5000)
    priority: TicketPriority = TicketPriority.NORMAL
    vendor_id: int | None = Field(None, ge=1, le=2**62)
    vendor_reference: str = Field("", max_length=60)
    assigned_to_id: int | None = Field(None, ge=1, le=2**62)


class CommentIn(Strict):
    body: str = Field(max_length=5000)


class MoveIn(Strict):
    to_status: TicketStatus
    note: str = Field("", max_length=5000)


def _id(value) -> str | None:
    return str(value) if value is not None else None


def _asset_out(a: Asset) -> dict:
    return {
        "id": str(a.pk), "tag": a.tag, "name": a.name, "kind": a.kind, "status": a.status, "make": a.make,
        "model": a.model, "serial_number": a.serial_number, "location_id": _id(a.location_id),
        "department_id": _id(a.department_id), "assigned_to_id": _id(a.assigned_to_id),
        "vendor": a.vendor.name if a.vendor else None, "purchase_date": a.purchase_date,
        "purchase_cost": _id(a.purchase_cost), "warranty_expires": a.warranty_expires,
        "support_expires": a.support_expires, "licence_expires": a.licence_expires, "licence_seats": a.licence_seats,
        "retired_on": a.retired_on,
    }


def _ticket_out(t: ServiceTicket) -> dict:
    return {
        "id": str(t.pk), "asset_id": str(t.asset_id), "asset_tag": t.asset.tag, "title": t.title,
        "description": t.description, "status": t.status, "priority": t.priority,
        "vendor": t.vendor.name if t.vendor else None, "vendor_reference": t.vendor_reference,
        "reported_by": t.reported_by.get_username() if t.reported_by else None,
        "assigned_to_id": _id(t.assigned_to_id), "opened_at": t.created_at, "resolved_at": t.resolved_at,
        "closed_at": t.closed_at,
    }


def _pk(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise Http404("Not found.")
    return int(value)


def _related(request: HttpRequest, payload: dict, names: dict) -> dict:
    """Swap `<name>_id` for the practice's row; an id the practice does not hold is refused naming the field."""
    org = request.user.organization_id
    for name, model in names.items():
        pk = payload.pop(f"{name}_id", None)
        if pk is not None:
            row = model.objects.filter(pk=pk, organization_id=org).first()
            if row is None:
                raise ValidationError({name: f"No such {name.replace('_', ' ')} in your organization."})
            payload[name] = row
    return payload


@router.get("/tickets", response={200: list[TicketOut], 400: ErrorsOut}, summary="List service tickets")
@api_requires(Perm.ASSETS_VIEW)
def ticket_list(request: HttpRequest, filters: Query[TicketQuery]):
    rows = selectors.ticket_search(user=request.user, status=filters.status or "", asset_id=filters.asset)
    return [_ticket_out(t) for t in rows[filters.offset: filters.offset + filters.limit]]


@router.get("/tickets/{ticket_id}", response={200: TicketDetailOut, 404: DetailOut}, summary="One ticket")
@api_requires(Perm.ASSETS_VIEW)
def ticket_detail(request: HttpRequest, ticket_id: str):
    t = selectors.ticket_get(user=request.user, ticket_id=_pk(ticket_id))
    timeline = [_entry_out(e) for e in t.entries.select_related("author")]
    return _ticket_out(t) | {"timeline": timeline}


def _entry_out(e) -> dict:
    return {"kind": e.kind, "author": e.author.get_username() if e.author else None, "from_status": e.from_status,
            "to_status": e.to_status, "body": e.body, "at": e.created_at}


@router.post("/tickets/{ticket_id}/comments", response={201: EntryOut, 400: ErrorsOut, 404: DetailOut},
             summary="Comment on a ticket")
@api_requires(Perm.ASSETS_VIEW)
def ticket_comment_api(request: HttpRequest, ticket_id: str, payload: CommentIn):
    t = selectors.ticket_get(user=request.user, ticket_id=_pk(ticket_id))
    return Status(201, _entry_out(ticket_comment(actor=request.user, ticket=t, body=payload.body)))


@router.post("/tickets/{ticket_id}/move", response={200: TicketOut, 400: ErrorsOut, 404: DetailOut},
             summary="Move a ticket to another status")
@api_requires(Perm.ASSETS_MANAGE)
def ticket_move_api(request: HttpRequest, ticket_id: str, payload: MoveIn):
    t = selectors.ticket_get(user=request.user, ticket_id=_pk(ticket_id))
    return _ticket_out(ticket_move(actor=request.user, ticket=t, to_status=payload.to_status, note=payload.note))


@router.get("/", response={200: AssetListOut, 400: ErrorsOut}, summary="List the asset register")
@api_requires(Perm.ASSETS_VIEW)
def asset_list(request: HttpRequest, filters: Query[AssetQuery]):
    rows = selectors.asset_search(user=request.user, kind=filters.kind or "", status=filters.status or "",
                                  location_id=filters.location, expiring_within=filters.expiring_within,
                                  query=filters.q, today=timezone.localdate())
    page = list(rows[filters.offset: filters.offset + filters.limit])
    return {"count": rows.count(), "limit": filters.limit, "offset": filters.offset,
            "items": [_asset_out(a) for a in page]}


@router.post("/", response={201: AssetOut, 400: ErrorsOut}, summary="Record an asset")
@api_requires(Perm.ASSETS_MANAGE)
def asset_create(request: HttpRequest, payload: AssetIn):
    data = _related(request, payload.model_dump(), {"location": Location, "department": Department,
                                                    "assigned_to": StaffMember, "vendor": Vendor})
    return Status(201, _asset_out(asset_save(actor=request.user, data=data)))


@router.get("/{asset_id}", response={200: AssetOut, 404: DetailOut}, summary="One asset")
@api_requires(Perm.ASSETS_VIEW)
def asset_detail(request: HttpRequest, asset_id: str):
    return _asset_out(selectors.asset_get(user=request.user, asset_id=_pk(asset_id)))


@router.post("/{asset_id}/tickets", response={201: TicketOut, 400: ErrorsOut, 404: DetailOut},
             summary="Report a problem with an asset")
@api_requires(Perm.ASSETS_VIEW)
def ticket_create(request: HttpRequest, asset_id: str, payload: TicketIn):
    asset = selectors.asset_get(user=request.user, asset_id=_pk(asset_id))
    data = _related(request, payload.model_dump(), {"vendor": Vendor, "assigned_to": User})
    return Status(201, _ticket_out(ticket_open(actor=request.user, asset=asset, data=data)))
