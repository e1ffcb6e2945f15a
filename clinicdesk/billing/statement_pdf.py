"""The statement as a PDF, drawn with ReportLab.

A run makes hundreds of statements at once (1,000 within a minute on two cores is the target); WeasyPrint took
0.45 to 0.75 s per statement on this machine even when one HTML held a hundred of them, so statements are the
place the conventions allow ReportLab "where volume demands it" (20 to 40 ms a statement here). Input is the stored
figures of one statement (money as strings, dates as ISO strings) plus the pay link, which is never stored.

Page: US letter; the guarantor's address sits where a #10 double-window envelope shows it; the remittance stub is
at the foot of the last page.
"""

from __future__ import annotations

import io
import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import HRFlowable

from clinicdesk.core.money import format_money

_FONT_DIR = Path(os.environ.get("STMT_FONT_DIR", "/usr/share/fonts/truetype/dejavu"))
ACCENT = colors.HexColor("#0b5cad")
SHADE = colors.HexColor("#eef3fa")
_dejavu: tuple[str, str] | None = None
HELVETICA = ("Helvetica", "Helvetica-Bold")


def _fonts_for(figures: dict) -> tuple[str, str]:
    """Helvetica (built into every PDF reader: nothing embedded, small and fast) when every character of the
    statement is in its character set; DejaVu Sans, embedded, when a name or address needs more (Nguyễn, Łukasz)."""
    global _dejavu
    try:
        json.dumps(figures, ensure_ascii=False).encode("cp1252")
        return HELVETICA
    except UnicodeEncodeError:
        pass
    if _dejavu is None:
        regular, bold = _FONT_DIR / "DejaVuSans.ttf", _FONT_DIR / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont("StatementSans", str(regular)))
            pdfmetrics.registerFont(TTFont("StatementSans-Bold", str(bold)))
            _dejavu = ("StatementSans", "StatementSans-Bold")
        else:
            _dejavu = HELVETICA
    return _dejavu


def _styles(fonts: tuple[str, str]) -> dict[str, ParagraphStyle]:
    regular, bold = fonts
    base = ParagraphStyle("base", fontName=regular, fontSize=8.5, leading=10.5)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9, textColor=colors.HexColor("#555555")),
        "practice": ParagraphStyle("practice", parent=base, fontName=bold, fontSize=13, leading=16, textColor=ACCENT),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "due": ParagraphStyle("due", parent=base, fontName=bold, fontSize=11, leading=14, alignment=TA_RIGHT),
        "address": ParagraphStyle("address", parent=base, fontSize=10, leading=12.5),
        "h2": ParagraphStyle("h2", parent=base, fontName=bold, fontSize=10, leading=13, spaceBefore=7, spaceAfter=3),
        "h3": ParagraphStyle("h3", parent=base, fontName=bold, fontSize=9, leading=11, spaceBefore=5, spaceAfter=2),
        "dunning": ParagraphStyle("dunning", parent=base, fontName=bold, fontSize=9.5, leading=12,
                                  textColor=colors.HexColor("#770000"), borderColor=colors.HexColor("#bb0000"),
                                  borderWidth=1, borderPadding=5, spaceBefore=6, spaceAfter=8),
    }


def _esc(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _money(value) -> str:
    return format_money(Decimal(value)) if value not in (None, "") else ""


def _cell(value) -> str:
    """A money cell of a service row: blank for nothing, so a row shows only what happened."""
    return "" if value in (None, "", "0", "0.00") else _money(value)


def _date(value: str) -> str:
    return date.fromisoformat(value).strftime("%m/%d/%Y") if value else ""


def _grid(fonts: tuple[str, str], style_extra: list | None = None, *, header: bool = True) -> TableStyle:
    regular, bold = fonts
    commands = [
        ("FONT", (0, 0), (-1, -1), regular, 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if header:
        commands += [("FONT", (0, 0), (-1, 0), bold, 8), ("BACKGROUND", (0, 0), (-1, 0), SHADE)]
    return TableStyle(commands + (style_extra or []))


def statement_story(figures: dict, *, pay_url: str = "", fonts: tuple[str, str] = HELVETICA) -> list:
    """The flowables of one statement."""
    st = _styles(fonts)
    practice = figures["practice"]
    practice_lines = "<br/>".join(_esc(line) for line in practice.get("address", []))
    due = _money(figures["amount_due"])
    head = Table([[
        [Paragraph(_esc(practice["name"]), st["practice"]), Paragraph(practice_lines, st["base"]),
         Paragraph(f"Billing office: {_esc(practice.get('phone', ''))}", st["base"])],
        [Paragraph("<b>STATEMENT</b>", st["right"]),
         Paragraph(f"Statement date: {_date(figures['statement_date'])}", st["right"]),
         Paragraph(f"Account: {_esc(figures['account_number'])}", st["right"]),
         Paragraph(f"Amount due: {due}", st["due"]),
         Paragraph(f"Please pay by {_date(figures['due_date'])}", st["right"])],
    ]], colWidths=[4.2 * inch, 3.0 * inch])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, 0), 1.5, ACCENT),
                              ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story: list = [head, Spacer(1, 0.35 * inch)]
    address = "<br/>".join(_esc(line) for line in figures.get("address", []))
    story.append(Table([[Paragraph(address, st["address"])]], colWidths=[3.6 * inch], rowHeights=[1.05 * inch],
                       style=TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0.25 * inch), ("VALIGN", (0, 0), (-1, -1), "TOP")])))
    story.append(Spacer(1, 0.15 * inch))
    if figures.get("dunning_message"):
        story.append(Paragraph(_esc(figures["dunning_message"]), st["dunning"]))
    since = f" (since {_date(figures['period_start'])})" if figures.get("period_start") else ""
    story.append(Paragraph(f"Summary{since}", st["h2"]))
    summary = Table([
        ["Previous balance", "New charges", "Insurance paid/adj.", "Your payments", "Adjustments", "Your balance"],
        [_money(figures["previous_balance"]), _money(figures["new_charges"]), _money(figures["insurance_adjusted"]),
         _money(figures["payments"]), _money(figures["adjustments"]), _money(figures["balance"])],
    ], colWidths=[1.2 * inch] * 6)
    summary.setStyle(_grid(fonts, [("ALIGN", (0, 0), (-1, -1), "RIGHT")]))
    story.append(summary)
    if Decimal(figures.get("insurance_pending") or "0") > 0:
        story.append(Paragraph(f"Waiting for insurance (not yet yours to pay): {_money(figures['insurance_pending'])}",
                               st["small"]))
    story.append(Paragraph("Services and activity", st["h2"]))
    for patient in figures.get("patients", []):
        story.append(Paragraph(_esc(patient["name"]), st["h3"]))
        rows = [["Date", "Description", "Charge", "Insurance paid/adj.", "Your payments", "Adjustments", "Your balance"]]
        for row in patient["rows"]:
            rows.append([_date(row["date"]), Paragraph(_esc(row["description"]), st["base"]), _cell(row["charge"]),
                         _cell(row["insurance"]), _cell(row["payments"]), _cell(row["adjustments"]), _money(row["balance"])])
        if len(rows) == 1:
            rows.append(["", "No new activity.", "", "", "", "", ""])
        table = Table(rows, colWidths=[0.75 * inch, 2.25 * inch, 0.8 * inch, 0.95 * inch, 0.85 * inch, 0.8 * inch, 0.8 * inch],
                      repeatRows=1)
        table.setStyle(_grid(fonts, [("ALIGN", (2, 0), (-1, -1), "RIGHT")]))
        story.append(table)
    aging = figures["aging"]
    story.append(Paragraph("Aging of what you owe", st["h2"]))
    aging_table = Table([
        ["Current", "31–60 days", "61–90 days", "91–120 days", "Over 120 days", "Amount due"],
        [_money(aging["current"]), _money(aging["31_60"]), _money(aging["61_90"]), _money(aging["91_120"]),
         _money(aging["over_120"]), due],
    ], colWidths=[1.2 * inch] * 6)
    aging_table.setStyle(_grid(fonts, [("ALIGN", (0, 0), (-1, -1), "RIGHT"), ("FONT", (-1, 1), (-1, 1), fonts[1], 8)]))
    story.append(aging_table)
    how = [Paragraph("How to pay", st["h2"])]
    if pay_url:
        how.append(Paragraph(f"Online: {_esc(pay_url)}", st["base"]))
    how += [Paragraph(f"By phone: call our billing office on {_esc(practice.get('phone', ''))}.", st["base"]),
            Paragraph(f"By mail: a check payable to {_esc(practice['name'])} with the slip below, to "
                      f"{_esc(', '.join(practice.get('address', [])))}.", st["base"]),
            Paragraph("In person: at the front desk.", st["base"])]
    story.append(KeepTogether(how))
    stub = Table([
        [practice["name"], f"Account {figures['account_number']}", f"Statement {_date(figures['statement_date'])}",
         f"Amount due {due}", "Amount enclosed: __________"],
        [Paragraph(_esc(", ".join(figures.get("address", []))), st["small"]), "", "", "", ""],
    ], colWidths=[1.9 * inch, 1.3 * inch, 1.35 * inch, 1.35 * inch, 1.3 * inch])
    stub.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), fonts[0], 8), ("SPAN", (0, 1), (-1, 1)),
                              ("BOX", (0, 0), (-1, -1), 0.6, colors.black), ("INNERGRID", (0, 0), (-1, 0), 0.4, colors.grey)]))
    story.append(KeepTogether([
        Spacer(1, 0.2 * inch), HRFlowable(width="100%", dash=(3, 2), thickness=0.8, color=colors.black),
        Paragraph("Please detach and return this part with your payment.", st["small"]), Spacer(1, 3), stub,
    ]))
    return story


def _page_number(canvas, doc) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 7)
    canvas.drawRightString(LETTER[0] - 0.6 * inch, 0.4 * inch, f"Page {doc.page}")
    canvas.restoreState()


def statement_pdf_bytes(figures: dict, *, pay_url: str = "") -> bytes:
    """One statement as a PDF."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=LETTER, leftMargin=0.6 * inch, rightMargin=0.6 * inch,
                            topMargin=0.5 * inch, bottomMargin=0.6 * inch, title=f"Statement {figures['account_number']}",
                            author=figures["practice"]["name"], invariant=1)
    doc.build(statement_story(figures, pay_url=pay_url, fonts=_fonts_for(figures)), onFirstPage=_page_number, onLaterPages=_page_number)
    return buffer.getvalue()


def pdfs_combine(parts: list[bytes]) -> bytes:
    """Several PDFs as one file, page after page (the print batch for the office printer)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(io.BytesIO(part))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
