"""The pages behind the confirm, cancel and reschedule links of a reminder (served by views.links.link_page,
which finds the live link and throttles guessing). GET shows the appointment and a button; only POST acts.

A patient sees the date, time, place, provider and the type's name, never notes or a reason for the visit.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinicdesk.scheduling.choices import AppointmentStatus

from ..choices import LinkAction
from ..models import ActionLink
from ..services import links as services

HEADINGS = {
    LinkAction.CONFIRM: "Confirm your appointment",
    LinkAction.CANCEL: "Cancel your appointment",
    LinkAction.RESCHEDULE: "Choose a new time",
}


def _context(link: ActionLink, **more) -> dict:
    appointment = link.appointment
    context = {"link_action": link.action, "heading": HEADINGS.get(link.action, "Your appointment")}
    if appointment is not None:
        location = appointment.location
        context |= {
            "practice": appointment.organization.name,
            "location": location,
            "when": services.when_text(appointment),
            "provider": str(appointment.provider),
            "visit": appointment.appointment_type.name,
        }
    return context | more


def _page(request: HttpRequest, link: ActionLink, *, status: int = 200, **more) -> HttpResponse:
    return render(request, "communications/link_appointment.html", _context(link, **more), status=status)


def _done(request: HttpRequest, link: ActionLink, outcome: services.LinkOutcome) -> HttpResponse:
    link.appointment = outcome.appointment
    return render(request, "communications/link_done.html", _context(link, message=outcome.message))


def _fresh(link: ActionLink) -> ActionLink:
    """The link and its appointment as they are now (the refused act was rolled back; staff may have acted)."""
    return ActionLink.objects.select_related(
        "appointment", "appointment__location", "appointment__provider", "appointment__appointment_type",
        "appointment__organization",
    ).get(pk=link.pk)


def _refused(request: HttpRequest, link: ActionLink, exc: ValidationError) -> HttpResponse:
    """The act was refused: why, in the patient's words (410 when the link itself is spent)."""
    errors = exc.message_dict
    spent = "token" in errors
    message = " ".join(errors.get("token") or errors.get("appointment") or exc.messages)
    if spent:
        message += " Please call the office if you need help."
    return _page(request, _fresh(link), status=410 if spent else 409, problem=message)


def _act(request: HttpRequest, link: ActionLink, token: str, service) -> HttpResponse:
    if request.method != "POST":
        return _page(request, link, problem=services.appointment_state_problem(link))
    try:
        outcome = service(token=token)
    except ValidationError as exc:
        return _refused(request, link, exc)
    return _done(request, link, outcome)


def confirm_link(request: HttpRequest, link: ActionLink, token: str) -> HttpResponse:
    return _act(request, link, token, services.appointment_link_confirm)


def cancel_link(request: HttpRequest, link: ActionLink, token: str) -> HttpResponse:
    return _act(request, link, token, services.appointment_link_cancel)


def _slot_choices(link: ActionLink) -> list[dict]:
    return [{"value": slot.starts_at.isoformat(), "label": services.when_text(link.appointment, slot.starts_at)}
            for slot in services.reschedule_times(link=link)]


def _reschedule_page(request: HttpRequest, link: ActionLink, *, status: int = 200, **more) -> HttpResponse:
    problem = more.pop("problem", None) or services.appointment_state_problem(link)
    times = [] if problem else _slot_choices(link)
    return _page(request, link, status=status, problem=problem, times=times, **more)


def reschedule_link(request: HttpRequest, link: ActionLink, token: str) -> HttpResponse:
    if request.method != "POST":
        return _reschedule_page(request, link)
    problem = services.appointment_state_problem(link)
    if problem:
        return _page(request, link, status=409, problem=problem)
    if "call_me" in request.POST:
        try:
            outcome = services.appointment_link_call_me(token=token)
        except ValidationError as exc:
            return _refused(request, link, exc)
        return _done(request, link, outcome)
    raw = request.POST.get("starts_at", "")
    try:
        starts_at = datetime.fromisoformat(raw) if raw else None
    except ValueError:
        starts_at = None
    if starts_at is None:
        return _reschedule_page(request, link, status=400, choose_error="Choose one of the times offered.")
    try:
        outcome = services.appointment_link_reschedule(token=token, starts_at=starts_at)
    except ValidationError as exc:
        errors = exc.message_dict
        if "token" in errors or "appointment" in errors:
            return _refused(request, link, exc)
        return _reschedule_page(request, _fresh(link), status=409,
                                choose_error=" ".join(errors.get("starts_at") or exc.messages))
    return _done(request, link, outcome)


def spent_link(request: HttpRequest, link: ActionLink) -> HttpResponse | None:
    """A used or expired appointment link: say what became of the appointment, or None for the plain page."""
    appointment = link.appointment
    if appointment is None:
        return None
    when = services.when_text(appointment)
    message = None
    if appointment.status == AppointmentStatus.CANCELLED:
        message = "This appointment was cancelled. Please call the office if you would like a new time."
    elif link.used_at is None:
        return None  # expired before use: the plain "expired" page
    elif link.action == LinkAction.CONFIRM and appointment.status == AppointmentStatus.CONFIRMED:
        message = f"Your appointment on {when} is already confirmed. Thank you."
    elif link.action == LinkAction.RESCHEDULE:
        message = f"This link was already used. Your appointment is on {when}."
    if message is None:
        return None
    return render(request, "communications/link_done.html", _context(link, message=message))
