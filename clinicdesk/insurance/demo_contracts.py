"""The demo practice's payer contracts: a reference schedule with made-up amounts for the demo codes (not any
published schedule's numbers), and a contract for each demo payer (looked up by payer ID, skipped when absent),
then the underpayment check over whatever claims the payers have already adjudicated."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from .choices import ContractBasis
from .models import ClaimLine, Payer, PayerContract, ReferenceSchedule
from .services.contracts import (
    contract_rates_import,
    payer_contract_create,
    reference_schedule_create,
    reference_schedule_import,
    underpayments_flag,
)

REFERENCE_NAME = "Office reference 2026"
EFFECTIVE_FROM = date(2026, 1, 1)

# The practice's own yardstick for the demo codes: invented round amounts.
REFERENCE = {
    "99202": "70.00", "99203": "105.00", "99204": "160.00", "99205": "210.00", "99211": "22.00", "99212": "55.00",
    "99213": "90.00", "99214": "128.00", "99215": "180.00", "99385": "150.00", "99386": "170.00", "99387": "185.00",
    "99395": "135.00", "99396": "150.00", "99397": "165.00", "36415": "8.00", "81002": "5.00", "90471": "20.00",
    "90686": "30.00", "93000": "40.00", "96372": "22.00", "97110": "30.00", "87880": "16.00", "82962": "6.00",
    "G0008": "20.00", "G0439": "115.00", "J1100": "1.00", "J3301": "2.50", "A4550": "10.00",
}

# payer ID -> (contract name, percent of the reference, fee list or None)
CONTRACTS = {
    "12202": ("Medicare participating 2026", "100", None),
    "NYMCD": ("Medicaid fee-for-service 2026", "72", None),
    "60054": ("Hudson Valley PPO agreement 2026", "118", {"99213": "104.00", "99214": "149.00", "99215": "207.00",
                                                          "99396": "172.00", "36415": "9.50"}),
    "87726": ("Empire Shield HMO capitation carve-out", "105", {"99213": "95.00", "99214": "134.00",
                                                                "90686": "33.00"}),
    "RSLMUT": ("Riverside Mutual schedule", "125", None),
}


def _rates_csv(rates: dict[str, str]) -> str:
    return "code,modifiers,amount\n" + "".join(f"{code},,{amount}\n" for code, amount in rates.items())


def seed_contracts(ctx, *, stdout=None) -> int:
    """Idempotent: a second run finds the schedule and every contract and adds nothing. Returns rows added."""
    org = ctx.organization
    actor = ctx.users.get("sam") if getattr(ctx, "users", None) else None
    added = 0
    reference = ReferenceSchedule.objects.filter(organization=org, name=REFERENCE_NAME).first()
    if reference is None:
        reference = reference_schedule_create(organization=org, name=REFERENCE_NAME, effective_from=EFFECTIVE_FROM,
                                              actor=actor)
        result = reference_schedule_import(schedule=reference, file=_rates_csv(REFERENCE), actor=actor, dry_run=False)
        if result.errors:  # the table above is ours: an error here is a bug in it
            raise RuntimeError("; ".join(r.message for r in result.errors))
        added += 1 + len(REFERENCE)
    payers = {p.payer_identifier: p for p in Payer.objects.filter(organization=org, payer_identifier__in=CONTRACTS)}
    for identifier, (name, percent, fee_list) in CONTRACTS.items():
        payer = payers.get(identifier)
        if payer is None or PayerContract.objects.filter(payer=payer).exists():
            continue
        contract = payer_contract_create(
            organization=org, payer=payer, name=name, effective_from=EFFECTIVE_FROM, actor=actor,
            basis=ContractBasis.FEE_LIST if fee_list else ContractBasis.PERCENT_OF_REFERENCE,
            reference_schedule=reference, percent_of_reference=Decimal(percent))
        added += 1
        if fee_list:
            contract_rates_import(contract=contract, file=_rates_csv(fee_list), actor=actor, dry_run=False)
            added += len(fee_list)
    if added:
        underpayments_flag(ClaimLine.objects.filter(claim__organization=org, allowed_amount__gt=0)
                           .select_related("claim"))
    if stdout is not None:
        stdout.write(f"Payer contracts: {REFERENCE_NAME} and {len(payers)} contract(s) ({added} rows added)")
    return added
