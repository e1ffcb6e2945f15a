"""Campaign pages: the list, a new campaign with its audience counted before anything is sent, the running
campaign's progress and report, recall messages for the recalls list, and the unsubscribe link."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from ..campaign_forms import CampaignForm
from ..choices import MessageState
from ..models import ActionLink, Campaign, Message
from ..services import campaigns as services
from ..services.reminders import recalls_due_for_messages, recalls_remind

PAGE_SIZE = 50


def _campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    campaign = Campaign.objects.select_related("template", "created_by").filter(
        pk=campaign_id, organization_id=request.user.organization_id).first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


@requires(Perm.CAMPAIGNS_MANAGE)
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.filter(organization_id=request.user.organization_id).select_related("template")
    if request.GET.get("format") == "csv":
        return csv_response("campaigns.csv", ["Name", "Channel", "Template", "Status", "Recipients", "Not sent", "Started", "Finished"],
                            ([c.name, c.get_channel_display(), c.template.name, c.get_status_display(), c.recipients,
                              c.suppressed, c.started_at, c.finished_at] for c in campaigns.iterator()))
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    recalls = recalls_due_for_messages(actor=request.user).count()
    return render(request, "communications/campaigns.html", {"page": page, "recalls_due": recalls})


@requires(Perm.CAMPAIGNS_MANAGE)
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    organization = request.user.organization
    form = CampaignForm(request.POST or None, organization=organization)
    audience = None
    if request.method == "POST" and form.is_valid():
        filters = form.filters()
        try:
            if "count" in request.POST:
                clean = services.campaign_filters_clean(organization=organization, filters=filters)
                audience = services.campaign_audience(organization=organization, filters=clean).count()
            else:
                campaign = services.campaign_create(
                    actor=request.user, name=form.cleaned_data["name"], channel=form.cleaned_data["channel"],
                    template=form.cleaned_data["template"], filters=filters, per_minute=form.cleaned_data["per_minute"])
                messages.success(request, "Campaign saved as a draft. Check the audience, then start it.")
                return redirect("communications:campaign_detail", campaign.pk)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                name = field.removeprefix("filters.")
                form.add_error(name if name in form.fields else None, errors)
    return render(request, "communications/campaign_form.html", {"form": form, "audience": audience},
                  status=400 if form.errors else 200)


@requires(Perm.CAMPAIGNS_MANAGE)
@require_GET
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = services.campaign_refresh(campaign=_campaign(request, campaign_id))
    progress = services.campaign_progress(campaign=campaign)
    state_rows = [(label, progress.by_state.get(value, 0)) for value, label in MessageState.choices]
    context = {"campaign": campaign, "progress": progress, "state_rows": state_rows,
               "audience": services.campaign_audience(organization=campaign.organization, filters=campaign.filters).count()
               if campaign.status == "draft" else campaign.recipients}
    template = "communications/campaign_progress.html" if request.headers.get("HX-Request") else "communications/campaign_detail.html"
    return render(request, template, context)


@requires(Perm.CAMPAIGNS_MANAGE)
@require_GET
def campaign_report(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Every message of the campaign with what became of it (CSV); each patient listed is audited."""
    campaign = _campaign(request, campaign_id)
    rows = list(Message.objects.filter(campaign=campaign).select_related("patient").order_by("pk"))
    audit_events(action="patient.exported", actor=request.user, targets=[m.patient for m in rows if m.patient],
                 channel=AuditChannel.EXPORT, summary=f"Included in campaign report '{campaign.name}'")
    return csv_response(f"campaign-{campaign.pk}.csv", ["Patient", "MRN", "Address", "State", "Reason", "Sent", "Delivered"],
                        ([m.patient.display_name if m.patient else "", m.patient.mrn if m.patient else "", m.to_address,
                          m.get_state_display(), m.reason, m.sent_at, m.delivered_at] for m in rows))


@requires(Perm.CAMPAIGNS_MANAGE)
@require_POST
def campaign_start(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    try:
        campaign = services.campaign_start(actor=request.user, campaign=campaign)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Sending to {campaign.recipients} patients at {campaign.per_minute} a minute.")
    return redirect("communications:campaign_detail", campaign.pk)


@requires(Perm.CAMPAIGNS_MANAGE)
@require_POST
def campaign_cancel(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    try:
        stopped = services.campaign_cancel(actor=request.user, campaign=campaign)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Campaign cancelled; {stopped} messages will not be sent.")
    return redirect("communications:campaign_detail", campaign.pk)


@requires(Perm.CAMPAIGNS_MANAGE, Perm.RECALLS)
@require_POST
def recalls_send(request: HttpRequest) -> HttpResponse:
    """Send every due recall that has not been contacted its recall message (or a call task)."""
    sent, calls = recalls_remind(actor=request.user, recalls=recalls_due_for_messages(actor=request.user))
    messages.success(request, f"Recall messages queued for {sent} patients; {calls} call tasks for the front desk.")
    return redirect("communications:campaigns")


def unsubscribe_link(request: HttpRequest, link: ActionLink, token: str) -> HttpResponse:
    """The unsubscribe link in a campaign message: GET asks, POST opts the patient out of that channel."""
    channel = link.message.get_channel_display().lower() if link.message_id else "e-mail"
    practice = link.organization.name
    if request.method == "POST":
        try:
            services.unsubscribe(token=token)
        except ValidationError as exc:
            return render(request, "communications/link_problem.html", {"problem": " ".join(exc.messages)}, status=410)
        return render(request, "communications/unsubscribe.html", {"done": True, "channel": channel, "practice": practice})
    return render(request, "communications/unsubscribe.html", {"channel": channel, "practice": practice})
