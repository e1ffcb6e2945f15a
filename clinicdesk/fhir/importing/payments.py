"""ExplanationOfBenefit resources: what the payer decided on a claim imported in the same run, recorded through
`claims_record_adjudicated` as a paid claim. Per line: the payer's payment (Blue Button's line provider payment
amount), the allowed amount, and the patient's share (allowed less paid: coinsurance, copay, deductible). A line
the payer did not adjudicate stays the patient's in full."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError

from clinicdesk.core.money import round_money
from clinicdesk.insurance.models import Coverage
from clinicdesk.insurance.services.claims import AdjudicatedClaim, AdjudicatedLine, claims_record_adjudicated

from . import references
from .bundle import Bundle, Entry
from .coverage import _eob_day, is_insured, payer_name
from .encounters import BilledVisit
from .identity import ImportContext
from .report import CREATED, SKIPPED

ZERO = Decimal("0")
PAID = ("line_prvdr_pmt_amt", "paid", "benefit", "paidtoprovider")
ALLOWED = ("line_alowd_chrg_amt", "eligible")


def _adjudication(entry: Entry, item: dict, n: int, codes: tuple[str, ...]) -> Decimal | None:
    for m, adj in enumerate(item.get("adjudication") or []):
        for coding in (adj.get("category") or {}).get("coding") or []:
            if (coding.get("code") or "").rsplit("/", 1)[-1] in codes:
                value = (adj.get("amount") or {}).get("value")
                if not isinstance(value, (Decimal, int)) or isinstance(value, bool) or value < 0:
                    raise entry.refused(f"'{value}' is not an amount.",
                                        f"ExplanationOfBenefit.item[{n}].adjudication[{m}].amount.value")
                return round_money(Decimal(value))
    return None


def payments_import(ctx: ImportContext, bundle: Bundle, billed: dict[str, BilledVisit],
                    coverages: dict[tuple[int, int], Coverage]) -> None:
    """Paid claims for the bundle's claim answers whose claims were imported in this run."""
    eobs = bundle.of("ExplanationOfBenefit")
    ctx.load([("ExplanationOfBenefit", e.source_id) for e in eobs])
    claims: list[AdjudicatedClaim] = []
    sources: list[Entry] = []
    for entry in eobs:
        resource = entry.resource
        claim_entry = bundle.resolve(entry, resource.get("claim"), "ExplanationOfBenefit.claim", kinds=("Claim",))
        row = ctx.find("ExplanationOfBenefit", entry.source_id)
        if row is not None:
            ctx.skip_imported("claim payments", row, resource,
                              changed="it changed at the source, but posted payments are corrected in billing, not by an import")
            continue
        visit = billed.get(claim_entry.full_url)
        if visit is None:
            reason = ("its claim was imported in an earlier run" if ctx.find("Claim", claim_entry.source_id)
                      else "its claim holds no line imported here")
            ctx.report.add(SKIPPED, "claim payments", reason=reason)
            continue
        name = payer_name(resource)
        if not is_insured(name):
            ctx.report.add(SKIPPED, "claim payments", reason="no payer (self-pay): the patient owes the charges")
            continue
        payer = references.payer(ctx, name, entry)
        coverage = coverages[(visit.encounter.patient_id, payer.pk)]
        lines = []
        for n, item in enumerate(resource.get("item") or []):
            service = visit.lines.get(item.get("sequence"))
            if service is None:
                continue
            charge = service.amount
            paid = _adjudication(entry, item, n, PAID)
            allowed = _adjudication(entry, item, n, ALLOWED)
            if paid is None and allowed is None:
                lines.append(AdjudicatedLine(service_line=service, allowed=charge, paid=ZERO,
                                             patient_responsibility=charge))
                continue
            allowed = min(charge, allowed if allowed is not None else charge)
            paid = min(paid or ZERO, allowed)
            lines.append(AdjudicatedLine(service_line=service, allowed=allowed, paid=paid,
                                         patient_responsibility=allowed - paid))
        adjudicated_on = _eob_day(entry)
        if resource.get("created"):
            adjudicated_on = max(adjudicated_on, _eob_created(entry))
        claims.append(AdjudicatedClaim(encounter=visit.encounter, coverage=coverage,
                                       payer_claim_number=entry.source_id, adjudicated_on=adjudicated_on, lines=lines))
        sources.append(entry)
    if not claims:
        return
    try:
        made = claims_record_adjudicated(claims=claims, actor=ctx.actor)
    except ValidationError as exc:
        raise sources[0].refused("the claim payments cannot be posted: " + "; ".join(exc.messages),
                                 "ExplanationOfBenefit") from None
    for claim, entry in zip(made, sources, strict=True):
        ctx.remember("ExplanationOfBenefit", entry.source_id, claim, resource=entry.resource,
                     display=claim.claim_number)
        ctx.report.add(CREATED, "claim payments")
        ctx.report.add_money("paid by payers", claim.paid_amount)
        ctx.report.add_money("patient responsibility", claim.patient_responsibility)


def _eob_created(entry: Entry) -> date:
    return date.fromisoformat(str(entry.resource["created"])[:10])
