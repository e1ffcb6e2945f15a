"""Bank statements into the books' bank accounts: CSV files (with a column mapping chosen on upload and remembered
per bank account), OFX/QFX files (SGML OFX 1.x and XML OFX 2.x, read with ofxtools) and JSON lines from the API.

Reading a file either gives every line or raises a ValidationError naming the line and the field; nothing is saved
until the office has seen the preview. A line already imported (the same FITID, or the same date, amount and
description) is skipped and shown as a duplicate."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from clinicdesk.core.audit import audit_event

from .choices import StatementFormat
from .models import BankAccount, StatementImport, StatementLine

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_LINES = 20_000
CSV_FIELDS = ("date", "description", "amount", "debit", "credit", "reference")
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%Y%m%d")
_MAX_AMOUNT = Decimal("1000000000000")


@dataclass(frozen=True)
class ParsedLine:
    """One statement line read from a file, before it is saved; `number` is its line in the file."""

    number: int
    posted_on: date
    description: str
    amount: Decimal
    reference: str = ""
    fitid: str = ""


@dataclass
class StatementPreview:
    """What an import would do: the new lines, and the duplicates with why each is one."""

    new: list[ParsedLine] = field(default_factory=list)
    duplicates: list[tuple[ParsedLine, str]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((ln.amount for ln in self.new), Decimal("0"))


def parse_amount(raw: str, *, where: str) -> Decimal:
    """A bank's amount ("1,234.50", "$12.00", "(12.00)", "-5") as Decimal in cents; the message names `where`."""
    text = (raw or "").strip().replace(",", "").replace("$", "").replace(" ", "")
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1]
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError({"file": f"{where}: '{raw.strip()[:40]}' is not an amount."}) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or abs(amount) >= _MAX_AMOUNT:
        raise ValidationError({"file": f"{where}: '{raw.strip()[:40]}' is not an amount in cents."})
    amount = amount.quantize(Decimal("0.01"))
    return -amount if negative else amount


def parse_date(raw: str, *, where: str) -> date:
    text = (raw or "").strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007  (a calendar date, no time)
        except ValueError:
            continue
    raise ValidationError({"file": f"{where}: '{text[:40]}' is not a date (use YYYY-MM-DD or MM/DD/YYYY)."})


def _decode(content: bytes) -> str:
    if len(content) > MAX_FILE_BYTES:
        raise ValidationError({"file": "The file is larger than 5 MB."})
    if b"\x00" in content[:4096]:
        raise ValidationError({"file": "This is not a text file: choose the bank's CSV or OFX download."})
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def csv_headers(content: bytes) -> list[str]:
    """The column names on the first line of a CSV file."""
    reader = csv.reader(io.StringIO(_decode(content)))
    return [h.strip() for h in next(reader, [])]


def csv_mapping_check(mapping: dict[str, str], headers: list[str]) -> dict[str, str]:
    """The mapping cleaned: date and description needed, and an amount column or debit and credit columns; each
    named column must be in the file. Errors name the mapping's field (`date_column` ...)."""
    mapping = {k: (mapping.get(k) or "").strip() for k in CSV_FIELDS}
    errors: dict[str, str] = {}
    for key in ("date", "description"):
        if not mapping[key]:
            errors[f"{key}_column"] = "Choose the column."
    if not mapping["amount"] and not (mapping["debit"] or mapping["credit"]):
        errors["amount_column"] = "Choose the amount column, or the debit and credit columns."
    if mapping["amount"] and (mapping["debit"] or mapping["credit"]):
        errors["amount_column"] = "Choose an amount column or debit and credit columns, not both."
    lowered = {h.lower(): h for h in headers}
    for key, column in mapping.items():
        if column and f"{key}_column" not in errors:
            if column.lower() not in lowered:
                errors[f"{key}_column"] = (f"The file has no column '{column}'; its columns are: "
                                           f"{', '.join(headers) or 'none'}.")
            else:
                mapping[key] = lowered[column.lower()]
    if errors:
        raise ValidationError(errors)
    return mapping


def csv_read(content: bytes, mapping: dict[str, str]) -> list[ParsedLine]:
    """Every line of a bank's CSV statement; the first bad cell raises, naming its line and column."""
    text = _decode(content)
    reader = csv.DictReader(io.StringIO(text))
    headers = [h.strip() for h in (reader.fieldnames or [])]
    if not headers:
        raise ValidationError({"file": "The file is empty."})
    reader.fieldnames = headers
    mapping = csv_mapping_check(mapping, headers)
    lines: list[ParsedLine] = []
    try:
        for row in reader:
            number = reader.line_num
            values = {k: (v or "").strip() for k, v in row.items() if k is not None}
            if not any(values.values()):
                continue
            if len(lines) >= MAX_LINES:
                raise ValidationError({"file": f"The file has more than {MAX_LINES} lines: split it."})
            where = f"Line {number}"
            posted_on = parse_date(values.get(mapping["date"], ""), where=f"{where}, {mapping['date']}")
            description = " ".join(values.get(mapping["description"], "").split())
            if not description:
                raise ValidationError({"file": f"{where}, {mapping['description']}: the description is empty."})
            if mapping["amount"]:
                amount = parse_amount(values.get(mapping["amount"], ""), where=f"{where}, {mapping['amount']}")
            else:
                debit = values.get(mapping["debit"], "") if mapping["debit"] else ""
                credit = values.get(mapping["credit"], "") if mapping["credit"] else ""
                if debit and credit:
                    raise ValidationError({"file": f"{where}: both {mapping['debit']} and {mapping['credit']} "
                                                   f"have an amount; a line is one or the other."})
                if not debit and not credit:
                    raise ValidationError({"file": f"{where}: neither {mapping['debit'] or 'debit'} nor "
                                                   f"{mapping['credit'] or 'credit'} has an amount."})
                if debit:
                    amount = -abs(parse_amount(debit, where=f"{where}, {mapping['debit']}"))
                else:
                    amount = abs(parse_amount(credit, where=f"{where}, {mapping['credit']}"))
            if amount == 0:
                raise ValidationError({"file": f"{where}: the amount is zero."})
            reference = values.get(mapping["reference"], "")[:60] if mapping["reference"] else ""
            lines.append(ParsedLine(number=number, posted_on=posted_on, description=description[:200],
                                    amount=amount, reference=reference))
    except csv.Error as exc:
        raise ValidationError({"file": f"Line {reader.line_num}: the CSV cannot be read ({exc})."}) from None
    if not lines:
        raise ValidationError({"file": "The file has no statement lines."})
    return lines


_TAG = re.compile(r"<\s*([A-Za-z0-9.]+)\s*>")


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def ofx_read(content: bytes, *, last4: str = "") -> list[ParsedLine]:
    """Every transaction of an OFX/QFX statement (SGML 1.x or XML 2.x). ofxtools reads the structure; each field
    is then checked here so a bad one is named with its line. A file for another account (by its last four
    digits) is refused."""
    from ofxtools.Parser import OFXTree  # imported here: only imports need it

    text = _decode(content)
    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(content))
    except Exception as exc:  # ofxtools raises several kinds (header, SGML, XML); all mean the file is unreadable
        raise ValidationError({"file": f"This is not a readable OFX file: {str(exc)[:200] or type(exc).__name__}."}) from None
    root = tree.getroot()
    acctid = root.find(".//BANKACCTFROM/ACCTID")
    if acctid is None:
        acctid = root.find(".//CCACCTFROM/ACCTID")
    if acctid is not None and last4 and (acctid.text or "").strip()[-4:] != last4:
        raise ValidationError({"file": f"ACCTID: this statement is for the account ending "
                                       f"{(acctid.text or '').strip()[-4:]}, not {last4}."})
    starts = [m.start() for m in re.finditer(r"<\s*STMTTRN\s*>", text, flags=re.IGNORECASE)]
    lines: list[ParsedLine] = []
    for index, trn in enumerate(root.iter("STMTTRN")):
        start = starts[index] if index < len(starts) else 0
        end = starts[index + 1] if index + 1 < len(starts) else len(text)

        def where(tag: str, start=start, end=end) -> str:
            found = re.search(rf"<\s*{tag}\s*>", text[start:end], flags=re.IGNORECASE)
            return f"Line {_line_of(text, start + (found.start() if found else 0))}, {tag}"

        def value(tag: str, trn=trn) -> str:
            element = trn.find(tag)
            return (element.text or "").strip() if element is not None else ""

        raw_date = value("DTPOSTED")
        if not raw_date:
            raise ValidationError({"file": f"{where('STMTTRN')}: the transaction has no DTPOSTED."})
        posted_on = parse_date(raw_date[:8], where=where("DTPOSTED"))
        raw_amount = value("TRNAMT")
        if not raw_amount:
            raise ValidationError({"file": f"{where('STMTTRN')}: the transaction has no TRNAMT."})
        amount = parse_amount(raw_amount, where=where("TRNAMT"))
        if amount == 0:
            raise ValidationError({"file": f"{where('TRNAMT')}: the amount is zero."})
        fitid = value("FITID")
        if not fitid:
            raise ValidationError({"file": f"{where('STMTTRN')}: the transaction has no FITID."})
        description = " ".join(" ".join(filter(None, [value("NAME"), value("MEMO")])).split()) or value("TRNTYPE")
        reference = value("CHECKNUM") or value("REFNUM")
        lines.append(ParsedLine(number=_line_of(text, start), posted_on=posted_on, description=description[:200],
                                amount=amount, reference=reference[:60], fitid=fitid[:255]))
        if len(lines) > MAX_LINES:
            raise ValidationError({"file": f"The file has more than {MAX_LINES} transactions: split it."})
    if not lines:
        raise ValidationError({"file": "The file has no transactions (no STMTTRN)."})
    return lines


def statement_file_read(*, bank_account: BankAccount, name: str, content: bytes,
                        mapping: dict[str, str] | None = None) -> tuple[str, list[ParsedLine]]:
    """A statement file read by its kind (OFX/QFX by name or content, else CSV with `mapping`)."""
    head = content[:2048].lstrip().upper()
    if name.lower().endswith((".ofx", ".qfx")) or head.startswith((b"OFXHEADER", b"<?XML", b"<OFX")):
        return StatementFormat.OFX, ofx_read(content, last4=bank_account.last4)
    return StatementFormat.CSV, csv_read(content, mapping or bank_account.csv_mapping)


def _key(posted_on: date, amount: Decimal, description: str) -> tuple:
    return posted_on, amount, " ".join(description.lower().split())


def statement_preview(*, bank_account: BankAccount, lines: list[ParsedLine]) -> StatementPreview:
    """Split lines into new ones and duplicates: a FITID already imported (or twice in the file), or the same date,
    amount and description as a line already imported."""
    preview = StatementPreview()
    if not lines:
        return preview
    days = [ln.posted_on for ln in lines]
    known = StatementLine.objects.filter(bank_account=bank_account, posted_on__gte=min(days), posted_on__lte=max(days))
    known_keys = {_key(d, a, s) for d, a, s in known.values_list("posted_on", "amount", "description")}
    fitids = {ln.fitid for ln in lines if ln.fitid}
    known_fitids = set(StatementLine.objects.filter(bank_account=bank_account, fitid__in=fitids)
                       .values_list("fitid", flat=True)) if fitids else set()
    seen: set[str] = set()
    for ln in lines:
        if ln.fitid and ln.fitid in known_fitids:
            preview.duplicates.append((ln, f"FITID {ln.fitid} was imported before"))
        elif ln.fitid and ln.fitid in seen:
            preview.duplicates.append((ln, f"FITID {ln.fitid} appears twice in the file"))
        elif _key(ln.posted_on, ln.amount, ln.description) in known_keys:
            preview.duplicates.append((ln, "the same date, amount and description was imported before"))
        else:
            preview.new.append(ln)
        if ln.fitid:
            seen.add(ln.fitid)
    return preview


@transaction.atomic
def statement_import(*, bank_account: BankAccount, lines: list[ParsedLine], file_format: str, actor,
                     file_name: str = "", mapping: dict[str, str] | None = None) -> tuple[StatementImport, StatementPreview]:
    """Save a statement's new lines (duplicates skipped) and, for a CSV, remember its column mapping."""
    bank_account = BankAccount.objects.select_for_update().get(pk=bank_account.pk)
    preview = statement_preview(bank_account=bank_account, lines=lines)
    made = StatementImport.objects.create(
        organization_id=bank_account.organization_id, bank_account=bank_account, file_name=file_name[:200],
        file_format=file_format, lines_added=len(preview.new), lines_skipped=len(preview.duplicates),
        imported_by=actor)
    StatementLine.objects.bulk_create([
        StatementLine(organization_id=bank_account.organization_id, bank_account=bank_account, statement_import=made,
                      posted_on=ln.posted_on, description=ln.description, amount=ln.amount, reference=ln.reference,
                      fitid=ln.fitid)
        for ln in preview.new
    ])
    if mapping and file_format == StatementFormat.CSV and mapping != bank_account.csv_mapping:
        bank_account.csv_mapping = {k: v for k, v in mapping.items() if v}
        bank_account.save(update_fields=["csv_mapping", "updated_at"])
    audit_event(action="ledger.statement_imported", actor=actor, target=made, organization_id=bank_account.organization_id,
                summary=f"{len(preview.new)} statement lines imported into {bank_account.name} "
                        f"({len(preview.duplicates)} duplicates skipped)"[:300])
    return made, preview


def api_lines_read(rows: list[dict]) -> list[ParsedLine]:
    """Statement lines given as JSON objects (date, description, amount as a string, reference, fitid); the
    first bad one raises, naming its position and field."""
    lines: list[ParsedLine] = []
    if not rows:
        raise ValidationError({"lines": "Give at least one line."})
    if len(rows) > MAX_LINES:
        raise ValidationError({"lines": f"At most {MAX_LINES} lines at once."})
    for number, row in enumerate(rows, start=1):
        try:
            posted_on = parse_date(str(row.get("date", "")), where=f"lines[{number}].date")
            amount = parse_amount(str(row.get("amount", "")), where=f"lines[{number}].amount")
        except ValidationError as exc:
            raise ValidationError({"lines": exc.messages}) from None
        description = " ".join(str(row.get("description", "")).split())
        if not description:
            raise ValidationError({"lines": f"lines[{number}].description: the description is empty."})
        if amount == 0:
            raise ValidationError({"lines": f"lines[{number}].amount: the amount is zero."})
        lines.append(ParsedLine(number=number, posted_on=posted_on, description=description[:200], amount=amount,
                                reference=str(row.get("reference", ""))[:60], fitid=str(row.get("fitid", ""))[:255]))
    return lines
