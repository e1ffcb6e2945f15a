"""Letter pages: the practice's letters (and CSV), the composer (template and patient, then edit the draft with a
preview), finalize, print, e-mail a secure link; letterheads and signatures; and the patient's side of the
secure link (date of birth first, then the PDF)."""

from __future__ import annotations

import zoneinfo
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.models import User
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.pick import PickPage, patient_pick_step
from clinicdesk.patients.selectors.records import patient_for_change
from clinicdesk.scheduling.models import Appointment

from ..letter_forms import (
    LetterEditForm,
    LetterFilterForm,
    LetterheadForm,
    LetterStartForm,
    SignatureForm,
)
from ..models import ActionLink
from ..rendering import sanitize_html
from ..selectors import letters as selectors
from ..selectors.templates import letter_templates
from ..services import letters as services

EXPORT_MAX_ROWS = 10_000


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _pdf(data: bytes, filename: str, *, inline: bool = True) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _local(moment, tz_name: str):
    return timezone.localtime(moment, zoneinfo.ZoneInfo(tz_name)) if moment else None


# --- the letters list ---------------------------------------------------------------------------------------------


@require_GET
@requires(Perm.LETTERS_WRITE)
def letter_list(request: HttpRequest) -> HttpResponse:
    """Letters of the practice with filters; each letter shown is a read of its patient's record (audited)."""
    templates = list(letter_templates(actor=request.user))
    form = LetterFilterForm(request.GET or None, templates=templates)
    rows = selectors.letter_scope(actor=request.user).none()
    status = 200
    if not form.is_bound or form.is_valid():
        filters = form.cleaned_data if form.is_bound else {}
        rows = selectors.letter_list(actor=request.user, status=filters.get("status", ""), q=filters.get("q", ""),
                                     template_code=filters.get("template", ""), date_from=filters.get("date_from"),
                                     date_to=filters.get("date_to"))
    else:
        status = 400
    if request.GET.get("format") == "csv" and status == 200:
        return _letter_export(request, rows)
    page, query = page_of(request, rows)
    audit_events(action="letter.listed", actor=request.user, targets=list(page), summary="Shown in the letters list")
    return render(request, "communications/letter_list.html", {"form": form, "page": page, "query": query}, status=status)


def _letter_export(request: HttpRequest, rows) -> HttpResponse:
    letters = list(rows[: EXPORT_MAX_ROWS + 1])
    if len(letters) > EXPORT_MAX_ROWS:
        messages.error(request, f"That is more than {EXPORT_MAX_ROWS:,} letters; narrow the filters before exporting.")
        query = request.GET.copy()
        query.pop("format", None)
        return redirect(f"{request.path}?{query.urlencode()}")
    audit_events(action="letter.exported", actor=request.user, targets=letters, channel=AuditChannel.EXPORT,
                 summary="Included in a letters CSV")
    header = ["started", "patient", "MRN", "subject", "template", "status", "delivery", "from", "written by", "final"]
    return csv_response("letters.csv", header, (
        [timezone.localtime(x.created_at).isoformat(timespec="minutes"), x.patient.display_name, x.patient.mrn, x.subject,
         x.template_version.template.name if x.template_version_id else "", x.get_status_display(),
         x.get_delivery_display() if x.delivery else "", str(x.signer or ""), str(x.author or ""),
         timezone.localtime(x.finalized_at).isoformat(timespec="minutes") if x.finalized_at else ""]
        for x in letters
    ))


# --- the composer ---------------------------------------------------------------------------------------------------


def _appointment_choices(actor: User, patient) -> list[tuple[str, str]]:
    rows = (Appointment.objects.filter(organization_id=actor.organization_id, patient=patient)
            .select_related("appointment_type", "location", "provider").order_by("-starts_at")[:30])
    return [(a.public_id, f"{_local(a.starts_at, a.location.time_zone):%a %d %b %Y %H:%M} · {a.appointment_type.name} · "
                          f"{a.provider}") for a in rows]


@require_http_methods(["GET", "POST"])
@requires(Perm.LETTERS_WRITE)
def letter_new(request: HttpRequest) -> HttpResponse:
    """Start a letter: find the patient (unless coming from their page), then pick the letter and who it is from."""
    public_id = request.GET.get("patient", "")
    if not public_id:
        return patient_pick_step(request, PickPage(
            title="Write a letter", action=reverse("communications:letter_new"),
            back_url=reverse("communications:letter_list"), back_label="Letters"))
    patient = patient_for_change(actor=request.user, public_id=public_id)
    appointments = _appointment_choices(request.user, patient)
    templates = letter_templates(actor=request.user)
    initial = {"signer": request.user.pk if request.user.role in ("clinician", "nurse") else None}
    if request.GET.get("template"):
        initial["template"] = templates.filter(code=request.GET["template"]).first()
    form = LetterStartForm(request.POST or None, initial=initial, templates=templates, appointments=appointments,
                           signers=selectors.letter_signers(actor=request.user),
                           locations=selectors.letter_locations(actor=request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        appointment = None
        if data.get("appointment"):
            appointment = Appointment.objects.filter(organization_id=request.user.organization_id, patient=patient,
                                                     public_id=data["appointment"]).select_related("location", "provider").first()
        try:
            letter = services.letter_start(actor=request.user, patient=patient, template=data["template"],
                                           appointment=appointment, location=data.get("location"), signer=data.get("signer"))
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Draft started. Edit the wording, then make it final.")
            return redirect("communications:letter_detail", letter_id=letter.public_id)
    return render(request, "communications/letter_start.html", {
        "form": form, "patient": patient, "has_templates": templates.exists(),
    }, status=400 if form.is_bound and form.errors else 200)


@require_http_methods(["GET", "POST"])
@requires(Perm.LETTERS_WRITE)
def letter_detail(request: HttpRequest, letter_id: str) -> HttpResponse:
    """A draft: edit it beside its preview. A final letter: read it, print it, e-mail it."""
    if request.method == "POST":
        letter = selectors.letter_for_change(actor=request.user, public_id=letter_id)
    else:
        letter = selectors.letter_get(actor=request.user, public_id=letter_id)
    signers = selectors.letter_signers(actor=request.user)
    locations = selectors.letter_locations(actor=request.user)
    form = None
    if letter.status == "draft":
        form = LetterEditForm(request.POST or None, signers=signers, locations=locations, initial={
            "subject": letter.subject, "body_html": letter.body_html, "signer": letter.signer_id, "location": letter.location_id})
        if request.method == "POST" and form.is_valid():
            try:
                services.letter_update(actor=request.user, letter=letter, **form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Draft saved.")
                return redirect("communications:letter_detail", letter_id=letter.public_id)
    elif request.method == "POST":
        messages.error(request, "A final letter cannot be changed; start a new letter instead.")
        return redirect("communications:letter_detail", letter_id=letter.public_id)
    links = ActionLink.objects.filter(letter=letter).order_by("-created_at")[:10]
    return render(request, "communications/letter_detail.html", {
        "letter": letter, "form": form, "body": mark_safe(sanitize_html(letter.body_html)),  # noqa: S308  (nh3-sanitised)
        "links": links, "now": timezone.now(),
    }, status=400 if form is not None and form.is_bound and form.errors else 200)


@require_GET
@requires(Perm.LETTERS_WRITE)
def letter_preview_pdf(request: HttpRequest, letter_id: str) -> HttpResponse:
    """The letter as it will print (a draft is not saved anywhere by this)."""
    letter = selectors.letter_get(actor=request.user, public_id=letter_id, action="letter.previewed")
    if letter.status == "final":
        return _pdf(services.letter_file_bytes(letter), f"letter-{letter.public_id}.pdf")
    return _pdf(services.letter_pdf_bytes(letter), f"draft-{letter.public_id}.pdf")


@require_POST
@requires(Perm.LETTERS_WRITE)
def letter_finalize(request: HttpRequest, letter_id: str) -> HttpResponse:
    letter = selectors.letter_for_change(actor=request.user, public_id=letter_id)
    try:
        services.letter_finalize(actor=request.user, letter=letter)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, "The letter is final and filed in the patient's documents.")
    return redirect("communications:letter_detail", letter_id=letter.public_id)


@require_POST
@requires(Perm.LETTERS_WRITE)
def letter_print(request: HttpRequest, letter_id: str) -> HttpResponse:
    letter = selectors.letter_for_change(actor=request.user, public_id=letter_id)
    try:
        data = services.letter_print(actor=request.user, letter=letter)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("communications:letter_detail", letter_id=letter.public_id)
    return _pdf(data, f"letter-{letter.public_id}.pdf")


@require_POST
@requires(Perm.LETTERS_WRITE)
def letter_email(request: HttpRequest, letter_id: str) -> HttpResponse:
    letter = selectors.letter_for_change(actor=request.user, public_id=letter_id)
    try:
        message = services.letter_email_link(actor=request.user, letter=letter, site_url=request.build_absolute_uri("/"))
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        if message.reason:
            messages.error(request, f"The e-mail was not sent: {message.reason}")
        else:
            messages.success(request, f"A secure link to the letter is on its way to {message.to_address}.")
    return redirect("communications:letter_detail", letter_id=letter.public_id)


# --- letterheads and signatures -------------------------------------------------------------------------------------


@require_GET
@requires(Perm.TEMPLATES_MANAGE)
def letterhead_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.letterhead_list(actor=request.user)
    if request.GET.get("format") == "csv":
        return csv_response("letterheads.csv", ["location", "practice name", "address", "phone", "fax", "e-mail", "website", "footer"], (
            [h.location.name if h.location else "(practice default)", h.practice_name, " / ".join(h.address.splitlines()),
             h.phone, h.fax, h.email, h.website, h.footer] for h in rows))
    page, query = page_of(request, rows)
    return render(request, "communications/letterhead_list.html", {"page": page, "query": query})


@require_http_methods(["GET", "POST"])
@requires(Perm.TEMPLATES_MANAGE)
def letterhead_edit(request: HttpRequest, letterhead_id: int | None = None) -> HttpResponse:
    letterhead = selectors.letterhead_get(actor=request.user, letterhead_id=letterhead_id) if letterhead_id else None
    initial = {}
    if letterhead is not None:
        initial = {f: getattr(letterhead, f) for f in ("practice_name", "address", "phone", "fax", "email", "website",
                                                       "footer", "accent_color")}
        initial["location"] = letterhead.location_id
    else:
        initial = {"practice_name": request.user.organization.name, "accent_color": "#0b5cad"}
    form = LetterheadForm(request.POST or None, initial=initial, locations=selectors.letter_locations(actor=request.user))
    if request.method == "POST" and form.is_valid():
        try:
            services.letterhead_save(actor=request.user, organization=request.user.organization, letterhead=letterhead,
                                     **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Letterhead saved.")
            return redirect("communications:letterhead_list")
    return render(request, "communications/letterhead_form.html", {"form": form, "letterhead": letterhead},
                  status=400 if form.is_bound and form.errors else 200)


@require_GET
@requires(Perm.TEMPLATES_MANAGE)
def signature_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.signature_list(actor=request.user)
    if request.GET.get("format") == "csv":
        return csv_response("signatures.csv", ["staff member", "closing", "name line", "credentials"], (
            [str(s.user), s.closing, s.name_line, s.credentials] for s in rows))
    page, query = page_of(request, rows)
    return render(request, "communications/letter_signature_list.html", {"page": page, "query": query})


@require_http_methods(["GET", "POST"])
@requires(Perm.TEMPLATES_MANAGE)
def signature_edit(request: HttpRequest, signature_id: int | None = None) -> HttpResponse:
    signature = selectors.signature_get(actor=request.user, signature_id=signature_id) if signature_id else None
    initial = {}
    if signature is not None:
        initial = {"user": signature.user_id, "closing": signature.closing, "name_line": signature.name_line,
                   "credentials": signature.credentials}
    form = SignatureForm(request.POST or None, initial=initial, users=selectors.letter_signers(actor=request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.signature_save(actor=request.user, user=data["user"], closing=data["closing"],
                                    name_line=data["name_line"], credentials=data["credentials"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Signature of {data['user']} saved.")
            return redirect("communications:signature_list")
    return render(request, "communications/letter_signature_form.html", {"form": form, "signature": signature},
                  status=400 if form.is_bound and form.errors else 200)


# --- the patient's side of the secure link -----------------------------------------------------------------------


def _birth_date(request: HttpRequest) -> date | None:
    try:
        return date.fromisoformat(request.POST.get("date_of_birth", "").strip())
    except ValueError:
        return None


def letter_link_handler(request: HttpRequest, link: ActionLink, token: str) -> HttpResponse:
    """GET asks for the date of birth; POST checks it and serves the PDF (never cached: see links.no_store)."""
    letter = link.letter
    context = {"practice": letter.organization.name if letter else "", "location": letter.location if letter else None,
               "problem": ""}
    status = 200
    if request.method == "POST":
        try:
            data = services.letter_link_open(link=link, date_of_birth=_birth_date(request))
        except ValidationError as exc:
            errors = exc.message_dict
            if "token" in errors:
                return render(request, "communications/link_problem.html", {"problem": errors["token"][0]}, status=410)
            context["problem"] = errors["date_of_birth"][0]
            status = 400
        else:
            response = _pdf(data, "letter.pdf")
            response["X-Robots-Tag"] = "noindex"
            return response
    return render(request, "communications/letter_link.html", context, status=status)


def register_link_handlers() -> None:
    """Called from CommunicationsConfig.ready: letter links are served by letter_link_handler."""
    from ..choices import LinkAction
    from .links import register_link_handler

    register_link_handler(LinkAction.LETTER, letter_link_handler)

