"""835 remittances: import a file, match its claim payments to claims, post what matched to the ledger, and keep
what did not in the exceptions queue.

Money: each matched claim payment is one balanced entry. The payment lands in the operating bank account when it
came electronically (ACH, FWT, BOP: the money is already in the bank) and in undeposited funds when it is a check
(CHK: it still has to be taken to the bank, and the deposit moves it). The claim lines' insurance open items are
credited with what was paid, what was adjusted off (CO, PI, OA: debited to contractual adjustments) and what the
patient owes (PR: debited to a new patient open item for the same service). Provider-level adjustments (PLB) are
one more entry: interest (L6) is income booked as an administrative adjustment; every other PLB (recoupments,
forward balances, overpayment recovery) is set against insurance receivables. A claim payment that cannot be
matched posts nothing until it is resolved from the exceptions queue.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_event_rows
from clinicdesk.core.models import Organization
from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import JournalEntry, OpenItem
from clinicdesk.ledger.services import EntrySpec, LineSpec, account_for, entries_post, entry_reverse

from ..choices import ClaimEventKind, ClaimStatus, RemitClaimState, RemittanceStatus, TransactionKind
from ..models import (
    Claim,
    ClaimEvent,
    ClaimLine,
    Payer,
    ProviderAdjustment,
    Remittance,
    RemittanceAdjustment,
    RemittanceClaim,
    RemittanceLine,
    X12Exchange,
)
from ..x12.segments import X12Error, only_transactions
from ..x12.x835 import Remittance as Remit835
from ..x12.x835 import _read_transaction
from .bulk_rows import rows_set

ZERO = Decimal("0")
ELECTRONIC = frozenset({"ACH", "FWT", "BOP"})
INTEREST = "L6"
WRITE_OFF_GROUPS = frozenset({"CO", "PI", "OA", "CR"})


@dataclass
class TransactionResult:
    """What one 835 transaction did: shown by the upload page and printed by `manage.py import_835`."""

    remittance: Remittance | None
    payer: str
    check_number: str
    total_paid: Decimal
    claims_matched: int = 0
    claims_exceptions: int = 0
    provider_adjustments: Decimal = ZERO
    balanced: bool = True
    already_imported: bool = False
    message: str = ""


@dataclass
class ImportResult:
    file_name: str
    exchange: X12Exchange | None
    transactions: list[TransactionResult] = field(default_factory=list)


def _x12_message(error: X12Error, text: str) -> str:
    """The reader's message with the file line of the segment it names (segments usually sit one per line)."""
    line = ""
    if error.ordinal is not None:
        terminator = text[105] if len(text) > 105 and text.startswith("ISA") else "~"
        before = terminator.join(text.split(terminator)[: error.ordinal - 1])
        line = f"line {before.count(chr(10)) + 1}, "
    return f"{line}{error}"


def _segments_text(transaction_) -> str:
    return "~".join(str(s) for s in [transaction_.st, *transaction_.segments, transaction_.se])


def remittance_read(content: str) -> list[tuple[Remit835, str]]:
    """Every transaction of an 835 with the SHA-256 of its segments; a malformed file is a ValidationError naming
    the line and segment."""
    try:
        found = []
        for _, _, tx in only_transactions(content, "835"):
            remit = _read_transaction(tx.segments, tx.control_number)
            found.append((remit, hashlib.sha256(_segments_text(tx).encode()).hexdigest()))
        return found
    except X12Error as error:
        raise ValidationError({"file": _x12_message(error, content)}) from error


def _payer_for(organization: Organization, remit: Remit835) -> Payer | None:
    payers = Payer.objects.filter(organization=organization)
    if remit.payer.id:
        payer = payers.filter(payer_identifier=remit.payer.id).first()
        if payer:
            return payer
    if remit.payer.name:
        return payers.filter(name__iexact=remit.payer.name).first()
    return None


def _bank_role(method: str) -> str:
    return AccountRole.OPERATING_BANK if method in ELECTRONIC else AccountRole.UNDEPOSITED_FUNDS


def _match_lines(claim: Claim, lines_835, claim_lines: list[ClaimLine]) -> tuple[list[ClaimLine | None], str]:
    """Pair every SVC with one of the claim's lines: by the line item control number (REF*6R: the claim line's
    id or `<claim number>-<sequence>`), else by procedure code, modifiers and charge."""
    free = list(claim_lines)
    matched: list[ClaimLine | None] = []
    for svc in lines_835:
        hit = None
        if svc.line_control_number:
            hit = next((cl for cl in free if svc.line_control_number in (str(cl.pk), f"{claim.claim_number}-{cl.sequence}")), None)
        if hit is None:
            modifiers = ",".join(svc.modifiers)
            candidates = [cl for cl in free if cl.procedure_code == (svc.submitted_code or svc.procedure_code)]
            hit = next((cl for cl in candidates if cl.modifiers == modifiers and cl.charge == svc.charge), None) or next(
                (cl for cl in candidates if cl.charge == svc.charge), None)
        if hit is None:
            return [], f"line mismatch: no line {svc.procedure_code} {svc.charge} on claim {claim.claim_number}"
        free.remove(hit)
        matched.append(hit)
    return matched, ""


# A payment for a claim in one of these states is not posted blindly: a biller looks at it in the exceptions queue.
_NOT_PAYABLE = frozenset({ClaimStatus.DRAFT, ClaimStatus.SCRUBBED, ClaimStatus.CLOSED})


def _set_claim_status(claim: Claim, status: str, *, actor, text: str, events: list, audits: list) -> None:
    """The claim's new status with its ClaimEvent and audit row (queued; written in bulk by the caller)."""
    if claim.status == status:
        return
    events.append(ClaimEvent(claim=claim, kind=ClaimEventKind.STATUS, from_status=claim.status, to_status=status,
                             text=text[:500], actor=actor if getattr(actor, "is_authenticated", False) else None))
    audits.append({"action": "claim.status_changed", "actor": actor, "target": claim, "patient": claim.patient,
                   "summary": f"{claim.claim_number}: {claim.status} → {status} ({text[:120]})"})
    claim.status = status


@dataclass
class _Posting:
    rclaim: RemittanceClaim
    claim: Claim
    spec_lines: list[LineSpec]
    patient_items: list[tuple[int, OpenItem, Decimal, ClaimLine]]  # index in spec_lines of the placeholder


def _claim_posting(*, organization, remit: Remit835, cp, claim: Claim, matched: list[ClaimLine], bank: str,
                   rclaim: RemittanceClaim, line_rows: list[RemittanceLine]) -> _Posting:
    """The entry for one claim payment, and the claim's and its lines' new amounts."""
    ordered = sorted(claim.lines.all(), key=lambda cl: cl.sequence)
    first = ordered[0] if ordered else None
    per_line: dict[int, dict[str, Decimal]] = defaultdict(lambda: {"paid": ZERO, "adj": ZERO, "pr": ZERO})
    line_by_pk = {cl.pk: cl for cl in ordered}
    if cp.lines and matched:
        for svc, cl in zip(cp.lines, matched, strict=True):
            bucket = per_line[cl.pk]
            bucket["paid"] += svc.paid
            for a in svc.adjustments:
                bucket["pr" if a.group == "PR" else "adj"] += a.amount
    else:
        # no service lines: the payment is spread over the claim's lines in order, up to each line's charge
        remaining = cp.paid
        for cl in ordered:
            share = min(remaining, cl.charge) if cl is not ordered[-1] else remaining
            per_line[cl.pk]["paid"] += share
            remaining -= share
    if first is not None:
        for a in cp.adjustments:
            per_line[first.pk]["pr" if a.group == "PR" else "adj"] += a.amount
    spec: list[LineSpec] = []
    patient_items = []
    memo = f"ERA {remit.trace_number} claim {claim.claim_number}"
    if cp.paid:
        spec.append(LineSpec(account=bank, amount=cp.paid, patient=claim.patient_id, memo=memo))
    for pk, amounts in per_line.items():
        cl = line_by_pk.get(pk)
        item = cl.item if cl is not None else None
        target = item.account if item is not None else AccountRole.INSURANCE_RECEIVABLE
        settled = amounts["paid"] + amounts["adj"] + amounts["pr"]
        if settled:
            spec.append(LineSpec(account=target, amount=-settled, item=item, patient=claim.patient_id, memo=memo))
        if amounts["adj"]:
            spec.append(LineSpec(account=AccountRole.CONTRACTUAL_ADJUSTMENT, amount=amounts["adj"],
                                 patient=claim.patient_id, memo=f"{memo}: adjustment"))
        if amounts["pr"]:
            patient_item = OpenItem(patient_id=claim.patient_id, party_kind=PartyKind.PATIENT,
                                    service_date=cl.service_date if cl else claim.service_from,
                                    description=(item.description if item else f"Claim {claim.claim_number}")[:200])
            patient_items.append((len(spec), patient_item, amounts["pr"], cl))
            spec.append(LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=amounts["pr"], patient=claim.patient_id,
                                 memo=f"{memo}: patient responsibility"))
        if cl is not None:
            cl.paid_amount = amounts["paid"]
            cl.patient_responsibility = amounts["pr"]
            cl.allowed_amount = amounts["paid"] + amounts["pr"]
    for row, svc in zip(line_rows, cp.lines, strict=False):
        if row.allowed is None:
            row.allowed = svc.charge - sum((a.amount for a in svc.adjustments if a.group in WRITE_OFF_GROUPS), ZERO)
    claim.paid_amount = cp.paid
    claim.patient_responsibility = sum((a["pr"] for a in per_line.values()), ZERO)
    claim.allowed_amount = claim.paid_amount + claim.patient_responsibility
    claim.payer_claim_number = cp.payer_claim_control_number[:50]
    claim.adjudicated_on = remit.payment_date or timezone.localdate()
    denial = next((a for a in cp.adjustments + [a for s in cp.lines for a in s.adjustments] if a.group != "PR"), None)
    if cp.is_denied and denial is not None:
        claim.denial_reason = f"{denial.group}-{denial.reason}"
    return _Posting(rclaim=rclaim, claim=claim, spec_lines=spec, patient_items=patient_items)


def _plb_lines(remit: Remit835, bank: str) -> list[LineSpec]:
    lines: list[LineSpec] = []
    for adj in remit.provider_adjustments:
        if not adj.amount:
            continue
        memo = f"ERA {remit.trace_number} PLB {adj.reason} {adj.reference}".strip()
        counter = AccountRole.ADMINISTRATIVE_ADJUSTMENT if adj.reason == INTEREST else AccountRole.INSURANCE_RECEIVABLE
        # a positive PLB amount reduces the payment: less money in the bank, against the counter account
        lines.append(LineSpec(account=bank, amount=-adj.amount, memo=memo))
        lines.append(LineSpec(account=counter, amount=adj.amount, memo=memo))
    return lines


def contract_check_point(remittance: Remittance) -> None:
    """Underpayments against the payer's contract: services.contracts provides `remittance_lines_check`."""
    from .contracts import remittance_lines_check

    remittance_lines_check(remittance)


def _store(organization, remit: Remit835, sha: str, exchange, payer, actor) -> tuple[Remittance, list]:
    """The Remittance and its claims, lines, adjustments and PLB rows (bulk inserts)."""
    record = Remittance(
        organization=organization, payer=payer, payer_name=remit.payer.name[:120], payer_identifier=remit.payer.id[:30],
        check_number=remit.trace_number[:50], payment_method=remit.payment_method[:3], payment_date=remit.payment_date,
        total_paid=remit.payment_amount, claims_total=remit.claims_paid,
        provider_adjustments_total=remit.provider_adjustment_total, balanced=remit.balanced, exchange=exchange,
        sha256=sha, imported_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record.save()
    rclaims = RemittanceClaim.objects.bulk_create([
        RemittanceClaim(
            remittance=record, claim_number=cp.claim_id[:40], status_code=cp.status, charge=cp.charge, paid=cp.paid,
            patient_responsibility=cp.patient_responsibility, payer_claim_number=cp.payer_claim_control_number[:50],
            patient_name=f"{cp.patient_last_name}, {cp.patient_first_name}".strip(", ")[:120],
        ) for cp in remit.claims
    ], batch_size=2000)
    line_rows: list[list[RemittanceLine]] = []
    flat_lines = []
    for rc, cp in zip(rclaims, remit.claims, strict=True):
        rows = [RemittanceLine(
            remittance_claim=rc, procedure_code=svc.procedure_code[:10], modifiers=",".join(svc.modifiers)[:15],
            charge=svc.charge, paid=svc.paid, allowed=svc.allowed, units=svc.units, service_date=svc.service_from,
            remark_codes=",".join(svc.remark_codes)[:100],
        ) for svc in cp.lines]
        line_rows.append(rows)
        flat_lines += rows
    RemittanceLine.objects.bulk_create(flat_lines, batch_size=2000)
    adjustments = []
    for rc, cp, rows in zip(rclaims, remit.claims, line_rows, strict=True):
        adjustments += [RemittanceAdjustment(remittance_claim=rc, group_code=a.group, reason_code=a.reason[:5],
                                             amount=a.amount, quantity=a.quantity) for a in cp.adjustments]
        for row, svc in zip(rows, cp.lines, strict=True):
            adjustments += [RemittanceAdjustment(remittance_claim=rc, line=row, group_code=a.group,
                                                 reason_code=a.reason[:5], amount=a.amount, quantity=a.quantity)
                            for a in svc.adjustments]
    RemittanceAdjustment.objects.bulk_create(adjustments, batch_size=2000)
    ProviderAdjustment.objects.bulk_create([
        ProviderAdjustment(remittance=record, reason_code=p.reason[:2], reference=p.reference[:50], amount=p.amount)
        for p in remit.provider_adjustments
    ])
    return record, list(zip(rclaims, remit.claims, line_rows, strict=True))


def _post_claims(*, organization, remit: Remit835, record: Remittance, rows, payer, actor) -> tuple[int, int]:
    """Match and post every claim payment of one stored remittance; unmatched ones go to exceptions."""
    bank = _bank_role(remit.payment_method)
    numbers = {cp.claim_id for _, cp, _ in rows}
    claims = {
        c.claim_number: c
        for c in Claim.objects.filter(organization=organization, claim_number__in=numbers)
        .select_related("patient").prefetch_related("lines__item__account")
    }
    postings: list[_Posting] = []
    reversals: list[RemittanceClaim] = []
    events: list[ClaimEvent] = []
    audits: list[dict] = []
    exceptions: list[RemittanceClaim] = []
    matched_rows: list[RemittanceLine] = []
    for rclaim, cp, line_rows in rows:
        claim = claims.get(cp.claim_id)
        reason = ""
        if claim is None:
            reason = f"unknown claim: no claim {cp.claim_id} in the practice"
        elif payer is not None and claim.payer_id != payer.pk:
            reason = f"payer mismatch: claim {cp.claim_id} was billed to another payer"
        elif not cp.is_reversal and claim.status in _NOT_PAYABLE:
            reason = f"claim {cp.claim_id} is {claim.get_status_display().lower()}: it was never sent or is closed"
        if not reason and cp.is_reversal:
            earlier = (RemittanceClaim.objects.filter(claim=claim, state=RemitClaimState.POSTED, entry__isnull=False,
                                                      entry__reversed_by__isnull=True)
                       .exclude(status_code="22").order_by("-id").first())
            if earlier is None:
                reason = f"reversal: no earlier payment of claim {cp.claim_id} to reverse"
            else:
                # reversed at once: a corrected payment later in the same file posts against the restored claim
                _reverse(claim=claim, rclaim=rclaim, earlier=earlier, remit=remit, actor=actor, events=events, audits=audits)
                reversals.append(rclaim)
                continue
        matched: list[ClaimLine] = []
        if not reason and cp.lines:
            matched, reason = _match_lines(claim, cp.lines, list(claim.lines.all()))
        if reason:
            rclaim.state = RemitClaimState.EXCEPTION
            rclaim.exception_reason = reason[:300]
            exceptions.append(rclaim)
            continue
        for row, cl in zip(line_rows, matched, strict=False):
            row.claim_line = cl
            matched_rows.append(row)
        rclaim.claim = claim
        postings.append(_claim_posting(organization=organization, remit=remit, cp=cp, claim=claim, matched=matched,
                                       bank=bank, rclaim=rclaim, line_rows=line_rows))
    _post(organization=organization, remit=remit, postings=postings, actor=actor, events=events, audits=audits)
    rows_set(RemittanceClaim, [p.rclaim for p in postings] + exceptions + reversals,
              ["claim", "state", "exception_reason", "entry"])
    rows_set(RemittanceLine, [r for _, _, rows_ in rows for r in rows_], ["claim_line", "allowed"])
    ClaimEvent.objects.bulk_create(events, batch_size=2000)
    audit_event_rows(audits)
    return len(postings) + len(reversals), len(exceptions)


def _reverse(*, claim: Claim, rclaim: RemittanceClaim, earlier: RemittanceClaim, remit, actor, events, audits) -> None:
    """CLP02=22: the earlier posting of the claim reversed in the ledger, and the claim back where it was."""
    reversal = entry_reverse(entry=earlier.entry, actor=actor,
                             memo=f"ERA {remit.trace_number}: reversal of claim {claim.claim_number}")
    rclaim.claim = claim
    rclaim.entry = reversal
    last = claim.events.filter(kind=ClaimEventKind.STATUS, to_status=claim.status).order_by("-id").first()
    restored = last.from_status if last and last.from_status else ClaimStatus.SUBMITTED
    claim.paid_amount = claim.allowed_amount = claim.patient_responsibility = ZERO
    for cl in claim.lines.all():
        cl.paid_amount = cl.allowed_amount = cl.patient_responsibility = ZERO
        cl.save(update_fields=["paid_amount", "allowed_amount", "patient_responsibility"])
    _set_claim_status(claim, restored, actor=actor, text=f"Payment reversed by ERA {remit.trace_number}",
                      events=events, audits=audits)
    claim.save(update_fields=["status", "paid_amount", "allowed_amount", "patient_responsibility", "updated_at"])


def _with_accounts(organization, lines: list[LineSpec], cache: dict) -> list[LineSpec]:
    """Role names replaced by the practice's accounts, looked up once per import rather than once per line."""
    out = []
    for line in lines:
        if isinstance(line.account, str):
            if line.account not in cache:
                cache[line.account] = account_for(organization, line.account)
            line = dataclasses.replace(line, account=cache[line.account])
        out.append(line)
    return out


def _post(*, organization, remit: Remit835, postings: list[_Posting], actor, events, audits) -> None:
    if not postings:
        return
    accounts: dict = {}
    new_items = [item for p in postings for _, item, _, _ in p.patient_items]
    if new_items:
        # open_items_create looks the account up per item; one lookup serves the whole file
        receivable = account_for(organization, AccountRole.PATIENT_RECEIVABLE)
        for item in new_items:
            item.organization, item.account = organization, receivable
        OpenItem.objects.bulk_create(new_items, batch_size=2000)
    specs = []
    entry_date = remit.payment_date or timezone.localdate()
    for p in postings:
        lines = list(p.spec_lines)
        for index, item, amount, _cl in p.patient_items:
            lines[index] = LineSpec(account=item.account, amount=amount, item=item, patient=p.claim.patient_id,
                                    memo=lines[index].memo)
        if len(lines) < 2:
            continue  # a zero-paid claim with nothing adjusted: nothing moves
        specs.append((p, EntrySpec(entry_date=entry_date, kind=EntryKind.PAYMENT,
                                   lines=_with_accounts(organization, lines, accounts),
                                   memo=f"ERA {remit.trace_number}: claim {p.claim.claim_number}"[:300])))
    posted = entries_post(organization=organization, entries=[s for _, s in specs], actor=actor)
    for (p, _), entry in zip(specs, posted, strict=True):
        p.rclaim.entry = entry
    claims, lines = [], []
    for p in postings:
        p.rclaim.state = RemitClaimState.POSTED
        cp_status = p.rclaim.status_code
        if cp_status == "4" or p.claim.paid_amount == 0:
            outcome = ClaimStatus.DENIED
        else:
            outcome = ClaimStatus.PARTIALLY_PAID if _open_after(p) else ClaimStatus.PAID
        _set_claim_status(p.claim, outcome, actor=actor, text=f"ERA {remit.trace_number}: paid {p.claim.paid_amount}",
                          events=events, audits=audits)
        claims.append(p.claim)
        lines += list(p.claim.lines.all())
    now = timezone.now()
    for claim in claims:
        claim.updated_at = now
    rows_set(Claim, claims, ["status", "paid_amount", "allowed_amount", "patient_responsibility",
                              "payer_claim_number", "adjudicated_on", "denial_reason", "updated_at"])
    rows_set(ClaimLine, lines, ["paid_amount", "allowed_amount", "patient_responsibility"])


def _open_after(posting: _Posting) -> bool:
    """Whether the insurer left part of the charge unsettled (neither paid, adjusted nor moved to the patient)."""
    settled = -sum((ln.amount for ln in posting.spec_lines if ln.amount < 0), ZERO)
    return settled < posting.claim.total_charge


def remittance_import(*, organization: Organization, content: str, file_name: str, actor) -> ImportResult:
    """Import one 835 file: every transaction is stored, matched and posted once (a transaction already imported
    posts nothing). A malformed or unbalanced file is refused whole, naming the line and segment or the numbers."""
    read = remittance_read(content)
    for remit, _ in read:
        if not remit.balanced:
            raise ValidationError({"file": (
                f"Transaction {remit.control_number} (check {remit.trace_number}) does not balance: BPR02 "
                f"{remit.payment_amount:.2f} but claims paid {remit.claims_paid:.2f} less provider adjustments "
                f"{remit.provider_adjustment_total:.2f} = {remit.claims_paid - remit.provider_adjustment_total:.2f}."
            )})
    try:
        return _import(organization=organization, read=read, content=content, file_name=file_name, actor=actor)
    except IntegrityError:
        # the same transaction imported at the same moment by someone else: this run answers "already imported"
        return _import(organization=organization, read=read, content=content, file_name=file_name, actor=actor)


def _import(*, organization, read, content: str, file_name: str, actor) -> ImportResult:
    known = set(Remittance.objects.filter(organization=organization, sha256__in=[s for _, s in read])
                .values_list("sha256", flat=True))
    result = ImportResult(file_name=file_name, exchange=None)
    with transaction.atomic():
        if any(sha not in known for _, sha in read):
            result.exchange = X12Exchange.objects.create(
                organization=organization, transaction=TransactionKind.X835, direction="in", file_name=file_name[:200],
                sha256=hashlib.sha256(content.encode()).hexdigest(), content=content,
                summary=f"{len(read)} remittance(s)",
            )
        for remit, sha in read:
            tr = TransactionResult(remittance=None, payer=remit.payer.name, check_number=remit.trace_number,
                                   total_paid=remit.payment_amount, provider_adjustments=remit.provider_adjustment_total,
                                   balanced=remit.balanced)
            result.transactions.append(tr)
            if sha in known:
                tr.already_imported = True
                tr.remittance = Remittance.objects.filter(organization=organization, sha256=sha).first()
                tr.message = "already imported"
                continue
            payer = _payer_for(organization, remit)
            record, rows = _store(organization, remit, sha, result.exchange, payer, actor)
            tr.remittance = record
            tr.claims_matched, tr.claims_exceptions = _post_claims(
                organization=organization, remit=remit, record=record, rows=rows, payer=payer, actor=actor)
            plb = _plb_lines(remit, _bank_role(remit.payment_method))
            if plb:
                record.entry = entries_post(organization=organization, actor=actor, entries=[EntrySpec(
                    entry_date=remit.payment_date or timezone.localdate(), kind=EntryKind.ADJUSTMENT, lines=plb,
                    memo=f"ERA {remit.trace_number}: provider-level adjustments")])[0]
            record.status = RemittanceStatus.EXCEPTIONS if tr.claims_exceptions else RemittanceStatus.POSTED
            record.message = (f"{tr.claims_matched} claim(s) posted, {tr.claims_exceptions} in exceptions")[:300]
            record.save(update_fields=["status", "message", "entry"])
            contract_check_point(record)
            audit_event(action="remittance.imported", actor=actor, target=record, organization_id=organization.pk,
                        summary=f"ERA {record.check_number} {record.payer_name} {record.total_paid}: {record.message}")
            tr.message = record.message
    return result


@transaction.atomic
def remittance_claim_resolve(*, remittance_claim: RemittanceClaim, actor, claim: Claim | None = None,
                             note: str = "") -> RemittanceClaim:
    """Take a claim payment out of the exceptions queue: post it to the chosen claim, or mark it handled with a note."""
    rc = RemittanceClaim.objects.select_for_update().select_related("remittance").get(pk=remittance_claim.pk)
    if rc.state != RemitClaimState.EXCEPTION:
        raise ValidationError({"remittance_claim": "This claim payment is not waiting in exceptions."})
    remittance = rc.remittance
    organization = remittance.organization
    if claim is None:
        if not note.strip():
            raise ValidationError({"note": "Say how it was handled."})
        rc.state = RemitClaimState.RESOLVED
        rc.exception_reason = f"{rc.exception_reason} | handled: {note.strip()}"[:300]
    else:
        if claim.organization_id != organization.pk:
            raise ValidationError({"claim": "Choose a claim of this practice."})
        remit = _remit_of(remittance, rc)
        cp = remit
        claim = Claim.objects.select_related("patient").prefetch_related("lines__item__account").get(pk=claim.pk)
        matched: list[ClaimLine] = []
        line_rows = list(rc.lines.all())
        if cp.lines:
            matched, reason = _match_lines(claim, cp.lines, list(claim.lines.all()))
            if reason:
                raise ValidationError({"claim": reason})
        header = _Header(remittance)
        posting = _claim_posting(organization=organization, remit=header, cp=cp, claim=claim, matched=matched,
                                 bank=_bank_role(remittance.payment_method), rclaim=rc, line_rows=line_rows)
        events: list = []
        audits: list = []
        rc.claim = claim
        _post(organization=organization, remit=header, postings=[posting], actor=actor, events=events, audits=audits)
        for row, cl in zip(line_rows, matched, strict=False):
            row.claim_line = cl
        RemittanceLine.objects.bulk_update(line_rows, ["claim_line", "allowed"])
        ClaimEvent.objects.bulk_create(events)
        audit_event_rows(audits)
        rc.state = RemitClaimState.RESOLVED
    rc.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
    rc.resolved_at = timezone.now()
    rc.save()
    if not remittance.claims.filter(state=RemitClaimState.EXCEPTION).exists():
        remittance.status = RemittanceStatus.POSTED
        remittance.save(update_fields=["status"])
    audit_event(action="remittance.exception_resolved", actor=actor, target=rc, organization_id=organization.pk,
                summary=f"ERA {remittance.check_number} claim {rc.claim_number}: "
                        f"{'posted to ' + claim.claim_number if claim else 'handled'}")
    return rc


class _Header:
    """The remittance fields posting reads, from a stored Remittance."""

    def __init__(self, remittance: Remittance) -> None:
        self.trace_number = remittance.check_number
        self.payment_date: date | None = remittance.payment_date
        self.payment_method = remittance.payment_method


def _remit_of(remittance: Remittance, rc: RemittanceClaim):
    """The stored claim payment as the reader's dataclass (for posting an exception once resolved)."""
    from ..x12.records import Adjustment
    from ..x12.x835 import ClaimPayment, ServiceLinePayment

    adjustments = list(rc.adjustments.all())
    cp = ClaimPayment(claim_id=rc.claim_number, status=rc.status_code, charge=rc.charge, paid=rc.paid,
                      patient_responsibility=rc.patient_responsibility, payer_claim_control_number=rc.payer_claim_number)
    cp.adjustments = [Adjustment(a.group_code, a.reason_code, a.amount, a.quantity) for a in adjustments if a.line_id is None]
    for row in rc.lines.all():
        cp.lines.append(ServiceLinePayment(
            procedure_code=row.procedure_code, charge=row.charge, paid=row.paid,
            modifiers=tuple(m for m in row.modifiers.split(",") if m), units=row.units, allowed=row.allowed,
            adjustments=[Adjustment(a.group_code, a.reason_code, a.amount, a.quantity) for a in adjustments
                         if a.line_id == row.pk],
        ))
    return cp


def remittance_entries(remittance: Remittance) -> list[JournalEntry]:
    ids = [e for e in remittance.claims.values_list("entry_id", flat=True) if e] + ([remittance.entry_id] if remittance.entry_id else [])
    return list(JournalEntry.objects.filter(pk__in=ids))
