"""The REST API (/api/v1/): one NinjaAPI, each app adds its router. Errors always name the field."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from clinicdesk.billing.api import router as billing_router
from clinicdesk.core.access import signed_in
from clinicdesk.core.api import router as core_router
from clinicdesk.core.api_auth import SessionAuth, TokenAuth
from clinicdesk.core.audit import audit_denied
from clinicdesk.goals.api import router as goals_router
from clinicdesk.inventory.api import router as inventory_router
from clinicdesk.inventory.assets.api import router as assets_router
from clinicdesk.ledger.api import router as ledger_router
from clinicdesk.patients.api import router as patients_router
from clinicdesk.rostering.api import router as roster_router
from clinicdesk.scheduling.api import router as schedule_router
from clinicdesk.scheduling.services.appointments import BookingConflict
from clinicdesk.staff.api import router as staff_router

api = NinjaAPI(
    title="clinicdesk API",
    version="1",
    description="The practice's records over HTTP. Authenticate with a personal API token (Bearer) "
    "or a signed-in session. Amounts and identifiers are strings.",
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    docs_decorator=signed_in,
)
api.add_router("/", core_router)
api.add_router("/patients", patients_router)
api.add_router("/schedule", schedule_router)
api.add_router("/billing", billing_router)
api.add_router("/roster", roster_router)
api.add_router("/staff", staff_router)
api.add_router("/ledger", ledger_router)
api.add_router("/goals", goals_router)
api.add_router("/inventory", inventory_router)
api.add_router("/assets", assets_router)


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "form")]
    return ".".join(parts) or "request"


@api.exception_handler(NinjaValidationError)
def schema_errors(request: HttpRequest, exc: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        errors.setdefault(_field(error.get("loc", ())), []).append(error.get("msg", "Invalid value."))
    return api.create_response(request, {"errors": errors}, status=400)


@api.exception_handler(BookingConflict)
def booking_conflicts(request: HttpRequest, exc: BookingConflict):
    """The time is taken (overlap, capacity, equipment): 409 naming the field, so a client can pick another slot."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"starts_at": exc.messages}
    return api.create_response(request, {"errors": errors}, status=409)


@api.exception_handler(ValidationError)
def domain_errors(request: HttpRequest, exc: ValidationError):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"request": exc.messages}
    return api.create_response(request, {"errors": errors}, status=400)


@api.exception_handler(PermissionDenied)
def denied(request: HttpRequest, exc: PermissionDenied):
    audit_denied(request, action="access.denied")
    return api.create_response(request, {"detail": "You do not have permission for this."}, status=403)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404):
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError):
    return api.create_response(request, {"detail": "Authentication required: a Bearer token or a signed-in session."}, status=401)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError):
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)
