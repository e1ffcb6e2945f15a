"""Claim batch pages: the batches (and CSV), building batches from the scrubbed electronic claims, one batch with
its claims and acknowledgements, the 837 file, and sending it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from ..choices import ClaimStatus, ClearinghouseKind
from ..models import Claim, ClaimBatch
from ..selectors import eligibility as selectors
from ..services.batches import claim_batch_build, claim_batch_send

PAGE_SIZE = 50


def _ready_claims(user):
    return Claim.objects.filter(organization_id=user.organization_id, status=ClaimStatus.SCRUBBED,
                                payer__clearinghouse__isnull=False, payer__clearinghouse__is_active=True).exclude(
        payer__clearinghouse__kind=ClearinghouseKind.PAPER)


@require_GET
@requires(Perm.CLAIMS_VIEW)
def batch_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.claim_batches(user=request.user)
    if request.GET.get("format") == "csv":
        return csv_response("claim-batches.csv", [
            "file", "clearinghouse", "built", "status", "claims", "total charge", "sent"], (
            [b.file_name, b.clearinghouse.name, timezone.localtime(b.created_at).strftime("%m/%d/%Y %H:%M"),
             b.get_status_display(), b.claim_count, b.total_charge,
             timezone.localtime(b.sent_at).strftime("%m/%d/%Y %H:%M") if b.sent_at else ""] for b in rows.iterator()))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "insurance/batches/list.html", {
        "page": page, "query": "", "ready": _ready_claims(request.user).count(),
        "can_submit": request.user.has_perm_code(Perm.CLAIMS_SUBMIT)})


@require_POST
@requires(Perm.CLAIMS_SUBMIT)
def batch_build(request: HttpRequest) -> HttpResponse:
    claims = list(_ready_claims(request.user))
    try:
        batches = claim_batch_build(organization=request.user.organization, claims=claims, actor=request.user)
    except ValidationError as error:
        for problem in error.messages:
            messages.error(request, problem)
        return redirect("insurance:batch_list")
    messages.success(request, f"{len(batches)} batch(es) built with {len(claims)} claim(s).")
    return redirect("insurance:batch_detail", batch_id=batches[0].pk) if len(batches) == 1 else redirect(
        "insurance:batch_list")


def _batch(request, batch_id: int) -> ClaimBatch:
    try:
        return selectors.claim_batch_get(user=request.user, batch_id=batch_id)
    except ClaimBatch.DoesNotExist:
        raise Http404("No such batch.") from None


@require_GET
@requires(Perm.CLAIMS_VIEW)
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    claims = list(batch.claims.select_related("patient", "payer").order_by("claim_number"))
    if claims:
        audit_events(action="claim_batch.viewed", actor=request.user, targets=[c.patient for c in claims],
                     summary=f"Claims of batch {batch.file_name}")
    return render(request, "insurance/batches/detail.html", {
        "batch": batch, "claims": claims, "exchanges": selectors.batch_exchanges(batch=batch),
        "can_submit": request.user.has_perm_code(Perm.CLAIMS_SUBMIT)})


@require_GET
@requires(Perm.CLAIMS_VIEW)
def batch_download(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    audit_event(action="claim_batch.downloaded", actor=request.user, target=batch,
                summary=f"837P file {batch.file_name} downloaded")
    response = HttpResponse(batch.content, content_type="application/edi-x12")
    response["Content-Disposition"] = f'attachment; filename="{batch.file_name}"'
    return response


@require_POST
@requires(Perm.CLAIMS_SUBMIT)
def batch_send(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    try:
        batch = claim_batch_send(batch=batch, actor=request.user)
    except ValidationError as error:
        for problem in error.messages:
            messages.error(request, problem)
    else:
        messages.success(request, f"Batch {batch.file_name} sent: {batch.get_status_display()}.")
    return redirect("insurance:batch_detail", batch_id=batch.pk)


@require_GET
@requires(Perm.CLAIMS_VIEW)
def batch_follow_up(request: HttpRequest) -> HttpResponse:
    """Claims sent some days ago that no 277CA has accepted or rejected: the biller asks the clearinghouse."""
    raw = request.GET.get("days", "")
    if raw and not raw.isdigit():
        return render(request, "insurance/batches/follow_up.html", {
            "error": "Days must be a whole number.", "days": selectors.ACK_FOLLOW_UP_DAYS, "page": []}, status=400)
    days = int(raw) if raw else selectors.ACK_FOLLOW_UP_DAYS
    rows = selectors.claims_awaiting_acknowledgement(user=request.user, days=days)
    if request.GET.get("format") == "csv":
        claims = list(rows)
        if claims:
            audit_events(action="claim.follow_up_exported", actor=request.user, targets=[c.patient for c in claims],
                         summary=f"Claims without a 277CA after {days} days")
        return csv_response(f"claims-without-277ca-{days}-days.csv", [
            "claim", "patient", "payer", "charge", "batch", "sent"], (
            [c.claim_number, str(c.patient), c.payer.name, c.total_charge, c.batch.file_name,
             timezone.localtime(c.batch.sent_at).strftime("%m/%d/%Y")] for c in claims))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    if page.object_list:
        audit_events(action="claim.follow_up_viewed", actor=request.user, targets=[c.patient for c in page],
                     summary=f"Claims without a 277CA after {days} days")
    return render(request, "insurance/batches/follow_up.html", {"page": page, "days": days, "query": f"days={days}"})
