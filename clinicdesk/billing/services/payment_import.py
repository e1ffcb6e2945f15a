"""A file of mailed checks and cash posted in one go: the bank's lockbox file, or another system's export, as CSV.

Columns (a header row names them, in any order): `reference` (the lockbox item or receipt number, unique per
payment: posting the same file again posts nothing twice), `account` (the account number), `amount` (like 85.00),
`method` (check or cash), `check_number` (for checks), and optionally `received_on` (YYYY-MM-DD, else today),
`patient` (the MRN of the patient on the account the payment is for), `memo` and `allow_credit` (yes to keep what is
over the balance as a credit, otherwise such a row is refused).

Every row is checked first; a preview posts the whole batch and rolls it back, so it shows exactly what posting
would do (settled oldest first, refused over the balance, already posted). One bad row and nothing is posted.
The rows go through `payments_post` (services/lockbox.py), the same rules as a payment taken at the desk.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.choices import ImportOutcome
from clinicdesk.core.money import format_money
from clinicdesk.core.tables import ImportResult, decode_import_file
from clinicdesk.patients.models import Patient

from ..choices import PaymentMethod
from ..models import PatientAccount
from .lockbox import PaymentInput, payments_post
from .payments import money_check

REQUIRED = ("reference", "account", "amount", "method")
OPTIONAL = ("check_number", "received_on", "patient", "memo", "allow_credit")
MAX_ROWS = 5000
_BATCH_ROW = re.compile(r"^Payment (\d+): (.*)$", re.DOTALL)


@dataclass
class PaymentRow:
    """One row of the file and what posting does with it."""

    line: int
    reference: str = ""
    account_number: str = ""
    amount: Decimal | None = None
    method: str = ""
    check_number: str = ""
    received_on: date | None = None
    outcome: str = ImportOutcome.NEW
    messages: list[str] = field(default_factory=list)

    def fail(self, column: str, text: str) -> None:
        self.outcome = ImportOutcome.ERROR
        self.messages.append(f"{column}: {text}")

    @property
    def message(self) -> str:
        return " ".join(self.messages)


@dataclass
class PaymentImportResult(ImportResult):
    """Every row's outcome (new, unchanged: posted before, error), as the code imports report theirs."""

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.rows if r.outcome == ImportOutcome.NEW and r.amount), Decimal("0"))


def _read(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ValidationError({"file": f"The file has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}; "
                                       f"the first row must name the columns ({', '.join(REQUIRED + OPTIONAL)})."})
    unknown = [h for h in header if h and h not in REQUIRED + OPTIONAL]
    if unknown:
        raise ValidationError({"file": f"Unknown column {', '.join(unknown)}; the columns are "
                                       f"{', '.join(REQUIRED + OPTIONAL)}."})
    reader.fieldnames = header
    rows = [{k: (v or "").strip() for k, v in raw.items() if k} for raw in reader]
    if not rows:
        raise ValidationError({"file": "The file has a header but no payments."})
    if len(rows) > MAX_ROWS:
        raise ValidationError({"file": f"The file has {len(rows):,} payments; post at most {MAX_ROWS:,} per file."})
    return rows


def _parse(organization, raw: list[dict[str, str]], location,
           first_line: int) -> tuple[list[PaymentRow], list[PaymentInput | None]]:
    numbers = {r.get("account", "") for r in raw}
    accounts = {a.number: a for a in PatientAccount.objects.filter(organization=organization, number__in=numbers)}
    mrns = {r.get("patient", "") for r in raw if r.get("patient")}
    patients = {p.mrn: p for p in Patient.objects.filter(organization=organization, mrn__in=mrns)} if mrns else {}
    today = timezone.localdate()
    seen: set[str] = set()
    rows, inputs = [], []
    for n, values in enumerate(raw, start=first_line):
        row = PaymentRow(line=n, reference=values.get("reference", ""), account_number=values.get("account", ""),
                         method=values.get("method", "").lower(), check_number=values.get("check_number", ""))
        if not row.reference:
            row.fail("reference", "every payment needs the lockbox item or receipt number.")
        elif len(row.reference) > 80:
            row.fail("reference", "at most 80 characters.")
        elif row.reference in seen:
            row.fail("reference", f"{row.reference} appears twice in the file.")
        seen.add(row.reference)
        account = accounts.get(row.account_number)
        if account is None:
            row.fail("account", f"{row.account_number or '(empty)'} is not an account of this practice.")
        try:
            row.amount = money_check(values.get("amount", ""), field="amount")
        except ValidationError as exc:
            row.fail("amount", " ".join(exc.messages))
        if row.method not in (PaymentMethod.CHECK, PaymentMethod.CASH):
            row.fail("method", f"'{values.get('method', '')}' is not check or cash (cards are taken one at a time).")
        elif row.method == PaymentMethod.CHECK and not row.check_number:
            row.fail("check_number", "a check needs its number.")
        if values.get("received_on"):
            try:
                row.received_on = date.fromisoformat(values["received_on"])
            except ValueError:
                row.fail("received_on", f"{values['received_on']} is not a date like 2026-11-02.")
            else:
                if row.received_on > today:
                    row.fail("received_on", "a payment cannot be dated in the future.")
        patient = None
        if values.get("patient"):
            patient = patients.get(values["patient"])
            if patient is None:
                row.fail("patient", f"no patient has MRN {values['patient']}.")
        credit = values.get("allow_credit", "").lower()
        if credit not in ("", "yes", "no", "y", "n", "true", "false", "1", "0"):
            row.fail("allow_credit", f"'{values['allow_credit']}' is not yes or no.")
        rows.append(row)
        inputs.append(None if row.outcome == ImportOutcome.ERROR else PaymentInput(
            account=account, amount=row.amount, method=row.method, idempotency_key=f"lockbox:{row.reference}",
            received_on=row.received_on, patient=patient, check_number=row.check_number,
            allow_credit=credit in ("yes", "y", "true", "1"), memo=values.get("memo", "")[:200],
            location=location if row.method == PaymentMethod.CASH else None,
        ))
    return rows, inputs


class _Preview(Exception):
    """Raised to roll a preview's posting back."""


def payment_batch_import(*, organization, file, actor, dry_run: bool, location=None) -> PaymentImportResult:
    """Check and post a CSV of check and cash payments (see the module docstring). A dry run posts the batch and
    rolls it back. `location` is where the file's cash was taken (checks by mail need none)."""
    return payment_rows_post(organization=organization, rows=_read(decode_import_file(file)), actor=actor,
                             dry_run=dry_run, location=location)


def payment_rows_post(*, organization, rows: list[dict[str, str]], actor, dry_run: bool, location=None,
                      first_line: int = 2) -> PaymentImportResult:
    """Check and post payments given as rows of text by column name (a file's rows, or the API's JSON items);
    `first_line` numbers them in messages (2 for a file under its header, 1 for the API's items)."""
    if len(rows) > MAX_ROWS:
        raise ValidationError({"payments": f"{len(rows):,} payments; post at most {MAX_ROWS:,} at a time."})
    rows, inputs = _parse(organization, rows, location, first_line)
    result = PaymentImportResult(rows=rows, dry_run=dry_run)
    if result.errors:
        return result
    try:
        with transaction.atomic():
            posted = payments_post(organization=organization, payments=inputs, actor=actor)
            for row, payment in zip(rows, posted, strict=True):
                if getattr(payment, "replayed", False):
                    row.outcome = ImportOutcome.UNCHANGED
                    row.messages.append(f"Already posted as {payment.public_id}.")
                else:
                    row.messages.append(f"{format_money(payment.amount)} {'check' if row.method == 'check' else 'cash'}"
                                        " on account " + row.account_number)
            if dry_run:
                raise _Preview
    except _Preview:
        return result
    except ValidationError as exc:
        _blame(rows, exc)
        return result
    result.saved = True
    return result


def _blame(rows: list[PaymentRow], exc: ValidationError) -> None:
    """Put the batch service's refusal ("Payment 3: ...") on its row; anything else on every row."""
    for column, texts in exc.message_dict.items():
        for text in texts:
            found = _BATCH_ROW.match(text)
            if found and 0 < int(found.group(1)) <= len(rows):
                row = rows[int(found.group(1)) - 1]
                if column == "idempotency_key":
                    row.fail("reference", f"{row.reference} was already posted with other details; check the file.")
                else:
                    row.fail(column, found.group(2))
            else:
                for row in rows:
                    row.fail(column, text)
    for row in rows:
        if row.outcome != ImportOutcome.ERROR:
            row.messages = []


__all__ = ["PaymentImportResult", "payment_batch_import", "payment_rows_post"]
