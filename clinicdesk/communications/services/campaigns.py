"""Bulk campaigns: one template to a filtered list of patients, at a throttled pace, with an unsubscribe
link in every message and a report of what became of each one.

Starting a campaign only marks it running and queues a background run; the run queues the messages in
chunks (so a practice of 50,000 patients does not hold one request or one transaction), spacing their
send times `60 / per_minute` seconds apart, and the campaign page shows its progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.choices import AdministrativeSex, ConsentStatus, PatientStatus
from clinicdesk.patients.models import CommunicationConsent, Patient
from clinicdesk.scheduling.choices import LIVE_STATUSES, AppointmentStatus
from clinicdesk.scheduling.models import Appointment, AppointmentType

from ..choices import CampaignStatus, LinkAction, MessageChannel, MessagePurpose, MessageState, TemplateKind
from ..links import link_attach, unsubscribe_link_issue
from ..merge import merge_context
from ..models import Campaign, Message, MessageEvent, MessageTemplate
from ..rendering import render, template_fields
from .outbox import message_queue

CHUNK = 200
# The filters a campaign may use, with what each means; anything else is refused by name.
FILTERS = {
    "age_min": "Age at least (years)",
    "age_max": "Age at most (years)",
    "sex": "Administrative sex",
    "seen_since": "Seen on or after (date)",
    "not_seen_since": "Not seen since (date)",
    "visit_type": "Had a visit of this type (code)",
    "no_upcoming": "No upcoming appointment",
}


@dataclass(frozen=True)
class CampaignProgress:
    audience: int
    queued: int
    by_state: dict[str, int]

    @property
    def percent(self) -> int:
        return 100 if not self.audience else min(100, round(100 * self.queued / self.audience))


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def campaign_filters_clean(*, organization, filters: dict) -> dict:
    """The filters with their values checked and typed; a ValidationError names each bad one."""
    errors: dict[str, str] = {}
    clean: dict = {}
    for name, value in (filters or {}).items():
        if value in (None, "", False):
            continue
        if name not in FILTERS:
            errors[name] = f"Unknown filter '{name}'."
        elif name in ("age_min", "age_max"):
            try:
                clean[name] = int(value)
                if not 0 <= clean[name] <= 130:
                    raise ValueError
            except (TypeError, ValueError):
                errors[name] = "An age between 0 and 130."
        elif name == "sex":
            if value not in AdministrativeSex.values:
                errors[name] = f"One of: {', '.join(AdministrativeSex.values)}."
            clean[name] = value
        elif name in ("seen_since", "not_seen_since"):
            try:
                clean[name] = date.fromisoformat(str(value)).isoformat()
            except ValueError:
                errors[name] = "A date like 2026-01-31."
        elif name == "visit_type":
            if not AppointmentType.objects.filter(organization=organization, code=value).exists():
                errors[name] = f"No appointment type with code '{value}'."
            clean[name] = value
        elif name == "no_upcoming":
            clean[name] = True
    if "age_min" in clean and "age_max" in clean and clean["age_min"] > clean["age_max"]:
        errors["age_max"] = "The highest age is below the lowest."
    if errors:
        raise ValidationError(errors)
    return clean


def campaign_audience(*, organization, filters: dict, today: date | None = None) -> QuerySet[Patient]:
    """Active patients of the practice that match the (cleaned) filters."""
    today = today or timezone.localdate()
    patients = Patient.objects.filter(organization=organization, status=PatientStatus.ACTIVE, merged_into__isnull=True)
    if "age_min" in filters:
        patients = patients.filter(date_of_birth__lte=_years_ago(today, filters["age_min"]))
    if "age_max" in filters:
        patients = patients.filter(date_of_birth__gt=_years_ago(today, filters["age_max"] + 1))
    if "sex" in filters:
        patients = patients.filter(sex=filters["sex"])
    visits = Appointment.objects.filter(patient=OuterRef("pk"), status=AppointmentStatus.COMPLETED)
    if "seen_since" in filters:
        patients = patients.filter(Exists(visits.filter(starts_at__date__gte=filters["seen_since"])))
    if "not_seen_since" in filters:
        patients = patients.exclude(Exists(visits.filter(starts_at__date__gte=filters["not_seen_since"])))
    if "visit_type" in filters:
        patients = patients.filter(Exists(visits.filter(appointment_type__code=filters["visit_type"])))
    if filters.get("no_upcoming"):
        upcoming = Appointment.objects.filter(patient=OuterRef("pk"), status__in=LIVE_STATUSES, starts_at__gt=timezone.now())
        patients = patients.exclude(Exists(upcoming))
    return patients.order_by("pk")


def _check_template(template: MessageTemplate, channel: str, organization) -> dict[str, str]:
    if template.organization_id != organization.pk:
        return {"template": "No such template."}
    if template.current_id is None:
        return {"template": "The template has no saved wording yet."}
    wanted = TemplateKind.EMAIL if channel == MessageChannel.EMAIL else TemplateKind.SMS
    if template.kind != wanted:
        return {"template": f"A {MessageChannel(channel).label.lower()} campaign needs a {wanted.label.lower()} template."}
    body = template.current.body
    if channel == MessageChannel.EMAIL and "links.unsubscribe_url" not in template_fields(body):
        return {"template": "A campaign e-mail must carry the unsubscribe link ({{ links.unsubscribe_url }})."}
    if channel == MessageChannel.SMS and "STOP" not in body.upper():
        return {"template": "A campaign text must say how to opt out (for example 'Reply STOP to opt out')."}
    return {}


@transaction.atomic
def campaign_create(*, actor, name: str, channel: str, template: MessageTemplate, filters: dict,
                    per_minute: int = 60) -> Campaign:
    """A draft campaign; nothing is sent until it is started."""
    organization = actor.organization
    errors: dict[str, str] = {}
    if channel not in MessageChannel.values:
        errors["channel"] = f"Choose one of: {', '.join(MessageChannel.values)}."
    else:
        errors |= _check_template(template, channel, organization)
    try:
        filters = campaign_filters_clean(organization=organization, filters=filters)
    except ValidationError as exc:
        errors |= {f"filters.{k}" if k in FILTERS else k: v[0] for k, v in exc.message_dict.items()}
    if errors:
        raise ValidationError(errors)
    campaign = Campaign(organization=organization, name=name, channel=channel, template=template, filters=filters,
                        per_minute=per_minute, created_by=actor)
    full_clean_or_raise(campaign)
    campaign.save()
    audit_event(action="campaign.created", actor=actor, target=campaign, summary=f"{name} ({channel})")
    return campaign


@transaction.atomic
def campaign_start(*, actor, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Mark the campaign running and hand the queuing to a background run (its page shows the progress)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.organization_id != actor.organization_id:
        raise ValidationError({"campaign": "No such campaign."})
    if campaign.status != CampaignStatus.DRAFT:
        raise ValidationError({"campaign": f"A campaign that is {campaign.get_status_display().lower()} cannot start."})
    if errors := _check_template(campaign.template, campaign.channel, campaign.organization):
        raise ValidationError(errors)
    campaign.status = CampaignStatus.RUNNING
    campaign.started_at = now or timezone.now()
    campaign.recipients = campaign_audience(organization=campaign.organization, filters=campaign.filters).count()
    campaign.save(update_fields=["status", "started_at", "recipients", "updated_at"])
    audit_event(action="campaign.started", actor=actor, target=campaign, summary=f"{campaign.recipients} recipients")
    transaction.on_commit(lambda: _enqueue_run(campaign.pk))
    return campaign


def _enqueue_run(campaign_id: int) -> None:
    from ..tasks import campaign_run

    campaign_run.enqueue(campaign_id=campaign_id)


def campaign_queue_messages(*, campaign_id: int) -> int:
    """The background run: queue one message per patient of the audience, in chunks, spaced by the pace.
    Safe to run again after a crash: each message's key names the campaign and the patient."""
    campaign = Campaign.objects.select_related("organization", "template__current", "template").get(pk=campaign_id)
    if campaign.status != CampaignStatus.RUNNING:
        return 0
    version = campaign.template.current
    gap = timedelta(seconds=60 / campaign.per_minute)
    start = max(campaign.started_at, timezone.now())
    patients = campaign_audience(organization=campaign.organization, filters=campaign.filters)
    made = Message.objects.filter(campaign=campaign).count()
    queued = suppressed = 0
    last_pk = 0
    while True:
        chunk = list(patients.filter(pk__gt=last_pk)[:CHUNK])
        if not chunk:
            break
        last_pk = chunk[-1].pk
        with transaction.atomic():
            for patient in chunk:
                key = f"campaign:{campaign.pk}:{patient.pk}"
                if Message.objects.filter(idempotency_key=key).exists():
                    continue
                link, unsubscribe_url = unsubscribe_link_issue(organization=campaign.organization, patient=patient)
                context = merge_context(organization=campaign.organization, patient=patient,
                                        links={"unsubscribe_url": unsubscribe_url})
                rendered = render(version, context, kind=version.template.kind)
                message = message_queue(
                    organization=campaign.organization, patient=patient, channel=campaign.channel,
                    purpose=MessagePurpose.CAMPAIGN, subject=rendered.subject, body=rendered.text,
                    html_body=rendered.html, template_version=version, campaign=campaign, idempotency_key=key,
                    send_after=start + gap * made,
                )
                link_attach(link, message)
                made += 1
                if message.state == MessageState.SUPPRESSED:
                    suppressed += 1
                else:
                    queued += 1
            Campaign.objects.filter(pk=campaign.pk).update(suppressed=Message.objects.filter(
                campaign=campaign, state=MessageState.SUPPRESSED).count(), updated_at=timezone.now())
    return queued + suppressed


def campaign_progress(*, campaign: Campaign) -> CampaignProgress:
    """How far the run got and what became of the messages, by state."""
    by_state = dict(Message.objects.filter(campaign=campaign).order_by().values_list("state").annotate(n=Count("pk")))
    return CampaignProgress(audience=campaign.recipients, queued=sum(by_state.values()), by_state=by_state)


def campaign_refresh(*, campaign: Campaign) -> Campaign:
    """A running campaign whose every message is queued and none waits any more is done."""
    if campaign.status != CampaignStatus.RUNNING:
        return campaign
    progress = campaign_progress(campaign=campaign)
    waiting = progress.by_state.get(MessageState.QUEUED, 0) + progress.by_state.get(MessageState.SENDING, 0)
    if progress.queued >= progress.audience and not waiting:
        campaign.status = CampaignStatus.DONE
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at", "updated_at"])
    return campaign


@transaction.atomic
def campaign_cancel(*, actor, campaign: Campaign) -> int:
    """Stop a campaign: its messages still waiting are kept as not sent, with the reason. Returns how many."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.organization_id != actor.organization_id:
        raise ValidationError({"campaign": "No such campaign."})
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.RUNNING):
        raise ValidationError({"campaign": f"A campaign that is {campaign.get_status_display().lower()} cannot be cancelled."})
    waiting = list(Message.objects.select_for_update().filter(campaign=campaign, state=MessageState.QUEUED))
    reason = f"Campaign cancelled by {actor.get_full_name() or actor.get_username()}."
    Message.objects.filter(pk__in=[m.pk for m in waiting]).update(state=MessageState.SUPPRESSED, reason=reason,
                                                                  updated_at=timezone.now())
    MessageEvent.objects.bulk_create([MessageEvent(message=m, state=MessageState.SUPPRESSED, detail=reason) for m in waiting])
    campaign.status = CampaignStatus.CANCELLED
    campaign.finished_at = timezone.now()
    campaign.save(update_fields=["status", "finished_at", "updated_at"])
    audit_event(action="campaign.cancelled", actor=actor, target=campaign, summary=f"{len(waiting)} messages not sent")
    return len(waiting)


@transaction.atomic
def unsubscribe(*, token: str) -> CommunicationConsent:
    """The patient's click on an unsubscribe link: that channel is opted out at once."""
    from ..links import link_use

    link = link_use(token, action=LinkAction.UNSUBSCRIBE)
    channel = link.message.channel if link.message_id else MessageChannel.EMAIL
    consent, _ = CommunicationConsent.objects.get_or_create(patient=link.patient, channel=channel,
                                                            defaults={"status": ConsentStatus.OPTED_OUT})
    consent.status = ConsentStatus.OPTED_OUT
    consent.opted_out_at = timezone.now()
    consent.source = "Unsubscribe link"
    consent.save(update_fields=["status", "opted_out_at", "source", "updated_at"])
    audit_event(action="consent.unsubscribed", actor=None, target=consent, patient=link.patient,
                organization_id=link.organization_id, summary=f"Unsubscribed from {channel} by link")
    return consent


