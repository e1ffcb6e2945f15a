"""Reads of the outbox, always scoped to the acting user's practice."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from clinicdesk.core.models import User

from ..choices import MessageChannel, MessagePurpose, MessageState
from ..models import Message, MessageAttachment


def outbox_scope(*, actor: User) -> QuerySet[Message]:
    """Every message of the actor's practice."""
    return Message.objects.filter(organization_id=actor.organization_id)


def _filtered(*, actor: User, channel: str, purpose: str, date_from: date | None, date_to: date | None,
              patient_query: str) -> QuerySet[Message]:
    errors = {}
    if channel and channel not in MessageChannel.values:
        errors["channel"] = f"Unknown channel '{channel}'; use one of: {', '.join(MessageChannel.values)}."
    if purpose and purpose not in MessagePurpose.values:
        errors["purpose"] = f"Unknown purpose '{purpose}'; use one of: {', '.join(MessagePurpose.values)}."
    if date_from and date_to and date_from > date_to:
        errors["date_to"] = "The end of the period is before its start."
    if errors:
        raise ValidationError(errors)
    qs = outbox_scope(actor=actor)
    if channel:
        qs = qs.filter(channel=channel)
    if purpose:
        qs = qs.filter(purpose=purpose)
    tz = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        qs = qs.filter(created_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz))
    if query := patient_query.strip():
        qs = qs.filter(Q(patient__last_name__istartswith=query) | Q(patient__first_name__istartswith=query)
                       | Q(patient__mrn__iexact=query) | Q(to_address__icontains=query))
    return qs


def outbox_list(*, actor: User, state: str = "", channel: str = "", purpose: str = "", date_from: date | None = None,
                date_to: date | None = None, patient_query: str = "") -> QuerySet[Message]:
    """The outbox, newest first, filtered; bad filter values raise ValidationError naming the field."""
    if state and state not in MessageState.values:
        raise ValidationError({"state": f"Unknown state '{state}'; use one of: {', '.join(MessageState.values)}."})
    qs = _filtered(actor=actor, channel=channel, purpose=purpose, date_from=date_from, date_to=date_to,
                   patient_query=patient_query)
    if state:
        qs = qs.filter(state=state)
    return qs.select_related("patient").order_by("-created_at", "-id")


def outbox_counts(*, actor: User, channel: str = "", purpose: str = "", date_from: date | None = None,
                  date_to: date | None = None, patient_query: str = "", **_ignored) -> dict[str, int]:
    """How many messages are in each state under the same filters (the state filter aside), every state listed."""
    rows = (_filtered(actor=actor, channel=channel, purpose=purpose, date_from=date_from, date_to=date_to,
                      patient_query=patient_query).order_by().values_list("state").annotate(n=Count("id")))
    counts = dict.fromkeys(MessageState.values, 0)
    counts.update(dict(rows))
    return counts


def outbox_message(*, actor: User, public_id: str) -> Message:
    """One message of the actor's practice with its events and attachments (404 for any other)."""
    message = (outbox_scope(actor=actor).select_related("patient", "location", "created_by")
               .prefetch_related("events", "attachments").filter(public_id=public_id).first())
    if message is None:
        raise Http404("No such message.")
    return message


def outbox_attachment(*, actor: User, public_id: str, attachment_id: int) -> MessageAttachment:
    """One attachment of a message of the actor's practice, with its message and patient (404 for any other)."""
    attachment = (MessageAttachment.objects.select_related("message__patient")
                  .filter(pk=attachment_id, message__public_id=public_id,
                          message__organization_id=actor.organization_id).first())
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment


def outbox_sent_again_as(*, message: Message) -> list[Message]:
    """The messages that sent this failed one again, oldest first."""
    return list(Message.objects.filter(organization_id=message.organization_id,
                                       idempotency_key__startswith=f"again:{message.public_id}:").order_by("created_at"))
