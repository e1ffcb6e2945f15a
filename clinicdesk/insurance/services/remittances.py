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
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_event_rows
from clinicdesk.core.batch_sql import rows_insert
from clinicdesk.core.models import Organization
from clinicdesk.core.money import round_money
from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import JournalEntry, OpenItem
from clinicdesk.ledger.selectors import item_balances
from clinicdesk.ledger.services import EntrySpec, LineSpec, account_for, entries_post, entry_reverse

from ..choices import (
    OPEN_DENIAL_REVIEWS,
    ClaimEventKind,
    ClaimStatus,
    DenialReview,
    RemitClaimState,
    RemittanceStatus,
    TransactionKind,
)
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
from ..x12.codes import carc
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


def allocate(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`amount` split in cents in proportion to `weights` (a weight below zero counts as nothing; all nothing: equal
    shares); the rounding remainder goes to the largest weight, so the pieces add up to `amount` exactly."""
    if not weights:
        raise ValueError("nothing to allocate over")
    clean = [w if w > 0 else ZERO for w in weights]
    total = sum(clean, ZERO)
    if total == 0:
        clean, total = [Decimal(1)] * len(weights), Decimal(len(weights))
    pieces = [round_money(amount * w / total) for w in clean]
    largest = max(range(len(clean)), key=clean.__getitem__)
    pieces[largest] += amount - sum(pieces, ZERO)
    return pieces


class _LineMoney:
    """What one claim line gets from a claim payment: paid, each adjustment as (group, CARC, amount, claim-level), and
    how much more than its own paid and adjusted amounts the payment settles on its item (`extra`)."""

    __slots__ = ("adjustments", "extra", "paid", "touched")

    def __init__(self) -> None:
        self.paid = self.extra = ZERO
        self.adjustments: list[tuple[str, str, Decimal, bool]] = []
        self.touched = False  # a line the payment does not name keeps what earlier payments set

    def total(self, *, patient: bool, claim_level: bool | None = None) -> Decimal:
        return sum((amount for group, _, amount, level in self.adjustments
                    if (group == "PR") == patient and (claim_level is None or level == claim_level)), ZERO)

    @property
    def cash(self) -> Decimal:
        """What the payer actually paid for the line: claim-level CAS comes out of its service line's payment."""
        return self.paid + self.extra - self.total(patient=False, claim_level=True) - self.total(patient=True, claim_level=True)

    @property
    def settled(self) -> Decimal:
        """What comes off the line's insurance item."""
        return self.paid + self.extra + sum((a for _, _, a, level in self.adjustments if not level), ZERO)


def _line_money(cp, ordered: list[ClaimLine], matched: list[ClaimLine], balances: dict[int, Decimal]) -> dict[int, _LineMoney]:
    """Each claim line's share of the payment: service lines by their match; without service lines the payment is
    spread in line order up to each line's charge. Claim-level CAS is allocated over the lines by what each still
    has open after its own amounts (by its balance before the payment when the lines settle everything)."""
    per_line = {cl.pk: _LineMoney() for cl in ordered}
    if cp.lines and matched:
        for svc, cl in zip(cp.lines, matched, strict=True):
            money = per_line[cl.pk]
            money.paid += svc.paid
            money.touched = True
            money.adjustments += [(a.group, a.reason, a.amount, False) for a in svc.adjustments]
    else:
        remaining = cp.paid
        for cl in ordered:
            share = min(remaining, cl.charge) if cl is not ordered[-1] else remaining
            per_line[cl.pk].paid += share
            per_line[cl.pk].touched = True
            remaining -= share
    if not cp.adjustments or not ordered:
        return per_line
    before = [balances.get(cl.item_id, cl.charge) if cl.item_id else cl.charge for cl in ordered]
    after = [b - per_line[cl.pk].settled for b, cl in zip(before, ordered, strict=True)]
    weights = after if any(w > 0 for w in after) else before
    for a in cp.adjustments:
        for cl, piece in zip(ordered, allocate(a.amount, weights), strict=True):
            if piece:
                per_line[cl.pk].adjustments.append((a.group, a.reason, piece, True))
                per_line[cl.pk].touched = True
    # The claim balances as CLP03 - all CAS = CLP04. With service lines each line balances on its own, so claim-level
    # CAS takes money out of the lines' payments and settles nothing more; without them (or when the payer left the
    # lines paying what the claim paid) the claim-level amounts settle the items too.
    claim_level = sum((a.amount for a in cp.adjustments), ZERO)
    beyond = cp.paid + claim_level - sum((m.paid for m in per_line.values()), ZERO)
    if beyond == claim_level:
        for money in per_line.values():
            money.extra = money.total(patient=False, claim_level=True) + money.total(patient=True, claim_level=True)
    elif beyond:
        for cl, piece in zip(ordered, allocate(beyond, weights), strict=True):
            per_line[cl.pk].extra = piece
            per_line[cl.pk].touched = True
    return per_line


def _claim_posting(*, remit: Remit835, cp, claim: Claim, matched: list[ClaimLine], bank: str,
                   rclaim: RemittanceClaim, line_rows: list[RemittanceLine], balances: dict[int, Decimal],
                   hold: bool = False, decision: str = "") -> _Posting:
    """The entry for one claim payment, and the claim's and its lines' new amounts. `hold`: a full denial, nothing
    moves until the biller decides. `decision`: the biller's write-off or transfer of a denial held earlier."""
    ordered = sorted(claim.lines.all(), key=lambda cl: cl.sequence)
    per_line = _line_money(cp, ordered, matched, balances)
    spec: list[LineSpec] = []
    patient_items = []
    memo = f"ERA {remit.trace_number} claim {claim.claim_number}"
    if cp.paid and not hold:
        spec.append(LineSpec(account=bank, amount=cp.paid, patient=claim.patient_id, memo=memo))
    total_pr = ZERO
    for cl in ordered:
        money = per_line[cl.pk]
        if not money.touched:
            continue
        item = cl.item
        pr = money.total(patient=True)
        if decision == DenialReview.WRITTEN_OFF:
            pr = ZERO  # the practice absorbs the patient's share too
        if hold:
            cl.paid_amount = cl.patient_responsibility = cl.allowed_amount = ZERO
            continue
        settled = money.settled
        if settled:
            target = item.account if item is not None else AccountRole.INSURANCE_RECEIVABLE
            spec.append(LineSpec(account=target, amount=-settled, item=item, patient=claim.patient_id, memo=memo))
        if decision:
            # a denial settled by the biller: every amount written off names its group and CARC
            for group, reason, amount, _ in money.adjustments:
                if group != "PR" or decision == DenialReview.WRITTEN_OFF:
                    spec.append(LineSpec(account=AccountRole.CONTRACTUAL_ADJUSTMENT, amount=amount,
                                         patient=claim.patient_id,
                                         memo=f"{memo}: denial written off {group}-{reason} {carc(reason)}"[:200]))
        else:
            line_adj = money.total(patient=False, claim_level=False)
            if line_adj:
                spec.append(LineSpec(account=AccountRole.CONTRACTUAL_ADJUSTMENT, amount=line_adj,
                                     patient=claim.patient_id, memo=f"{memo}: adjustment"))
            claim_adj = money.total(patient=False, claim_level=True)
            if claim_adj:
                spec.append(LineSpec(account=AccountRole.CONTRACTUAL_ADJUSTMENT, amount=claim_adj,
                                     patient=claim.patient_id, memo=f"{memo}: claim-level adjustment"))
        if pr:
            patient_item = OpenItem(patient_id=claim.patient_id, party_kind=PartyKind.PATIENT,
                                    service_date=cl.service_date or claim.service_from,
                                    description=(item.description if item else f"Claim {claim.claim_number}")[:200])
            patient_items.append((len(spec), patient_item, pr, cl))
            spec.append(LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=pr, patient=claim.patient_id,
                                 memo=f"{memo}: patient responsibility"))
        cl.paid_amount = money.cash
        cl.patient_responsibility = pr
        cl.allowed_amount = money.cash + pr
        total_pr += pr
    for row, svc in zip(line_rows, cp.lines, strict=False):
        if row.allowed is None:
            row.allowed = svc.charge - sum((a.amount for a in svc.adjustments if a.group in WRITE_OFF_GROUPS), ZERO)
    claim.paid_amount = ZERO if hold else cp.paid
    claim.patient_responsibility = total_pr
    claim.allowed_amount = claim.paid_amount + claim.patient_responsibility
    if not decision:
        claim.payer_claim_number = cp.payer_claim_control_number[:50]
        claim.adjudicated_on = remit.payment_date or timezone.localdate()
        denial = next((a for a in cp.adjustments + [a for s in cp.lines for a in s.adjustments] if a.group != "PR"),
                      None) or next(iter(cp.adjustments + [a for s in cp.lines for a in s.adjustments]), None)
        if (cp.is_denied or hold) and denial is not None:
            claim.denial_reason = f"{denial.group}-{denial.reason}"
    if hold:
        rclaim.review = DenialReview.PENDING
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


def contract_check_point(remittance: Remittance, rows) -> None:
    """Underpayments against the payer's contract: services.contracts provides `remittance_lines_check`. It gets the
    lines just posted, with their claims and claim lines in memory (reversals are not checked)."""
    from .contracts import remittance_lines_check

    lines = [line for rclaim, _, line_rows in rows if rclaim.status_code != "22" for line in line_rows]
    # the contract reads a line's adjustments only when the payer sent no allowed amount and none was worked out
    prefetch_related_objects([line for line in lines if line.allowed is None], "adjustments")
    remittance_lines_check(remittance, lines)


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
    rclaims = rows_insert(RemittanceClaim, [
        RemittanceClaim(
            remittance=record, claim_number=cp.claim_id[:40], status_code=cp.status, charge=cp.charge, paid=cp.paid,
            patient_responsibility=cp.patient_responsibility, payer_claim_number=cp.payer_claim_control_number[:50],
            patient_name=f"{cp.patient_last_name}, {cp.patient_first_name}".strip(", ")[:120],
        ) for cp in remit.claims
    ])
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
    rows_insert(RemittanceLine, flat_lines)
    adjustments = []
    for rc, cp, rows in zip(rclaims, remit.claims, line_rows, strict=True):
        adjustments += [RemittanceAdjustment(remittance_claim=rc, group_code=a.group, reason_code=a.reason[:5],
                                             amount=a.amount, quantity=a.quantity) for a in cp.adjustments]
        for row, svc in zip(rows, cp.lines, strict=True):
            adjustments += [RemittanceAdjustment(remittance_claim=rc, line=row, group_code=a.group,
                                                 reason_code=a.reason[:5], amount=a.amount, quantity=a.quantity)
                            for a in svc.adjustments]
    rows_insert(RemittanceAdjustment, adjustments)
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
    reversals: list[RemittanceClaim] = []
    events: list[ClaimEvent] = []
    audits: list[dict] = []
    exceptions: list[RemittanceClaim] = []
    to_post: list[tuple[RemittanceClaim, object, Claim, list[ClaimLine], list[RemittanceLine]]] = []
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
            earlier = _reversible(claim)
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
        rclaim.claim = claim
        to_post.append((rclaim, cp, claim, matched, line_rows))
    # claim-level CAS is spread over what each line still has open: one query for the claims that carry it
    balances = item_balances(item_ids=[cl.item_id for _, cp, claim, _, _ in to_post if cp.adjustments
                                       for cl in claim.lines.all() if cl.item_id])
    postings = [_claim_posting(remit=remit, cp=cp, claim=claim, matched=matched, bank=bank, rclaim=rclaim,
                               line_rows=line_rows, balances=balances, hold=cp.is_full_denial)
                for rclaim, cp, claim, matched, line_rows in to_post]
    _post(organization=organization, remit=remit, postings=postings, actor=actor, events=events, audits=audits)
    # a denial still open from an earlier remittance is settled by this one's answer for the claim; the practice's
    # open denials are few (a partial index holds them), so they are read first rather than matched by 10,000 ids
    posted = {p.claim.pk for p in postings}
    settled = [pk for pk, claim_id in RemittanceClaim.objects.filter(
        review__in=OPEN_DENIAL_REVIEWS, remittance__organization=organization).exclude(remittance=record)
        .values_list("pk", "claim_id") if claim_id in posted]
    if settled:
        RemittanceClaim.objects.filter(pk__in=settled).update(review=DenialReview.CLOSED)
    rows_set(RemittanceClaim, [p.rclaim for p in postings] + exceptions + reversals,
             ["claim", "state", "exception_reason", "entry", "review"])
    rows_set(RemittanceLine, [r for _, _, rows_ in rows for r in rows_], ["claim_line", "allowed"])
    rows_insert(ClaimEvent, events)
    audit_event_rows(audits)
    return len(postings) + len(reversals), len(exceptions)


def _reversible(claim: Claim) -> RemittanceClaim | None:
    """The claim's latest answer a reversal (CLP02 22) takes back: a posting not yet reversed, or a denial still
    waiting for the biller (nothing was posted for it)."""
    return (RemittanceClaim.objects.filter(claim=claim, state=RemitClaimState.POSTED)
            .filter(Q(entry__isnull=False, entry__reversed_by__isnull=True)
                    | Q(entry__isnull=True, review__in=OPEN_DENIAL_REVIEWS))
            .exclude(status_code="22").select_related("entry").order_by("-id").first())


def _reverse(*, claim: Claim, rclaim: RemittanceClaim, earlier: RemittanceClaim, remit, actor, events, audits) -> None:
    """CLP02=22: the earlier posting of the claim reversed in the ledger (a denial still in review has none to
    reverse), and the claim back where it was."""
    rclaim.claim = claim
    if earlier.entry is not None:
        rclaim.entry = entry_reverse(entry=earlier.entry, actor=actor,
                                     memo=f"ERA {remit.trace_number}: reversal of claim {claim.claim_number}")
    if earlier.review:
        earlier.review = DenialReview.CLOSED
        earlier.save(update_fields=["review"])
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


def _post(*, organization, remit: Remit835, postings: list[_Posting], actor, events, audits,
          entry_date: date | None = None, memo: str = "", outcome: str = "") -> None:
    """The postings' entries in one batch, then the claims' and lines' new amounts and statuses. `outcome` forces the
    claims' status (a denial the biller settled); otherwise it follows from what was paid."""
    if not postings:
        return
    accounts: dict = {}
    new_items = [item for p in postings for _, item, _, _ in p.patient_items]
    if new_items:
        # open_items_create looks the account up per item; one lookup serves the whole file
        receivable = account_for(organization, AccountRole.PATIENT_RECEIVABLE)
        for item in new_items:
            item.organization, item.account = organization, receivable
        rows_insert(OpenItem, new_items)
    specs = []
    entry_date = entry_date or remit.payment_date or timezone.localdate()
    for p in postings:
        lines = list(p.spec_lines)
        for index, item, amount, _cl in p.patient_items:
            lines[index] = LineSpec(account=item.account, amount=amount, item=item, patient=p.claim.patient_id,
                                    memo=lines[index].memo)
        if len(lines) < 2:
            continue  # a zero-paid claim with nothing adjusted, or a denial held for review: nothing moves
        specs.append((p, EntrySpec(entry_date=entry_date, kind=EntryKind.PAYMENT,
                                   lines=_with_accounts(organization, lines, accounts),
                                   memo=(memo or f"ERA {remit.trace_number}: claim {p.claim.claim_number}")[:300])))
    posted = entries_post(organization=organization, entries=[s for _, s in specs], actor=actor)
    for (p, _), entry in zip(specs, posted, strict=True):
        p.rclaim.entry = entry
    claims, lines = [], []
    for p in postings:
        p.rclaim.state = RemitClaimState.POSTED
        if outcome:
            status, text = outcome, f"Denial of ERA {remit.trace_number}: {DenialReview(p.rclaim.review).label.lower()}"
        else:
            if p.rclaim.review == DenialReview.PENDING or (p.rclaim.status_code == "4" and p.claim.paid_amount == 0):
                status = ClaimStatus.DENIED
            else:
                status = ClaimStatus.PARTIALLY_PAID if _open_after(p) else ClaimStatus.PAID
            text = f"ERA {remit.trace_number}: paid {p.claim.paid_amount}"
        _set_claim_status(p.claim, status, actor=actor, text=text, events=events, audits=audits)
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
            contract_check_point(record, rows)
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
        balances = item_balances(item_ids=[cl.item_id for cl in claim.lines.all() if cl.item_id]) if cp.adjustments else {}
        posting = _claim_posting(remit=header, cp=cp, claim=claim, matched=matched,
                                 bank=_bank_role(remittance.payment_method), rclaim=rc, line_rows=line_rows,
                                 balances=balances, hold=cp.is_full_denial)
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


DENIAL_DECISIONS = (DenialReview.APPEALED, DenialReview.WRITTEN_OFF, DenialReview.TRANSFERRED)


@transaction.atomic
def remittance_denial_decide(*, remittance_claim: RemittanceClaim, decision: str, actor) -> RemittanceClaim:
    """The biller's decision on a full denial held for review: appeal (the balance stays on the insurance item), write
    off (every denied amount posted now to contractual adjustments, each with its CARC), or transfer to the patient
    (the PR amounts moved to a patient item, anything else written off with its CARC: it cannot be billed to them)."""
    rc = RemittanceClaim.objects.select_for_update().select_related("remittance").get(pk=remittance_claim.pk)
    if decision not in DENIAL_DECISIONS:
        raise ValidationError({"decision": "Choose appeal, write off or transfer to the patient."})
    if rc.review not in OPEN_DENIAL_REVIEWS or rc.claim_id is None:
        raise ValidationError({"decision": f"Claim {rc.claim_number} is not a denial waiting for a decision."})
    if decision == DenialReview.APPEALED and rc.review == DenialReview.APPEALED:
        raise ValidationError({"decision": f"Claim {rc.claim_number} is already appealed."})
    remittance = rc.remittance
    organization = remittance.organization
    claim = Claim.objects.select_related("patient").prefetch_related("lines__item__account").get(pk=rc.claim_id)
    events: list = []
    audits: list = []
    if decision == DenialReview.APPEALED:
        rc.review = decision
        _set_claim_status(claim, ClaimStatus.APPEALED, actor=actor, events=events, audits=audits,
                          text=f"Denial of ERA {remittance.check_number} appealed; the balance stays with the payer")
        claim.save(update_fields=["status", "updated_at"])
    else:
        cp = _remit_of(remittance, rc)
        line_rows = list(rc.lines.all())
        by_pk = {cl.pk: cl for cl in claim.lines.all()}
        matched = [by_pk[row.claim_line_id] for row in line_rows if row.claim_line_id in by_pk]
        if len(matched) != len(line_rows):
            matched = []
        balances = item_balances(item_ids=list({cl.item_id for cl in by_pk.values() if cl.item_id}))
        posting = _claim_posting(remit=_Header(remittance), cp=cp, claim=claim, matched=matched,
                                 bank=_bank_role(remittance.payment_method), rclaim=rc, line_rows=[],
                                 balances=balances, decision=decision)
        if decision == DenialReview.TRANSFERRED and not posting.patient_items:
            raise ValidationError({"decision": (
                f"Claim {rc.claim_number}: the denial names no patient responsibility (PR) to transfer; appeal it or "
                "write it off.")})
        rc.review = decision
        _post(organization=organization, remit=_Header(remittance), postings=[posting], actor=actor, events=events,
              audits=audits, entry_date=timezone.localdate(), outcome=ClaimStatus.CLOSED,
              memo=f"Denial of claim {claim.claim_number} (ERA {remittance.check_number}): "
                   f"{DenialReview(decision).label.lower()}")
    rc.save(update_fields=["review", "entry"])
    ClaimEvent.objects.bulk_create(events)
    audit_event_rows(audits)
    audit_event(action="remittance.denial_decided", actor=actor, target=rc, organization_id=organization.pk,
                patient=claim.patient,
                summary=f"ERA {remittance.check_number} claim {rc.claim_number}: {DenialReview(decision).label}")
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
