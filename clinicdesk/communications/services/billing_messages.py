"""Messages about bills: "your statement is ready" and balance reminders with a pay link.

Billing (a higher layer) calls these with its own statement and payment pages; communications owns the
wording (templates `statement-ready-email`, `balance-reminder-sms`, `balance-reminder-email`), consent,
quiet hours and delivery.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicdesk.core.money import format_money

from ..choices import MessageChannel, MessagePurpose
from ..links import link_attach, unsubscribe_link_issue
from ..merge import format_date, merge_context
from ..models import Message
from ..rendering import render
from .outbox import message_queue
from .reminders import written_channel_for
from .templates import template_current

BILL_KINDS = {"statement": MessagePurpose.STATEMENT, "balance": MessagePurpose.BALANCE}


def bill_message_queue(
    *, actor, patient, kind: str, amount: Decimal, reference: str, pay_url: str, statement_url: str = "",
    due_date: date | None = None, channel: str | None = None,
) -> Message | None:
    """Tell a patient (or their guarantor's address on file) that a statement is ready or a balance is due.

    `reference` names the statement or reminder run, so the same bill is never announced twice. Returns None
    when the patient has no written channel (billing then prints the statement instead).
    """
    if kind not in BILL_KINDS:
        raise ValidationError({"kind": f"Unknown bill message '{kind}'; use statement or balance."})
    if not isinstance(amount, Decimal):
        raise ValidationError({"amount": "The amount must be a Decimal."})
    if amount <= 0:
        raise ValidationError({"amount": "Only a balance above zero is announced."})
    channel = channel or written_channel_for(patient)
    if channel is None:
        return None
    if kind == "statement" and channel != MessageChannel.EMAIL:
        # A statement holds line items; only its arrival is announced, and only by e-mail.
        channel = MessageChannel.EMAIL
    code = "statement-ready-email" if kind == "statement" else f"balance-reminder-{channel}"
    version = template_current(organization=patient.organization, code=code)
    link, unsubscribe_url = unsubscribe_link_issue(organization=patient.organization, patient=patient)
    links = {"pay_url": pay_url, "unsubscribe_url": unsubscribe_url}
    if statement_url:
        links["statement_url"] = statement_url
    balance = {"amount_due": format_money(amount), "due_date": format_date(due_date) if due_date else ""}
    if kind == "statement":
        balance["statement_date"] = format_date(timezone.localdate())
    context = merge_context(organization=patient.organization, patient=patient, links=links, extra={"balance": balance})
    rendered = render(version, context, kind=version.template.kind)
    message = message_queue(
        organization=patient.organization, patient=patient, channel=channel, purpose=BILL_KINDS[kind],
        subject=rendered.subject, body=rendered.text, html_body=rendered.html, template_version=version,
        idempotency_key=f"bill:{kind}:{reference}:{channel}", actor=actor,
    )
    link_attach(link, message)
    return message
