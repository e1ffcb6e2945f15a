"""Claim pages under /insurance/claims/: the ready-to-bill list, the work queues (denials among them), one claim
with its lines, findings, history and actions, and the CMS-1500 printouts for paper payers."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm

from ..choices import CLAIM_TRANSITIONS, ClaimStatus
from ..cms1500 import cms1500_pdf
from ..forms_claims import (
    APPEAL_NEXT,
    AppealDecideForm,
    AppealForm,
    AssignForm,
    CorrectForm,
    NoteForm,
    QueueFilterForm,
    TransitionForm,
)
from ..models import Appeal, Payer
from ..selectors import claims as selectors
from ..services import claims as services
from ..services.scrubber import claim_scrub

QUEUE_CSV_HEADER = ["claim_number", "status", "service_date", "patient", "mrn", "payer", "total_charge", "paid",
                    "age_days", "denial_reason", "assigned_to", "follow_up_on"]


def _users(user):
    return list(User.objects.filter(organization_id=user.organization_id, is_active=True).order_by("last_name", "first_name"))


def _queue(request: HttpRequest, *, denials: bool = False):
    user = request.user
    form = QueueFilterForm(request.GET or None, payers=Payer.objects.filter(organization_id=user.organization_id),
                           users=_users(user))
    cleaned = form.cleaned_data if form.is_valid() else {}
    status = (ClaimStatus.DENIED,) if denials else ((cleaned["status"],) if cleaned.get("status") else ())
    assigned = cleaned.get("assigned_to")
    filters = selectors.ClaimFilters(status=status, payer_id=cleaned.get("payer"),
                                     denial_reason=cleaned.get("denial_reason") or "", age=cleaned.get("age") or "",
                                     age_from=cleaned.get("age_from") or "service",
                                     assigned_to_id=assigned if assigned and assigned > 0 else None,
                                     unassigned=assigned == -1, search=cleaned.get("search") or "")
    return form, selectors.claim_queue(user=user, filters=filters)


def _queue_page(request: HttpRequest, *, denials: bool) -> HttpResponse:
    form, rows = _queue(request, denials=denials)
    if request.GET.get("format") == "csv":
        audit_events(action="claim.exported", actor=request.user, targets=rows, channel=AuditChannel.EXPORT,
                     summary="Included in the claims CSV")
        return csv_response("denials.csv" if denials else "claims.csv", QUEUE_CSV_HEADER, (
            [c.claim_number, c.get_status_display(), c.service_from.isoformat(), c.patient.display_name, c.patient.mrn,
             c.payer.name, f"{c.total_charge:.2f}", f"{c.paid_amount:.2f}", c.age_days, c.denial_reason,
             str(c.assigned_to or ""), c.follow_up_on.isoformat() if c.follow_up_on else ""] for c in rows))
    audit_events(action="claim.listed", actor=request.user, targets=rows,
                 summary="Shown in the denials queue" if denials else "Shown in the claims queue")
    return render(request, "insurance/claims/queue.html", {
        "form": form, "rows": rows, "denials": denials, "query": request.GET.urlencode(),
        "total": sum((c.total_charge for c in rows), 0),
        "reasons": selectors.denial_reasons(user=request.user) if denials else [],
    }, status=400 if form.is_bound and form.errors else 200)


@require_GET
@requires(Perm.CLAIMS_VIEW)
def claim_queue(request: HttpRequest) -> HttpResponse:
    return _queue_page(request, denials=False)


@require_GET
@requires(Perm.CLAIMS_VIEW)
def denial_queue(request: HttpRequest) -> HttpResponse:
    return _queue_page(request, denials=True)


@require_http_methods(["GET", "POST"])
@requires(Perm.CLAIMS_WORK)
def ready_to_bill(request: HttpRequest) -> HttpResponse:
    """Posted encounters not billed yet; POST builds claims for the ticked ones (or all of them)."""
    if request.method == "POST":
        chosen = set(request.POST.getlist("encounter"))
        rows = [r for r in selectors.ready_to_bill(user=request.user)
                if r.coverage and (not chosen or r.encounter.public_id in chosen)]
        built = services.claims_build(actor=request.user, encounters=[r.encounter for r in rows])
        messages.success(request, f"{len(built)} claim{'s' if len(built) != 1 else ''} built.")
        return redirect("insurance:claim_queue")
    rows = selectors.ready_to_bill(user=request.user)
    audit_events(action="encounter.listed", actor=request.user, targets=[r.encounter for r in rows],
                 summary="Shown in the ready-to-bill list")
    return render(request, "insurance/claims/ready.html", {"rows": rows,
                                                           "billable": sum(1 for r in rows if r.coverage)})


def _detail(request: HttpRequest, claim, *, forms=None, status=200) -> HttpResponse:
    audit_event(action="claim.viewed", actor=request.user, target=claim, patient=claim.patient,
                summary=f"Claim {claim.claim_number} opened")
    forms = forms or {}
    user = request.user
    may_work = user.has_perm_code(Perm.CLAIMS_WORK)
    next_statuses = [(s, ClaimStatus(s).label) for s in ClaimStatus.values if s in CLAIM_TRANSITIONS[claim.status]]
    transition = forms.get("transition") or TransitionForm(initial={"to_status": next_statuses[0][0] if next_statuses else ""})
    transition.fields["to_status"].choices = next_statuses
    return render(request, "insurance/claims/detail.html", {
        "claim": claim, "lines": list(claim.lines.all()), "findings": list(claim.findings.all()),
        "events": claim.history, "appeals": _appeal_rows(claim, forms.get("decide")), "balance": selectors.claim_balance(claim),
        "primary_paid": selectors.primary_payments(claim), "may_work": may_work,
        "may_submit": user.has_perm_code(Perm.CLAIMS_SUBMIT), "next_statuses": next_statuses,
        "transition_form": transition,
        "assign_form": forms.get("assign") or AssignForm(users=_users(user), initial={
            "assigned_to": claim.assigned_to_id, "follow_up_on": claim.follow_up_on}),
        "note_form": forms.get("note") or NoteForm(), "correct_form": forms.get("correct") or CorrectForm(),
        "appeal_form": forms.get("appeal") or AppealForm(),
        "can_scrub": claim.status in (ClaimStatus.DRAFT, ClaimStatus.SCRUBBED),
        "can_correct": claim.status in services.SENT_STATUSES,
        "can_appeal": claim.status in (ClaimStatus.DENIED, ClaimStatus.PARTIALLY_PAID, ClaimStatus.PAID),
        "can_resend": claim.status == ClaimStatus.REJECTED,
    }, status=status)


def _appeal_rows(claim, posted: AppealDecideForm | None) -> list[tuple]:
    """Each appeal with its outcome form while it is still open (the posted one, errors and all, for its appeal)."""
    today = timezone.localdate()
    rows = []
    for appeal in claim.appeals.all():
        form = None
        if appeal.status in APPEAL_NEXT:
            form = posted if posted is not None and posted.appeal_pk == appeal.pk else AppealDecideForm(
                appeal=appeal, initial={"appeal": appeal.pk, "on": today})
        rows.append((appeal, form))
    return rows


@require_GET
@requires(Perm.CLAIMS_VIEW)
def claim_detail(request: HttpRequest, claim_id: str) -> HttpResponse:
    return _detail(request, selectors.claim_get(user=request.user, public_id=claim_id))


def _act(request: HttpRequest, claim_id: str, name: str, form, do) -> HttpResponse:
    claim = selectors.claim_get(user=request.user, public_id=claim_id)
    if form.is_valid():
        try:
            result = do(claim, form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, result if isinstance(result, str) else "Saved.")
            return redirect("insurance:claim_detail", claim_id=claim.public_id)
    return _detail(request, selectors.claim_get(user=request.user, public_id=claim_id), forms={name: form}, status=400)


@require_POST
@requires(Perm.CLAIMS_WORK)
def claim_scrub_view(request: HttpRequest, claim_id: str) -> HttpResponse:
    claim = selectors.claim_get(user=request.user, public_id=claim_id)
    try:
        claim = claim_scrub(claim=claim, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if claim.scrub_errors:
            messages.error(request, f"{claim.scrub_errors} error(s) to fix before the claim can be sent.")
        else:
            messages.success(request, "Clean: the claim is ready to send.")
    return redirect("insurance:claim_detail", claim_id=claim.public_id)


@require_POST
@requires(Perm.CLAIMS_WORK)
def claim_transition_view(request: HttpRequest, claim_id: str) -> HttpResponse:
    def do(claim, data):
        services.claim_transition(claim=claim, to_status=data["to_status"], actor=request.user, note=data["note"])
        return f"Claim {claim.claim_number} is now {ClaimStatus(data['to_status']).label.lower()}."
    return _act(request, claim_id, "transition", TransitionForm(request.POST), do)


@require_POST
@requires(Perm.CLAIMS_WORK)
def claim_assign_view(request: HttpRequest, claim_id: str) -> HttpResponse:
    users = _users(request.user)

    def do(claim, data):
        assignee = next((u for u in users if u.pk == data["assigned_to"]), None)
        services.claim_assign(claim=claim, assignee=assignee, actor=request.user, follow_up_on=data["follow_up_on"])
        return "Assignment saved."
    return _act(request, claim_id, "assign", AssignForm(request.POST, users=users), do)


@require_POST
@requires(Perm.CLAIMS_WORK)
def claim_note_view(request: HttpRequest, claim_id: str) -> HttpResponse:
    def do(claim, data):
        services.claim_note_add(claim=claim, text=data["text"], actor=request.user, follow_up_on=data["follow_up_on"])
        return "Note added."
    return _act(request, claim_id, "note", NoteForm(request.POST), do)


@require_POST
@requires(Perm.CLAIMS_WORK)
def claim_correct_view(request: HttpRequest, claim_id: str) -> HttpResponse:
    claim = selectors.claim_get(user=request.user, public_id=claim_id)
    form = CorrectForm(request.POST)
    if form.is_valid():
        try:
            new = services.claim_correct(claim=claim, actor=request.user, frequency=form.cleaned_data["frequency"],
                                         note=form.cleaned_data["note"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Claim {new.claim_number} started from {claim.claim_number}.")
            return redirect("insurance:claim_detail", claim_id=new.public_id)
    return _detail(request, claim, forms={"correct": form}, status=400)


@require_POST
@requires(Perm.CLAIMS_WORK)
def claim_resend_view(request: HttpRequest, claim_id: str) -> HttpResponse:
    claim = selectors.claim_get(user=request.user, public_id=claim_id)
    try:
        services.claim_resubmit(claim=claim, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Back to draft and scrubbed again.")
    return redirect("insurance:claim_detail", claim_id=claim.public_id)


@require_POST
@requires(Perm.CLAIMS_WORK)
def claim_appeal_view(request: HttpRequest, claim_id: str) -> HttpResponse:
    def do(claim, data):
        services.appeal_create(claim=claim, reason=data["reason"], actor=request.user)
        return "Appeal drafted."
    return _act(request, claim_id, "appeal", AppealForm(request.POST), do)


@require_POST
@requires(Perm.CLAIMS_WORK)
def claim_appeal_decide_view(request: HttpRequest, claim_id: str) -> HttpResponse:
    """Record an appeal's outcome: sent (with the date), won, or lost (with the date and the payer's reason)."""
    chosen = request.POST.get("decide-appeal", "")
    appeal = (Appeal.objects.filter(organization_id=request.user.organization_id, claim__public_id=claim_id,
                                    pk=int(chosen)).select_related("claim__patient").first()
              if chosen.isdigit() else None)
    if appeal is None:
        raise Http404("No such appeal of this claim.")

    def do(claim, data):
        services.appeal_decide(appeal=appeal, status=data["status"], actor=request.user, on=data["on"],
                               note=data["note"])
        return f"Appeal {appeal.get_status_display().lower()}."
    return _act(request, claim_id, "decide", AppealDecideForm(request.POST, appeal=appeal), do)


@require_GET
@requires(Perm.CLAIMS_SUBMIT)
def claim_cms1500(request: HttpRequest, claim_id: str) -> HttpResponse:
    """One claim's CMS-1500 to look at (printing it for mailing is the batch print's job)."""
    claim = selectors.claim_get(user=request.user, public_id=claim_id)
    audit_event(action="claim.printed", actor=request.user, target=claim, patient=claim.patient,
                channel=AuditChannel.EXPORT, summary=f"CMS-1500 of claim {claim.claim_number}")
    layout = "plain" if request.GET.get("layout") == "plain" else "red"
    response = HttpResponse(cms1500_pdf([claim], layout=layout), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="cms1500-{claim.claim_number}.pdf"'
    return response


@require_http_methods(["GET", "POST"])
@requires(Perm.CLAIMS_SUBMIT)
def claim_print_batch(request: HttpRequest) -> HttpResponse:
    """Scrubbed claims to paper payers; POST prints them all on CMS-1500s and marks them submitted."""
    rows = selectors.paper_claims_to_print(user=request.user)
    if request.method == "POST":
        if not rows:
            messages.error(request, "No scrubbed paper claims to print.")
            return redirect("insurance:claim_print_batch")
        claims = [selectors.claim_get(user=request.user, public_id=c.public_id) for c in rows]
        pdf = cms1500_pdf(claims, layout="plain" if request.POST.get("layout") == "plain" else "red")
        for claim in claims:
            services.claim_printed(claim=claim, actor=request.user)
        audit_events(action="claim.printed", actor=request.user, targets=claims, channel=AuditChannel.EXPORT,
                     summary="Printed on a CMS-1500 for mailing")
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="cms1500-batch.pdf"'
        return response
    audit_events(action="claim.listed", actor=request.user, targets=rows, summary="Shown in the paper claims list")
    return render(request, "insurance/claims/print.html", {"rows": rows, "back": reverse("insurance:claim_queue")})
