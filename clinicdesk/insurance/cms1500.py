"""The CMS-1500 (02/12) claim form as a PDF for payers that take paper, drawn with ReportLab.

Two layouts: "red" puts only the boxes' contents where the red OCR form printed in red ink has its boxes (load the
red forms in the printer); "plain" draws each box with its number and label, for payers that accept a copy. One page
per claim and six service lines per page; a claim with more lines continues on the next page, totals on the last."""

from __future__ import annotations

import io
from decimal import Decimal

from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas

from .choices import SubscriberRelationship

LINES_PER_PAGE = 6
# Positions in inches from the form's top-left (the form is 8.5 x 11 with a 10-pitch, 6-lines-per-inch grid).
COL = 0.1  # one character at 10 pitch
ROW = 1 / 6


def _at(col: float, row: float) -> tuple[float, float]:
    """Grid position (character column, print line) to PDF points from the bottom-left."""
    return (0.25 * inch + col * COL * inch, LETTER[1] - (0.5 * inch + row * ROW * inch))


def _money(amount) -> str:
    value = Decimal(amount or 0).quantize(Decimal("0.01"))
    return f"{value:>9}".replace(".", " ")


def _d(day) -> str:
    return f"{day:%m %d %y}" if day else ""


def _name(last, first, middle="") -> str:
    return ", ".join(p for p in (last.upper(), " ".join(x for x in (first.upper(), middle[:1].upper()) if x)) if p)


def _box(c: Canvas, col, row, text: str, *, plain: bool, label: str = "", width: float = 28) -> None:
    x, y = _at(col, row)
    if plain and label:
        c.setFont("Helvetica", 5.5)
        c.drawString(x, y + 9, label)
        c.rect(x - 2, y - 3, width * COL * inch, 19, stroke=1, fill=0)
        c.setFont("Courier", 10)
    c.drawString(x, y, text or "")


def _claim_pages(c: Canvas, claim, *, plain: bool) -> None:
    patient, coverage, payer, org = claim.patient, claim.coverage, claim.payer, claim.organization
    provider = claim.rendering_provider
    lines = list(claim.lines.all())
    chunks = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    for page, chunk in enumerate(chunks, start=1):
        c.setFont("Courier", 10)
        if plain:
            c.setFont("Helvetica-Bold", 11)
            c.drawString(0.3 * inch, LETTER[1] - 0.35 * inch, "HEALTH INSURANCE CLAIM FORM (CMS-1500 02/12)")
            c.setFont("Courier", 10)
        # Payer's address, top right.
        for n, text in enumerate([payer.name.upper(), payer.address_line1.upper(),
                                  f"{payer.city.upper()} {payer.state.upper()} {payer.postal_code}".strip()]):
            _box(c, 45, 1 + n, text, plain=False)
        box = _box
        box(c, 0, 6, "X" if payer.claim_filing_indicator in ("MB", "MC") else "", plain=plain, label="1 Program", width=6)
        box(c, 48, 6, coverage.member_id, plain=plain, label="1a INSURED'S ID NUMBER", width=30)
        box(c, 0, 8, _name(patient.last_name, patient.first_name, patient.middle_name), plain=plain,
            label="2 PATIENT'S NAME", width=30)
        sex = {"male": "M", "female": "F"}.get(patient.sex, "")
        box(c, 31, 8, f"{_d(patient.date_of_birth)}  {sex}", plain=plain, label="3 BIRTH DATE / SEX", width=16)
        box(c, 48, 8, _name(coverage.subscriber_last_name, coverage.subscriber_first_name), plain=plain,
            label="4 INSURED'S NAME", width=30)
        box(c, 0, 10, (patient.address_line1 or "").upper(), plain=plain, label="5 PATIENT'S ADDRESS", width=30)
        box(c, 31, 10, SubscriberRelationship(coverage.relationship).label.upper()
            if coverage.relationship in SubscriberRelationship.values else "", plain=plain,
            label="6 RELATIONSHIP TO INSURED", width=16)
        box(c, 48, 10, (coverage.subscriber_address_line1 or "").upper(), plain=plain, label="7 INSURED'S ADDRESS",
            width=30)
        box(c, 0, 12, f"{patient.city.upper()}  {patient.state.upper()}  {patient.postal_code}", plain=plain,
            label="CITY STATE ZIP", width=30)
        box(c, 48, 14, coverage.group_number, plain=plain, label="11 INSURED'S GROUP NUMBER", width=30)
        box(c, 0, 20, "SIGNATURE ON FILE", plain=plain, label="12 PATIENT'S SIGNATURE", width=30)
        box(c, 48, 20, "SIGNATURE ON FILE", plain=plain, label="13 INSURED'S SIGNATURE", width=30)
        if claim.prior_authorization_id:
            box(c, 48, 26, claim.prior_authorization.number, plain=plain, label="23 PRIOR AUTHORIZATION", width=30)
        # Box 21: diagnoses A-L, with the ICD indicator 0 (ICD-10).
        box(c, 0, 24, "0", plain=plain, label="21 ICD Ind.", width=4)
        for n, code in enumerate(claim.diagnosis_codes[:12]):
            col, row = 3 + (n % 4) * 11, 25 + n // 4
            c.drawString(*_at(col, row), f"{'ABCDEFGHIJKL'[n]}. {code.replace('.', '')}")
        if claim.frequency != "1":
            box(c, 0, 28, f"{claim.frequency}   {claim.payer_claim_number}", plain=plain,
                label="22 RESUBMISSION CODE / ORIGINAL REF. NO.", width=30)
        # Box 24: the service lines, each on the lower half of its two-line band.
        if plain:
            c.setFont("Helvetica", 5.5)
            c.drawString(*_at(0, 29.6), "24A DATES OF SERVICE   B POS   D CPT/HCPCS  MODIFIER   E DX PTR   F $ CHARGES"
                                        "   G UNITS   J RENDERING NPI")
            c.setFont("Courier", 10)
        for n, ln in enumerate(chunk):
            row = 31 + n * 2
            pointers = "".join("ABCDEFGHIJKL"[p - 1] for p in ln.pointer_list if 1 <= p <= 12)
            mods = " ".join(ln.modifier_list)
            c.drawString(*_at(0, row), f"{_d(ln.service_date)} {_d(ln.service_date)}")
            c.drawString(*_at(18, row), claim.place_of_service)
            c.drawString(*_at(24, row), f"{ln.procedure_code:<6} {mods}")
            c.drawString(*_at(44, row), pointers)
            c.drawString(*_at(49, row), _money(ln.charge))
            c.drawString(*_at(60, row), f"{ln.units:>3}")
            c.drawString(*_at(67, row), provider.npi)
        last = page == len(chunks)
        box(c, 0, 44, org.tax_id, plain=plain, label="25 FEDERAL TAX I.D. NUMBER", width=16)
        box(c, 17, 44, claim.claim_number, plain=plain, label="26 PATIENT'S ACCOUNT NO.", width=14)
        box(c, 32, 44, "X YES", plain=plain, label="27 ACCEPT ASSIGNMENT", width=9)
        box(c, 42, 44, _money(claim.total_charge) if last else "CONTINUED", plain=plain, label="28 TOTAL CHARGE",
            width=11)
        box(c, 54, 44, _money(0) if last else "", plain=plain, label="29 AMOUNT PAID", width=11)
        box(c, 0, 47, f"{provider.get_full_name().upper()} {getattr(provider, 'title', '')}".strip(), plain=plain,
            label="31 SIGNATURE OF PHYSICIAN", width=22)
        box(c, 48, 46, org.name.upper(), plain=plain, label="33 BILLING PROVIDER INFO & PH #", width=30)
        box(c, 48, 48, f"{org.npi}", plain=plain, label="33a NPI", width=14)
        if len(chunks) > 1:
            c.drawString(*_at(0, 50), f"PAGE {page} OF {len(chunks)}")
        c.showPage()


def cms1500_pdf(claims, *, layout: str = "red") -> bytes:
    """One or more claims on CMS-1500 pages. `claims` come with their patient, coverage, payer, organization,
    rendering provider and lines loaded (see selectors.claims)."""
    out = io.BytesIO()
    c = Canvas(out, pagesize=LETTER, pageCompression=1)
    c.setTitle("CMS-1500 claims")
    for claim in claims:
        _claim_pages(c, claim, plain=layout == "plain")
    c.save()
    return out.getvalue()
