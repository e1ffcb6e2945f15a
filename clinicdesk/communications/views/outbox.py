"""The outbox page: every message the practice sent or tried to send, with its state and history."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from ..choices import MessageChannel, MessagePurpose, MessageState
from ..selectors import outbox as selectors
from ..services.delivery import message_cancel, message_send_again

PAGE_SIZE = 50
EXPORT_MAX_ROWS = 10_000


class OutboxFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "Every state"), *MessageState.choices], required=False)
    channel = forms.ChoiceField(choices=[("", "Every channel"), *MessageChannel.choices], required=False)
    purpose = forms.ChoiceField(choices=[("", "Every purpose"), *MessagePurpose.choices], required=False)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    patient_query = forms.CharField(label="Patient or address", required=False, max_length=100)


def _filters(request: HttpRequest) -> tuple[OutboxFilterForm, dict | None]:
    form = OutboxFilterForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}


def _form_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@require_GET
@requires(Perm.MESSAGES_VIEW)
def outbox_list(request: HttpRequest) -> HttpResponse:
    """The outbox, newest first, with counts per state; every message shown is an audited read."""
    form, filters = _filters(request)
    status, rows, counts = 400, [], {}
    if filters is not None:
        try:
            rows = selectors.outbox_list(actor=request.user, **filters)
            counts = selectors.outbox_counts(actor=request.user, **filters)
            status = 200
        except ValidationError as exc:
            _form_errors(form, exc)
            status, rows = 400, []
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    shown = list(page.object_list)
    audit_events(action="message.listed", actor=request.user, targets=shown, summary="Outbox page")
    state_query = request.GET.copy()
    state_query.pop("page", None)
    state_query.pop("state", None)
    return render(request, "communications/outbox.html", {
        "form": form, "page": page, "messages_shown": shown, "query": query.urlencode(),
        "state_query": state_query.urlencode(),
        "counts": [(value, label, counts.get(value, 0)) for value, label in MessageState.choices] if counts else [],
        "gateway_phone": settings.SMS_LOCAL_GATEWAY and request.user.has_perm_code(Perm.MESSAGES_SEND),
    }, status=status)


@require_GET
@requires(Perm.MESSAGES_VIEW)
def outbox_export(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    if filters is None:
        return render(request, "communications/outbox.html", {"form": form, "page": None}, status=400)
    try:
        rows = list(selectors.outbox_list(actor=request.user, **filters)[: EXPORT_MAX_ROWS + 1])
    except ValidationError as exc:
        _form_errors(form, exc)
        return render(request, "communications/outbox.html", {"form": form, "page": None}, status=400)
    if len(rows) > EXPORT_MAX_ROWS:
        messages.error(request, f"That is more than {EXPORT_MAX_ROWS:,} messages; narrow the list before exporting.")
        return redirect(f"{reverse('communications:outbox')}?{request.GET.urlencode()}")
    audit_events(action="message.exported", actor=request.user, targets=rows, channel=AuditChannel.EXPORT,
                 summary="Included in an outbox CSV")
    header = ["message", "created", "channel", "purpose", "state", "MRN", "patient", "to", "subject", "attempts",
              "sent", "delivered", "provider id", "reason"]
    return csv_response("outbox.csv", header, (
        [m.public_id, m.created_at.isoformat(), m.get_channel_display(), m.get_purpose_display(), m.get_state_display(),
         m.patient.mrn if m.patient else "", m.patient.display_name if m.patient else "", m.to_address, m.subject,
         m.attempts, m.sent_at.isoformat() if m.sent_at else "", m.delivered_at.isoformat() if m.delivered_at else "",
         m.provider_message_id, m.reason]
        for m in rows
    ))


@require_GET
@requires(Perm.MESSAGES_VIEW)
def outbox_detail(request: HttpRequest, message_id: str) -> HttpResponse:
    message = selectors.outbox_message(actor=request.user, public_id=message_id)
    audit_event(action="message.viewed", actor=request.user, target=message, patient=message.patient,
                summary=message.get_purpose_display())
    can_send = request.user.has_perm_code(Perm.MESSAGES_SEND)
    return render(request, "communications/outbox_detail.html", {
        "message": message, "events": list(message.events.all()),
        "sent_again_as": selectors.outbox_sent_again_as(message=message),
        "can_send_again": can_send and message.state in (MessageState.FAILED, MessageState.BOUNCED),
        "can_cancel": can_send and message.state == MessageState.QUEUED,
    })


@require_GET
@requires(Perm.MESSAGES_VIEW)
def outbox_attachment(request: HttpRequest, message_id: str, attachment_id: int) -> FileResponse:
    """A file a message carries, always as a download (never shown inline); the opening is audited."""
    attachment = selectors.outbox_attachment(actor=request.user, public_id=message_id, attachment_id=attachment_id)
    message = attachment.message
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file is missing from storage.") from exc
    audit_event(action="message.attachment_opened", actor=request.user, target=message, patient=message.patient,
                summary=f"Opened attachment '{attachment.filename}'"[:300])
    response = FileResponse(handle, content_type=attachment.content_type, as_attachment=True,
                            filename=attachment.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _act(request: HttpRequest, message_id: str, act) -> HttpResponse:
    message = selectors.outbox_message(actor=request.user, public_id=message_id)
    try:
        text = act(message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, text)
    return redirect("communications:outbox_detail", message_id=message.public_id)


@require_POST
@requires(Perm.MESSAGES_SEND)
def outbox_send_again(request: HttpRequest, message_id: str) -> HttpResponse:
    def act(message):
        again = message_send_again(message=message, actor=request.user)
        return f"Queued again as message {again.public_id}."
    return _act(request, message_id, act)


@require_POST
@requires(Perm.MESSAGES_SEND)
def outbox_cancel(request: HttpRequest, message_id: str) -> HttpResponse:
    def act(message):
        message_cancel(message=message, actor=request.user)
        return "The message will not be sent."
    return _act(request, message_id, act)
