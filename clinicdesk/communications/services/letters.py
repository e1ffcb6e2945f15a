"""Letters: letterheads and signatures, then a letter's life: started from a template, edited as a draft,
made final as a PDF in the patient's documents, and printed or e-mailed to the patient as a secure link."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditOutcome
from clinicdesk.core.models import AuditEvent, Location, Organization, User
from clinicdesk.core.permissions import Perm
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.choices import DocumentCategory
from clinicdesk.patients.models import Patient

from .. import merge
from ..choices import LetterDelivery, LetterStatus, LinkAction, MessageChannel, MessagePurpose, TemplateKind
from ..links import link_issue, link_path
from ..models import ActionLink, Letter, Letterhead, Message, MessageTemplate, Signature
from ..rendering import html_to_text, render, sanitize_html
from .outbox import message_queue
from .templates import template_current

LETTER_LINK_DAYS = 14
# Wrong birth dates on one letter link before the link stops working (the patient then calls the office).
LINK_MAX_WRONG_ANSWERS = 5
MAX_BODY_CHARS = 60_000
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
PDF_CSS = Path(__file__).resolve().parent.parent / "static" / "communications" / "letter-pdf.css"


def _ensure_same_org(actor: User | None, organization_id: int, what: str = "letter") -> None:
    if actor is not None and actor.organization_id != organization_id:
        raise ValidationError({what: f"The {what} belongs to another practice."})


def _ensure_may(actor: User | None, code: str) -> None:
    if actor is not None and not actor.has_perm_code(code):
        raise PermissionDenied(f"Needs {code}")


# --- letterheads and signatures --------------------------------------------------------------------------------


@transaction.atomic
def letterhead_save(
    *, actor: User | None, organization: Organization, letterhead: Letterhead | None = None, location: Location | None = None,
    practice_name: str, address: str = "", phone: str = "", fax: str = "", email: str = "", website: str = "",
    footer: str = "", accent_color: str = "#0b5cad",
) -> Letterhead:
    """Create or change the letterhead of a location (or the practice's default when no location is given)."""
    _ensure_may(actor, Perm.TEMPLATES_MANAGE)
    _ensure_same_org(actor, organization.pk, "letterhead")
    errors: dict[str, list[str]] = {}
    if location is not None and location.organization_id != organization.pk:
        errors["location"] = ["The location belongs to another practice."]
    if accent_color and not _COLOR.match(accent_color):
        errors["accent_color"] = ["Give the colour as #rrggbb, e.g. #0b5cad."]
    creating = letterhead is None
    if creating:
        letterhead = Letterhead(organization=organization)
    letterhead.location = location
    duplicate = Letterhead.objects.filter(organization=organization, location=location).exclude(pk=letterhead.pk)
    if duplicate.exists():
        errors["location"] = ["That location already has a letterhead; change that one instead." if location
                              else "The practice already has a default letterhead; change that one instead."]
    letterhead.practice_name = (practice_name or "").strip()
    letterhead.address, letterhead.phone, letterhead.fax = (address or "").strip(), phone.strip(), fax.strip()
    letterhead.email, letterhead.website, letterhead.footer = email.strip(), website.strip(), footer.strip()
    letterhead.accent_color = accent_color or "#0b5cad"
    full_clean_or_raise(letterhead, errors)
    letterhead.save()
    audit_event(action="letterhead.created" if creating else "letterhead.changed", actor=actor, target=letterhead,
                organization_id=organization.pk, summary=f"Letterhead for {location or 'the practice'}")
    return letterhead


@transaction.atomic
def signature_save(
    *, actor: User | None, user: User, closing: str = "Sincerely,", name_line: str, credentials: str = "",
) -> Signature:
    """How `user` signs letters (one signature per person); creates or changes it."""
    _ensure_may(actor, Perm.TEMPLATES_MANAGE)
    _ensure_same_org(actor, user.organization_id, "signature")
    signature = Signature.objects.filter(user=user).first()
    creating = signature is None
    if creating:
        signature = Signature(user=user, organization_id=user.organization_id)
    signature.closing = (closing or "").strip() or "Sincerely,"
    signature.name_line = (name_line or "").strip()
    signature.credentials = (credentials or "").strip()
    full_clean_or_raise(signature)
    signature.save()
    audit_event(action="signature.created" if creating else "signature.changed", actor=actor, target=signature,
                organization_id=user.organization_id, summary=f"Letter signature of {user}")
    return signature


def letterhead_for(*, organization: Organization, location: Location | None) -> Letterhead:
    """The letterhead a letter from `location` is printed on: the location's, else the practice's default, else
    one made up (not saved) from the practice's name and the location's address."""
    heads = {h.location_id: h for h in Letterhead.objects.filter(organization=organization,
                                                                 location__in=[location] if location else [])}
    default = Letterhead.objects.filter(organization=organization, location__isnull=True).first()
    if location is not None and location.pk in heads:
        return heads[location.pk]
    if default is not None:
        return default
    lines = []
    if location is not None:
        lines = [location.address_line1, location.address_line2,
                 f"{', '.join(p for p in (location.city, location.state) if p)} {location.postal_code}".strip()]
    return Letterhead(organization=organization, location=location, practice_name=organization.name,
                      address="\n".join(line for line in lines if line), phone=location.phone if location else "")


# --- letters ----------------------------------------------------------------------------------------------------


def _clean_body(body_html: str) -> str:
    if len(body_html or "") > MAX_BODY_CHARS:
        raise ValidationError({"body_html": f"The letter is {len(body_html):,} characters; the limit is {MAX_BODY_CHARS:,}."})
    cleaned = sanitize_html(body_html or "")
    if not html_to_text(cleaned).strip():
        raise ValidationError({"body_html": "The letter is empty."})
    return cleaned


@transaction.atomic
def letter_start(
    *, actor: User, patient: Patient, template: MessageTemplate, appointment=None, location: Location | None = None,
    signer: User | None = None,
) -> Letter:
    """A draft letter for `patient` from a letter template, with the merge fields filled in."""
    _ensure_may(actor, Perm.LETTERS_WRITE)
    errors: dict[str, str] = {}
    _ensure_same_org(actor, patient.organization_id, "patient")
    if template.organization_id != patient.organization_id:
        errors["template"] = "The template belongs to another practice."
    elif template.kind != TemplateKind.LETTER:
        errors["template"] = f"'{template.name}' is a {template.get_kind_display().lower()} template, not a letter."
    elif not template.is_active or template.current_id is None:
        errors["template"] = f"'{template.name}' is no longer in use."
    if patient.merged_into_id:
        errors["patient"] = "The patient's record was merged into another; write to that record instead."
    if appointment is not None and (appointment.patient_id != patient.pk):
        errors["appointment"] = "The appointment is not this patient's."
    if location is not None and location.organization_id != patient.organization_id:
        errors["location"] = "The location belongs to another practice."
    if signer is not None and signer.organization_id != patient.organization_id:
        errors["signer"] = "The signer works for another practice."
    if errors:
        raise ValidationError(errors)
    location = location or (appointment.location if appointment is not None else None)
    context = merge.merge_context(organization=actor.organization, patient=patient, appointment=appointment,
                                  location=location, provider=signer)
    rendered = render(template.current, context, kind=TemplateKind.LETTER)
    letter = Letter(
        organization_id=patient.organization_id, patient=patient, template_version=template.current, location=location,
        signer=signer, author=actor, subject=(rendered.subject or template.name)[:200], body_html=rendered.html,
        status=LetterStatus.DRAFT,
    )
    full_clean_or_raise(letter, exclude=["document"])
    letter.save()
    audit_event(action="letter.started", actor=actor, target=letter, patient=patient,
                summary=f"Letter '{letter.subject}' started from '{template.code}'")
    return letter


def _ensure_draft(letter: Letter) -> None:
    if letter.status != LetterStatus.DRAFT:
        raise ValidationError({"status": "A final letter cannot be changed; start a new letter instead."})


@transaction.atomic
def letter_update(
    *, actor: User, letter: Letter, subject: str, body_html: str, signer: User | None = None,
    location: Location | None = None,
) -> Letter:
    """Save the edited wording of a draft; the HTML is sanitised (nh3), so nothing but simple formatting is kept."""
    _ensure_may(actor, Perm.LETTERS_WRITE)
    _ensure_same_org(actor, letter.organization_id)
    letter = Letter.objects.select_for_update().get(pk=letter.pk)
    _ensure_draft(letter)
    errors: dict[str, list[str]] = {}
    try:
        letter.body_html = _clean_body(body_html)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    letter.subject = " ".join((subject or "").split())
    if signer is not None and signer.organization_id != letter.organization_id:
        errors["signer"] = ["The signer works for another practice."]
    if location is not None and location.organization_id != letter.organization_id:
        errors["location"] = ["The location belongs to another practice."]
    letter.signer = signer if signer is not None else letter.signer
    letter.location = location if location is not None else letter.location
    full_clean_or_raise(letter, errors, exclude=["document"])
    letter.save(update_fields=["subject", "body_html", "signer", "location", "updated_at"])
    audit_event(action="letter.changed", actor=actor, target=letter, summary=f"Draft letter '{letter.subject}' saved")
    return letter


def _local_today(letter: Letter) -> date:
    tz = zoneinfo.ZoneInfo(letter.location.time_zone if letter.location_id else settings.TIME_ZONE)
    return timezone.now().astimezone(tz).date()


def _refuse_fetch(url: str, *args, **kwargs):
    """WeasyPrint may not load anything: a letter is made from its own HTML and CSS only."""
    raise ValueError(f"Letters do not load outside resources ({url[:60]})")


def letter_pdf_html(letter: Letter, *, on: date | None = None) -> str:
    """The HTML the PDF is made from: letterhead, date, the patient's address block, body and signature."""
    letterhead = letterhead_for(organization=letter.organization, location=letter.location)
    signature = Signature.objects.filter(user_id=letter.signer_id).first() if letter.signer_id else None
    patient = letter.patient
    return render_to_string("communications/pdf/letter.html", {
        "letter": letter, "letterhead": letterhead, "address_lines": [line for line in letterhead.address.splitlines() if line.strip()],
        "on": merge.format_date(on or _local_today(letter)),
        "patient_lines": [line for line in (
            " ".join(p for p in (patient.first_name, patient.middle_name, patient.last_name, patient.suffix) if p),
            patient.address_line1, patient.address_line2,
            f"{', '.join(p for p in (patient.city, patient.state) if p)} {patient.postal_code}".strip(),
        ) if line],
        "body": mark_safe(sanitize_html(letter.body_html)),  # noqa: S308  (sanitised by nh3 on the line itself)
        "signature": signature, "signer_name": str(letter.signer) if letter.signer_id else "",
    })


def letter_pdf_bytes(letter: Letter, *, on: date | None = None) -> bytes:
    """The letter as a PDF (WeasyPrint)."""
    from weasyprint import CSS, HTML

    letterhead = letterhead_for(organization=letter.organization, location=letter.location)
    accent = letterhead.accent_color if _COLOR.match(letterhead.accent_color or "") else "#0b5cad"
    sheets = [CSS(string=PDF_CSS.read_text(), url_fetcher=_refuse_fetch),
              CSS(string=f".letterhead {{ border-bottom-color: {accent}; }} .letterhead .practice {{ color: {accent}; }}",
                  url_fetcher=_refuse_fetch)]
    return HTML(string=letter_pdf_html(letter, on=on), base_url=None, url_fetcher=_refuse_fetch).write_pdf(stylesheets=sheets)


@transaction.atomic
def letter_finalize(*, actor: User, letter: Letter) -> Letter:
    """Make the letter final: its PDF is filed in the patient's documents (correspondence) and it never changes again."""
    from clinicdesk.patients.services.documents import document_upload

    _ensure_may(actor, Perm.LETTERS_WRITE)
    _ensure_same_org(actor, letter.organization_id)
    letter = Letter.objects.select_for_update(of=("self",)).select_related("patient", "location", "organization").get(pk=letter.pk)
    _ensure_draft(letter)
    if not html_to_text(letter.body_html).strip():
        raise ValidationError({"body_html": "The letter is empty."})
    pdf = letter_pdf_bytes(letter)
    upload = SimpleUploadedFile(f"letter-{letter.public_id}.pdf", pdf, content_type="application/pdf")
    document = document_upload(patient=letter.patient, actor=actor, file=upload, category=DocumentCategory.CORRESPONDENCE,
                               title=letter.subject[:200])
    letter.document = document
    letter.status = LetterStatus.FINAL
    letter.finalized_at = timezone.now()
    letter.save(update_fields=["document", "status", "finalized_at", "updated_at"])
    audit_event(action="letter.finalized", actor=actor, target=letter,
                summary=f"Letter '{letter.subject}' made final and filed as a document")
    return letter


def _ensure_final(letter: Letter) -> None:
    if letter.status != LetterStatus.FINAL or letter.document_id is None:
        raise ValidationError({"status": "Make the letter final first."})


def letter_file_bytes(letter: Letter) -> bytes:
    with letter.document.file.open("rb") as handle:
        return handle.read()


@transaction.atomic
def letter_print(*, actor: User, letter: Letter) -> bytes:
    """The final letter's PDF for printing; the print is audited and the letter marked as printed."""
    _ensure_may(actor, Perm.LETTERS_WRITE)
    _ensure_same_org(actor, letter.organization_id)
    _ensure_final(letter)
    data = letter_file_bytes(letter)
    if letter.delivery != LetterDelivery.PRINTED:
        letter.delivery = LetterDelivery.PRINTED
        letter.save(update_fields=["delivery", "updated_at"])
    audit_event(action="letter.printed", actor=actor, target=letter, summary=f"Letter '{letter.subject}' printed")
    return data


@transaction.atomic
def letter_email_link(*, actor: User, letter: Letter, site_url: str = "") -> Message:
    """E-mail the patient a link to the final letter (never the letter itself): the link asks for the date of
    birth and works for 14 days. `site_url` is the site's public address, for the link."""
    _ensure_may(actor, Perm.LETTERS_WRITE)
    _ensure_same_org(actor, letter.organization_id)
    letter = Letter.objects.select_for_update(of=("self",)).select_related("patient", "location", "organization").get(pk=letter.pk)
    _ensure_final(letter)
    patient = letter.patient
    if not patient.email:
        raise ValidationError({"patient": "The patient has no e-mail address on file; print the letter instead."})
    version = template_current(organization=letter.organization, code="letter-link-email")
    sent_before = ActionLink.objects.filter(letter=letter, action=LinkAction.LETTER).count()
    link, token = link_issue(organization=letter.organization, action=LinkAction.LETTER, letter=letter, patient=patient,
                             valid_for=timedelta(days=LETTER_LINK_DAYS))
    url = site_url.rstrip("/") + link_path(token)
    context = merge.merge_context(organization=letter.organization, patient=patient, location=letter.location,
                                  provider=letter.signer, links={"letter_url": url})
    rendered = render(version, context, kind=TemplateKind.EMAIL)
    message = message_queue(
        organization=letter.organization, channel=MessageChannel.EMAIL, purpose=MessagePurpose.LETTER, patient=patient,
        subject=rendered.subject, body=rendered.text, html_body=rendered.html, location=letter.location,
        template_version=version, actor=actor, idempotency_key=f"letter:{letter.public_id}:link:{sent_before + 1}",
    )
    ActionLink.objects.filter(pk=link.pk).update(message=message)
    letter.delivery = LetterDelivery.EMAILED
    letter.save(update_fields=["delivery", "updated_at"])
    audit_event(action="letter.emailed", actor=actor, target=letter,
                summary=f"Secure link to letter '{letter.subject}' e-mailed ({message.get_state_display().lower()})")
    return message


# --- the patient's side of the secure link ---------------------------------------------------------------------

LINK_REFUSED = "letter.link_refused"


def letter_link_wrong_answers(link: ActionLink) -> int:
    """Wrong birth dates given on this link so far (counted from the audit trail, so every process sees them)."""
    return AuditEvent.objects.filter(action=LINK_REFUSED, target_type="communications.actionlink",
                                     target_id=str(link.pk)).count()


def letter_link_open(*, link: ActionLink, date_of_birth: date | None) -> bytes:
    """The letter's PDF for the patient who proves who they are with their date of birth.

    Each wrong answer is recorded; after five the link stops working for good. Not one transaction on purpose:
    the record of a wrong answer must stay even though the answer is refused."""
    link = ActionLink.objects.select_related("letter", "letter__document", "patient").get(pk=link.pk)
    letter = link.letter
    if link.action != LinkAction.LETTER or letter is None or letter.status != LetterStatus.FINAL:
        raise ValidationError({"token": "This link is not valid."})
    if link.used_at is not None or letter_link_wrong_answers(link) >= LINK_MAX_WRONG_ANSWERS:
        raise ValidationError({"token": "This link is locked after too many wrong answers. Please call the office."})
    if date_of_birth is None or date_of_birth != letter.patient.date_of_birth:
        audit_event(action=LINK_REFUSED, target=link, patient=letter.patient, organization_id=link.organization_id,
                    outcome=AuditOutcome.DENIED, summary="Wrong date of birth on a letter link", actor_label="patient (letter link)")
        left = LINK_MAX_WRONG_ANSWERS - letter_link_wrong_answers(link)
        if left <= 0:
            ActionLink.objects.filter(pk=link.pk).update(used_at=timezone.now(), updated_at=timezone.now())
            raise ValidationError({"token": "This link is locked after too many wrong answers. Please call the office."})
        raise ValidationError({"date_of_birth": f"That date of birth does not match our records. "
                                                f"{left} attempt{'s' if left != 1 else ''} left."})
    audit_event(action="letter.viewed_by_patient", target=letter, patient=letter.patient,
                organization_id=link.organization_id, summary=f"Patient opened letter '{letter.subject}' by secure link",
                actor_label="patient (letter link)")
    return letter_file_bytes(letter)
