"""Month-end statements and collections.

A run is made as a draft with a preview (which accounts get a statement, which small balances are written off,
which are skipped and why); starting it hands the work to a background task that makes the statements in chunks,
storing its progress on the run. For each account with a balance worth a statement the task freezes the figures
(from the ledger: previous balance, the services and what settled them, aging), raises the dunning level per the
practice's policy, issues a pay link, draws the PDF (ReportLab, see ..statement_pdf) and sends it: an e-mail with
the secure link through the communications outbox where the guarantor has an e-mail address and allows it,
otherwise into the run's print batch. Small balances old enough are written off instead (`adjustment_post`,
kind small balance); an account whose unpaid cycle passes the collections day is put on collections hold.

Execution is safe to repeat: a finished run does nothing, and a run interrupted half way resumes, skipping the
accounts that already have their statement (one per account per run, enforced by the database).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.money import format_money, round_money
from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import JournalLine, OpenItem
from clinicdesk.patients.choices import Channel, PatientStatus

from ..choices import (
    AdjustmentKind,
    DunningLevel,
    StatementDelivery,
    StatementRunStatus,
    StatementSkipReason,
    StatementStatus,
)
from ..models import AccountDunning, AccountMember, Adjustment, DunningPolicy, PatientAccount, Statement, StatementRun
from ..statement_pdf import pdfs_combine, statement_pdf_bytes
from .payments import adjustment_post, money_check

ZERO = Decimal("0.00")
CHUNK = 100
PAY_LINK_DAYS = 60
DUE_IN_DAYS = 21
PATIENT_ROLES = (AccountRole.PATIENT_RECEIVABLE, AccountRole.PATIENT_CREDIT)
AGING_BUCKETS = ("current", "31_60", "61_90", "91_120", "over_120")
PAY_ACTION = "pay"


# --- the dunning policy ------------------------------------------------------------------------------------------


def dunning_policy_for(*, organization) -> DunningPolicy:
    """The practice's dunning policy, made with the defaults on first need."""
    policy = DunningPolicy.objects.filter(organization=organization).first()
    if policy is None:
        try:
            with transaction.atomic():
                policy = DunningPolicy.objects.create(organization=organization)
        except IntegrityError:
            policy = DunningPolicy.objects.get(organization=organization)
    return policy


POLICY_FIELDS = ("second_notice_days", "final_notice_days", "collections_days", "write_off_below", "write_off_min_age_days",
                 "minimum_statement_balance", "days_between_statements", "first_message", "second_message",
                 "final_message", "collections_message")


@transaction.atomic
def dunning_policy_save(*, actor, organization, **values) -> DunningPolicy:
    """Change the practice's dunning policy; amounts come as strings or Decimals, never floats."""
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "Unknown setting."})
    policy = DunningPolicy.objects.select_for_update().get(pk=dunning_policy_for(organization=organization).pk)
    for name in ("write_off_below", "minimum_statement_balance"):
        if name in values:
            values[name] = money_check(values[name], field=name, allow_zero=True)
    before = {name: str(getattr(policy, name)) for name in values}
    for name, value in values.items():
        setattr(policy, name, value.strip() if isinstance(value, str) else value)
    policy.full_clean()
    policy.save()
    changes = {name: [before[name], str(getattr(policy, name))] for name in values if before[name] != str(getattr(policy, name))}
    audit_event(action="dunning_policy.changed", actor=actor, target=policy, organization_id=organization.pk,
                summary="Dunning and statement rules changed", changes=changes)
    return policy


# --- which accounts get a statement ----------------------------------------------------------------------------


@dataclass
class PlannedAccount:
    """What a run will do with one account that has a balance."""

    account: PatientAccount
    amount_due: Decimal
    action: str  # "statement", "write_off", "hold" or "skip"
    reason: str = ""
    level: int = DunningLevel.NONE
    delivery: str = ""


@dataclass
class RunPlan:
    accounts: list[PlannedAccount] = field(default_factory=list)

    def of(self, action: str) -> list[PlannedAccount]:
        return [p for p in self.accounts if p.action == action]

    def counts(self) -> dict:
        statements = self.of("statement")
        skipped: dict[str, int] = defaultdict(int)
        for p in self.of("skip"):
            skipped[p.reason] += 1
        return {
            "statements": len(statements),
            "email": sum(1 for p in statements if p.delivery == StatementDelivery.EMAIL),
            "print": sum(1 for p in statements if p.delivery == StatementDelivery.PRINT),
            "write_offs": len(self.of("write_off")),
            "holds": len(self.of("hold")),
            "skipped": dict(skipped),
            "total_due": str(sum((p.amount_due for p in statements), ZERO)),
            "levels": {str(level): sum(1 for p in statements if p.level == level) for level in DunningLevel.values if level},
        }


def account_balances(*, organization_id: int, as_of: date, account_ids: Iterable[int] | None = None) -> dict[int, Decimal]:
    """What each account's guarantor owes at the end of `as_of`: its patients' receivables less their credit.
    One grouped query for the whole practice."""
    rows = JournalLine.objects.filter(organization_id=organization_id, account__role__in=PATIENT_ROLES,
                                      entry_date__lte=as_of, patient__billing_membership__isnull=False)
    if account_ids is not None:
        rows = rows.filter(patient__billing_membership__account_id__in=list(account_ids))
    totals = rows.values("patient__billing_membership__account_id").annotate(total=Sum("amount"))
    return {row["patient__billing_membership__account_id"]: round_money(row["total"]) for row in totals}


def _opted_out_of_email(patient_ids: Iterable[int]) -> set[int]:
    from clinicdesk.communications.services.outbox import opted_out_pairs

    return {pid for pid, channel in opted_out_pairs(patient_ids) if channel == Channel.EMAIL}


def _has_address(account: PatientAccount) -> bool:
    return bool(account.address_line1 and (account.postal_code or account.city))


def delivery_for(account: PatientAccount, *, opted_out: set[int]) -> str:
    """E-mail when the guarantor is a patient with an e-mail address who has not opted out of e-mail nor asked
    for mail; otherwise print. ("" when neither works: no e-mail allowed and no address to mail to.)"""
    guarantor = account.guarantor_patient
    if (guarantor is not None and guarantor.email and guarantor.pk not in opted_out
            and guarantor.status != PatientStatus.DECEASED and not guarantor.merged_into_id
            and guarantor.preferred_channel != Channel.MAIL):
        return StatementDelivery.EMAIL
    return StatementDelivery.PRINT if _has_address(account) else ""


def _next_level(policy: DunningPolicy, dunning: AccountDunning | None, statement_date: date) -> int:
    if dunning is None or dunning.level == DunningLevel.NONE or dunning.cycle_started_on is None:
        return DunningLevel.FIRST
    return max(dunning.level, policy.level_after((statement_date - dunning.cycle_started_on).days))


def statement_run_plan(*, organization, statement_date: date, cutoff: date, minimum_balance: Decimal,
                       days_since_last: int, exclude_run: StatementRun | None = None) -> RunPlan:
    """Decide for every account with a balance: statement (with its dunning level and delivery), small-balance
    write-off, collections hold, or skip with the reason. Reads in a handful of queries whatever the size."""
    policy = dunning_policy_for(organization=organization)
    balances = {aid: bal for aid, bal in account_balances(organization_id=organization.pk, as_of=cutoff).items() if bal != 0}
    accounts = {a.pk: a for a in PatientAccount.objects.filter(organization=organization, pk__in=list(balances))
                .select_related("guarantor_patient")}
    stated = Statement.objects.filter(account_id__in=list(accounts), run__status__in=[StatementRunStatus.RUNNING,
                                                                                      StatementRunStatus.DONE])
    if exclude_run is not None:
        stated = stated.exclude(run=exclude_run)
    last_stated = dict(stated.values("account_id").annotate(last=Max("statement_date")).values_list("account_id", "last"))
    dunning = {d.account_id: d for d in AccountDunning.objects.filter(account_id__in=list(accounts))}
    opted_out = _opted_out_of_email(a.guarantor_patient_id for a in accounts.values() if a.guarantor_patient_id)
    small = [aid for aid, bal in balances.items() if ZERO < bal < policy.write_off_below and aid in accounts]
    newest_charge = {}
    if small:
        newest_charge = dict(
            OpenItem.objects.filter(organization=organization, party_kind=PartyKind.PATIENT,
                                    patient__billing_membership__account_id__in=small)
            .values("patient__billing_membership__account_id").annotate(newest=Max("service_date"))
            .values_list("patient__billing_membership__account_id", "newest"))
    plan = RunPlan()
    for aid, account in sorted(accounts.items(), key=lambda kv: (kv[1].guarantor_name, kv[1].number)):
        due = balances[aid]
        entry = PlannedAccount(account=account, amount_due=due, action="skip")
        plan.accounts.append(entry)
        if due < 0:
            entry.reason = StatementSkipReason.CREDIT
        elif account.collections_hold:
            entry.reason = StatementSkipReason.COLLECTIONS_HOLD
        elif aid in newest_charge and newest_charge[aid] is not None and due < policy.write_off_below \
                and (statement_date - newest_charge[aid]).days >= policy.write_off_min_age_days:
            entry.action, entry.reason = "write_off", StatementSkipReason.WRITTEN_OFF
        elif due < minimum_balance:
            entry.reason = StatementSkipReason.BELOW_MINIMUM
        elif aid in last_stated and (statement_date - last_stated[aid]).days < days_since_last:
            entry.reason = StatementSkipReason.RECENT
        else:
            entry.level = _next_level(policy, dunning.get(aid), statement_date)
            if entry.level == DunningLevel.COLLECTIONS:
                entry.action, entry.reason = "hold", StatementSkipReason.HOLD_PLACED
                continue
            entry.delivery = delivery_for(account, opted_out=opted_out)
            if entry.delivery:
                entry.action = "statement"
            else:
                entry.reason = StatementSkipReason.NO_ADDRESS
    return plan


def _run_settings(*, organization, statement_date, cutoff, minimum_balance, days_since_last) -> tuple:
    policy = dunning_policy_for(organization=organization)
    if not isinstance(statement_date, date):
        raise ValidationError({"statement_date": "Enter the statement date."})
    cutoff = cutoff or statement_date
    if cutoff > statement_date:
        raise ValidationError({"cutoff": "The cut-off cannot be after the statement date."})
    if statement_date > timezone.localdate() + timedelta(days=31):
        raise ValidationError({"statement_date": "A statement date more than a month ahead is surely a typing mistake."})
    minimum = policy.minimum_statement_balance if minimum_balance in (None, "") else money_check(
        minimum_balance, field="minimum_balance", allow_zero=True)
    days = policy.days_between_statements if days_since_last in (None, "") else int(days_since_last)
    if days < 0:
        raise ValidationError({"days_since_last": "Enter zero or more days."})
    return statement_date, cutoff, minimum, days


def statement_run_preview(*, organization, statement_date: date, cutoff: date | None = None, minimum_balance=None,
                          days_since_last: int | None = None) -> dict:
    """The counts a run would give now (nothing is written): statements by e-mail and print, write-offs, holds,
    skipped accounts by reason, the total due."""
    statement_date, cutoff, minimum, days = _run_settings(organization=organization, statement_date=statement_date,
                                                          cutoff=cutoff, minimum_balance=minimum_balance,
                                                          days_since_last=days_since_last)
    return statement_run_plan(organization=organization, statement_date=statement_date, cutoff=cutoff,
                              minimum_balance=minimum, days_since_last=days).counts()


@transaction.atomic
def statement_run_create(*, actor, organization, statement_date: date, cutoff: date | None = None, minimum_balance=None,
                         days_since_last: int | None = None) -> StatementRun:
    """A draft run with its settings (defaults from the dunning policy) and the preview's counts."""
    if StatementRun.objects.filter(organization=organization, status=StatementRunStatus.RUNNING).exists():
        raise ValidationError({"statement_date": "A statement run is going on; wait for it to finish."})
    statement_date, cutoff, minimum, days = _run_settings(organization=organization, statement_date=statement_date,
                                                          cutoff=cutoff, minimum_balance=minimum_balance,
                                                          days_since_last=days_since_last)
    preview = statement_run_plan(organization=organization, statement_date=statement_date, cutoff=cutoff,
                                 minimum_balance=minimum, days_since_last=days).counts()
    run = StatementRun(organization=organization, statement_date=statement_date, cutoff=cutoff, minimum_balance=minimum,
                       days_since_last=days, preview=preview, progress_total=preview["statements"] + preview["write_offs"]
                       + preview["holds"], created_by=actor if getattr(actor, "is_authenticated", False) else None)
    run.full_clean()
    run.save()
    audit_event(action="statement_run.created", actor=actor, target=run, organization_id=organization.pk,
                summary=f"Statement run for {statement_date:%m/%d/%Y} previewed: {preview['statements']} statements, "
                        f"{preview['write_offs']} write-offs")
    return run


@transaction.atomic
def statement_run_start(*, actor, run: StatementRun) -> StatementRun:
    """Start a draft run (or try a failed one again, which resumes where it stopped): it becomes running and the
    background task makes the statements."""
    from ..tasks import statement_run_execute_task

    run = StatementRun.objects.select_for_update().get(pk=run.pk)
    if run.status not in (StatementRunStatus.DRAFT, StatementRunStatus.FAILED):
        raise ValidationError({"status": f"This run is {run.get_status_display().lower()}; only a draft or a failed "
                                         "run can be started."})
    retry = run.status == StatementRunStatus.FAILED
    if StatementRun.objects.filter(organization_id=run.organization_id, status=StatementRunStatus.RUNNING).exists():
        raise ValidationError({"status": "Another statement run is going on; wait for it to finish."})
    run.status = StatementRunStatus.RUNNING
    run.started_at = run.started_at if retry else timezone.now()
    run.error = ""
    run.save(update_fields=["status", "started_at", "error", "updated_at"])
    audit_event(action="statement_run.retried" if retry else "statement_run.started", actor=actor, target=run,
                organization_id=run.organization_id,
                summary=f"Statement run for {run.statement_date:%m/%d/%Y} {'started again' if retry else 'started'}")
    transaction.on_commit(lambda: statement_run_execute_task.enqueue(run_id=run.pk))
    return run


# --- the figures of one statement ------------------------------------------------------------------------------


def _practice_block(organization) -> dict:
    from clinicdesk.communications.services.letters import letterhead_for
    from clinicdesk.core.models import Location

    location = Location.objects.filter(organization=organization, is_active=True).order_by("pk").first()
    head = letterhead_for(organization=organization, location=location)
    return {"name": head.practice_name or organization.name,
            "address": [line.strip() for line in head.address.splitlines() if line.strip()],
            "phone": head.phone or (location.phone if location else "")}


def address_lines(account: PatientAccount) -> list[str]:
    city = ", ".join(p for p in (account.city, account.state) if p)
    return [line for line in (account.guarantor_name, account.address_line1, account.address_line2,
                              f"{city} {account.postal_code}".strip()) if line]


def _category(kind: str, entry_roles: set[str], contractual: bool) -> str:
    """Which column of the statement a patient-side ledger line belongs to."""
    if kind == EntryKind.CHARGE:
        return "charges"
    if kind == EntryKind.TRANSFER:
        # A credit applied to charges is a payment; a balance moved from insurance to the patient is a charge.
        return "payments" if AccountRole.PATIENT_CREDIT in entry_roles else "charges"
    if kind in (EntryKind.PAYMENT, EntryKind.REFUND):
        return "payments"
    if kind == EntryKind.ADJUSTMENT and contractual:
        return "insurance"
    return "adjustments"


def statements_figures(*, run: StatementRun, accounts: list[PatientAccount], practice: dict | None = None) -> dict[int, dict]:
    """The figures of each account's statement in `run`, from the ledger up to the run's cut-off. A fixed number
    of queries for the whole list: members, previous statements, ledger lines, items, contractual adjustments."""
    if not accounts:
        return {}
    practice = practice or _practice_block(run.organization)
    ids = [a.pk for a in accounts]
    members: dict[int, list] = defaultdict(list)
    for m in AccountMember.objects.filter(account_id__in=ids).select_related("patient").order_by("patient__last_name",
                                                                                                  "patient__first_name", "pk"):
        members[m.account_id].append(m.patient)
    patient_account = {p.pk: aid for aid, ps in members.items() for p in ps}
    earlier = Statement.objects.filter(account_id__in=ids, statement_date__lte=run.statement_date,
                                       run__status__in=[StatementRunStatus.RUNNING, StatementRunStatus.DONE])
    if run.pk:
        earlier = earlier.exclude(run=run)
    previous_cutoff = dict(earlier.values("account_id").annotate(c=Max("run__cutoff")).values_list("account_id", "c"))
    lines = list(JournalLine.objects.filter(
        organization_id=run.organization_id, patient_id__in=list(patient_account), entry_date__lte=run.cutoff,
        account__role__in=[*PATIENT_ROLES, AccountRole.INSURANCE_RECEIVABLE],
    ).values_list("patient_id", "item_id", "amount", "entry_date", "entry_id", "entry__kind", "entry__reverses__kind",
                  "account__role"))
    entry_roles: dict[int, set] = defaultdict(set)
    for _, _, _, _, entry_id, _, _, role in lines:
        entry_roles[entry_id].add(role)
    adjustment_entries = {ln[4] for ln in lines if ln[5] == EntryKind.ADJUSTMENT or ln[6] == EntryKind.ADJUSTMENT}
    contractual = set()
    if adjustment_entries:
        contractual = set(Adjustment.objects.filter(entry_id__in=adjustment_entries, kind=AdjustmentKind.CONTRACTUAL)
                          .values_list("entry_id", flat=True))
    items = {i.pk: i for i in OpenItem.objects.filter(pk__in={ln[1] for ln in lines if ln[1]})}
    per_account: dict[int, dict] = {aid: {"prev": ZERO, "sums": defaultdict(lambda: ZERO), "credit": ZERO,
                                          "items": defaultdict(lambda: {"sums": defaultdict(lambda: ZERO), "balance": ZERO,
                                                                        "active": False}),
                                          "insurance_pending": ZERO} for aid in ids}
    for patient_id, item_id, amount, entry_date, entry_id, kind, reversed_kind, role in lines:
        aid = patient_account[patient_id]
        acc = per_account[aid]
        start = previous_cutoff.get(aid)
        in_period = start is None or entry_date > start
        if role == AccountRole.INSURANCE_RECEIVABLE:
            acc["insurance_pending"] += amount
            continue
        if not in_period:
            acc["prev"] += amount
        effective = reversed_kind if kind == EntryKind.REVERSAL and reversed_kind else kind
        category = _category(effective, entry_roles[entry_id], entry_id in contractual)
        if in_period:
            acc["sums"][category] += amount
        if item_id is None:
            if role == AccountRole.PATIENT_CREDIT:
                acc["credit"] += amount
            continue
        item = acc["items"][item_id]
        item["balance"] += amount
        if in_period:
            item["sums"][category] += amount
            item["active"] = True
    due_date = run.statement_date + timedelta(days=DUE_IN_DAYS)
    result = {}
    for account in accounts:
        acc = per_account[account.pk]
        start = previous_cutoff.get(account.pk)
        sums = acc["sums"]
        balance = acc["prev"] + sum(sums.values(), ZERO)
        aging = dict.fromkeys(AGING_BUCKETS, ZERO)
        patients_rows: dict[int, list] = defaultdict(list)
        for item_id, data in sorted(acc["items"].items(), key=lambda kv: (items[kv[0]].service_date, kv[0])):
            item = items[item_id]
            if item.party_kind != PartyKind.PATIENT:
                continue
            if data["balance"] != 0:
                age = (run.statement_date - item.service_date).days
                bucket = ("current" if age <= 30 else "31_60" if age <= 60 else "61_90" if age <= 90
                          else "91_120" if age <= 120 else "over_120")
                aging[bucket] += data["balance"]
            if data["active"]:
                s = data["sums"]
                patients_rows[item.patient_id].append({
                    "date": item.service_date.isoformat(), "description": item.description, "charge": str(s["charges"]),
                    "insurance": str(-s["insurance"]), "payments": str(-s["payments"]),
                    "adjustments": str(-s["adjustments"]), "balance": str(data["balance"]),
                })
        # Unapplied credit settles the oldest part first, so the buckets add up to the amount due.
        credit = -acc["credit"]
        for bucket in reversed(AGING_BUCKETS):
            if credit <= 0:
                break
            used = min(credit, max(aging[bucket], ZERO))
            aging[bucket] -= used
            credit -= used
        if credit > 0:
            aging["current"] -= credit
        result[account.pk] = {
            "practice": practice, "account_number": account.number, "statement_date": run.statement_date.isoformat(),
            "due_date": due_date.isoformat(), "period_start": (start + timedelta(days=1)).isoformat() if start else "",
            "address": address_lines(account),
            "previous_balance": str(round_money(acc["prev"])), "new_charges": str(sums["charges"]),
            "insurance_adjusted": str(-sums["insurance"]), "payments": str(-sums["payments"]),
            "adjustments": str(-sums["adjustments"]), "balance": str(round_money(balance)),
            "insurance_pending": str(acc["insurance_pending"]), "amount_due": str(round_money(balance)),
            "aging": {k: str(v) for k, v in aging.items()},
            "patients": [{"name": f"{p.first_name} {p.last_name}", "rows": patients_rows[p.pk]}
                         for p in members[account.pk] if patients_rows.get(p.pk)],
        }
    return result


# --- executing a run ---------------------------------------------------------------------------------------------


def _pay_link(run: StatementRun, account: PatientAccount):
    from clinicdesk.communications.links import link_issue, link_path, public_url

    patient = account.guarantor_patient
    if patient is None:
        first = account.members.select_related("patient").first()
        patient = first.patient if first else None
    link, token = link_issue(organization=run.organization, action=PAY_ACTION, patient=patient,
                             valid_for=timedelta(days=PAY_LINK_DAYS))
    return link, public_url(link_path(token))


def _dunning_record(run: StatementRun, account: PatientAccount, level: int, statement: Statement | None,
                    known: dict[int, AccountDunning] | None = None) -> None:
    """Raise (or set) the account's dunning level after this run; `known` holds the chunk's rows read in one query."""
    dunning = (known or {}).get(account.pk)
    if dunning is None:
        dunning, _ = AccountDunning.objects.get_or_create(account=account, defaults={"organization_id": account.organization_id})
    if dunning.level == DunningLevel.NONE or dunning.cycle_started_on is None:
        dunning.cycle_started_on = run.statement_date
    if dunning.level != level:
        dunning.level_changed_on = run.statement_date
    dunning.level = level
    if statement is not None:
        dunning.last_statement = statement
        dunning.last_statement_on = run.statement_date
    dunning.save(update_fields=["level", "cycle_started_on", "level_changed_on", "last_statement", "last_statement_on",
                                "updated_at"])


def _write_off(run: StatementRun, planned: PlannedAccount, policy: DunningPolicy) -> Decimal:
    from clinicdesk.ledger.selectors import open_items_for

    patient_ids = list(AccountMember.objects.filter(account=planned.account).values_list("patient_id", flat=True))
    open_items = [(item, balance) for item, balance in open_items_for(
        organization_id=run.organization_id, patient_ids=patient_ids, party_kind=PartyKind.PATIENT) if balance > 0]
    if sum((balance for _, balance in open_items), ZERO) != planned.amount_due:
        # Unapplied credit (or a line without an item) is part of the balance: writing off every charge would
        # leave a credit behind, so this account is left for a person to look at.
        return ZERO
    total = ZERO
    for item, balance in open_items:
        if balance > 0:
            adjustment_post(item=item, amount=balance, kind=AdjustmentKind.SMALL_BALANCE, actor=run.created_by,
                            reason=f"Small balance under {format_money(policy.write_off_below)}, statement run "
                                   f"of {run.statement_date:%m/%d/%Y}")
            total += balance
    return total


def _skip_row(planned: PlannedAccount, note: str = "") -> dict:
    return {"account_id": planned.account.pk, "number": planned.account.number, "name": planned.account.guarantor_name,
            "amount": str(planned.amount_due), "reason": planned.reason,
            "label": StatementSkipReason(planned.reason).label, "note": note}


def _statement_make(run: StatementRun, planned: PlannedAccount, figures: dict, policy: DunningPolicy,
                    known: dict[int, AccountDunning] | None = None) -> Statement:
    from clinicdesk.communications.choices import MessageState
    from clinicdesk.communications.services.billing_messages import bill_message_queue

    account = planned.account
    message_text = policy.message_for(planned.level)
    figures = {**figures, "dunning_level": planned.level, "dunning_message": message_text}
    link, pay_url = _pay_link(run, account)
    pdf = statement_pdf_bytes(figures, pay_url=pay_url)
    aging = figures["aging"]
    statement = Statement(
        organization_id=run.organization_id, run=run, account=account, statement_date=run.statement_date,
        period_start=date.fromisoformat(figures["period_start"]) if figures["period_start"] else None,
        previous_balance=Decimal(figures["previous_balance"]), new_charges=Decimal(figures["new_charges"]),
        insurance_adjusted=Decimal(figures["insurance_adjusted"]), payments=Decimal(figures["payments"]),
        adjustments=Decimal(figures["adjustments"]), balance=Decimal(figures["balance"]),
        insurance_pending=Decimal(figures["insurance_pending"]), amount_due=Decimal(figures["amount_due"]),
        aging_current=Decimal(aging["current"]), aging_31_60=Decimal(aging["31_60"]), aging_61_90=Decimal(aging["61_90"]),
        aging_91_120=Decimal(aging["91_120"]), aging_over_120=Decimal(aging["over_120"]), dunning_level=planned.level,
        dunning_message=message_text, delivery=planned.delivery,
        status=StatementStatus.EMAILED if planned.delivery == StatementDelivery.EMAIL else StatementStatus.PRINT,
        figures=figures,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(), pay_link=link,
    )
    if planned.delivery == StatementDelivery.EMAIL:
        message = bill_message_queue(actor=run.created_by, patient=account.guarantor_patient, kind="statement",
                                     amount=statement.amount_due, reference=statement.public_id, pay_url=pay_url,
                                     statement_url=pay_url, due_date=date.fromisoformat(figures["due_date"]),
                                     channel=Channel.EMAIL)
        statement.message = message
        if message is None or message.state == MessageState.SUPPRESSED:
            # The outbox refused it after all (a last-moment opt-out): the statement goes on paper instead.
            statement.delivery, statement.status = StatementDelivery.PRINT, StatementStatus.PRINT
    statement.pdf.save("statement.pdf", ContentFile(pdf), save=False)
    statement.save()
    _dunning_record(run, account, planned.level, statement, known)
    return statement


def statement_run_execute(*, run_id: int) -> StatementRun:
    """Make and send the statements of a started run, in chunks, storing progress after each. Does nothing for a
    run that is finished (or not started); resumes a run that stopped half way."""
    run = StatementRun.objects.select_related("organization", "created_by").get(pk=run_id)
    if run.status != StatementRunStatus.RUNNING:
        return run
    try:
        _execute(run)
    except Exception as exc:
        StatementRun.objects.filter(pk=run.pk).update(status=StatementRunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
                                                      finished_at=timezone.now(), updated_at=timezone.now())
        raise
    run.refresh_from_db()
    return run


def _execute(run: StatementRun) -> None:
    policy = dunning_policy_for(organization=run.organization)
    done_accounts = set(Statement.objects.filter(run=run).values_list("account_id", flat=True))
    plan = statement_run_plan(organization=run.organization, statement_date=run.statement_date, cutoff=run.cutoff,
                              minimum_balance=run.minimum_balance, days_since_last=run.days_since_last, exclude_run=run)
    work = [p for p in plan.accounts if p.action in ("statement", "write_off", "hold") and p.account.pk not in done_accounts]
    StatementRun.objects.filter(pk=run.pk).update(progress_total=len(work) + len(done_accounts),
                                                  progress_done=len(done_accounts), updated_at=timezone.now())
    practice = _practice_block(run.organization)
    if not _email_wording_ready(run.organization):
        # Without the practice's "statement ready" wording nothing can be e-mailed: everything goes on paper.
        for planned in work:
            if planned.delivery == StatementDelivery.EMAIL:
                planned.delivery = StatementDelivery.PRINT if _has_address(planned.account) else planned.delivery
    for start in range(0, len(work), CHUNK):
        chunk = work[start:start + CHUNK]
        with transaction.atomic():
            figures = statements_figures(run=run, accounts=[p.account for p in chunk if p.action == "statement"],
                                         practice=practice)
            notes, made = [], []
            known = {d.account_id: d for d in AccountDunning.objects.filter(account_id__in=[p.account.pk for p in chunk])}
            for planned in chunk:
                if planned.action == "statement":
                    made.append(_statement_make(run, planned, figures[planned.account.pk], policy, known))
                elif planned.action == "write_off":
                    total = _write_off(run, planned, policy)
                    if total:
                        notes.append(_skip_row(planned, f"{format_money(total)} written off"))
                    else:
                        planned.reason = StatementSkipReason.BELOW_MINIMUM
                        notes.append(_skip_row(planned, "Not written off: the account also holds a credit"))
                else:
                    PatientAccount.objects.filter(pk=planned.account.pk).update(collections_hold=True, updated_at=timezone.now())
                    _dunning_record(run, planned.account, DunningLevel.COLLECTIONS, None, known)
                    audit_event(action="account.collections_hold", actor=run.created_by, target=planned.account,
                                organization_id=run.organization_id,
                                summary=f"Placed on collections hold by the statement run of {run.statement_date:%m/%d/%Y}")
                    notes.append(_skip_row(planned, "No statement; the account is held for collections"))
            audit_events(action="statement.made", actor=run.created_by, targets=made, organization_id=run.organization_id,
                         summary=f"Statement of {run.statement_date:%m/%d/%Y}")
            locked = StatementRun.objects.select_for_update().get(pk=run.pk)
            locked.skipped = [*locked.skipped, *notes]
            locked.progress_done = F("progress_done") + len(chunk)
            locked.save(update_fields=["skipped", "progress_done", "updated_at"])
    _finish(run, plan)


def _email_wording_ready(organization) -> bool:
    from clinicdesk.communications.services.templates import template_current

    try:
        template_current(organization=organization, code="statement-ready-email")
    except ValidationError:
        return False
    return True


def _reset_paid_cycles(run: StatementRun) -> int:
    """An account whose balance is paid (nothing owed at the cut-off) starts its next unpaid cycle afresh."""
    open_cycles = list(AccountDunning.objects.filter(organization_id=run.organization_id, account__collections_hold=False)
                       .exclude(level=DunningLevel.NONE).values_list("account_id", flat=True))
    if not open_cycles:
        return 0
    owing = {aid for aid, bal in account_balances(organization_id=run.organization_id, as_of=run.cutoff,
                                                  account_ids=open_cycles).items() if bal > 0}
    paid = [aid for aid in open_cycles if aid not in owing]
    return AccountDunning.objects.filter(account_id__in=paid).update(level=DunningLevel.NONE, cycle_started_on=None,
                                                                     level_changed_on=run.statement_date,
                                                                     updated_at=timezone.now())


@transaction.atomic
def _finish(run: StatementRun, plan: RunPlan) -> None:
    run = StatementRun.objects.select_for_update().get(pk=run.pk)
    _reset_paid_cycles(run)
    statements = Statement.objects.filter(run=run)
    print_files = [s.pdf for s in statements.filter(status=StatementStatus.PRINT).order_by("account__postal_code",
                                                                                          "account__guarantor_name", "pk")]
    if print_files:
        parts = []
        for f in print_files:
            with f.open("rb") as handle:
                parts.append(handle.read())
        run.print_batch.save("batch.pdf", ContentFile(pdfs_combine(parts)), save=False)
    acted = [row for row in run.skipped if row.get("note")]  # what the chunks did (write-offs, holds), kept on a resume
    run.skipped = acted + [_skip_row(p) for p in plan.of("skip")]
    run.emailed_count = statements.filter(status=StatementStatus.EMAILED).count()
    run.printed_count = statements.filter(status=StatementStatus.PRINT).count()
    run.written_off_count = sum(1 for row in acted if row["reason"] == StatementSkipReason.WRITTEN_OFF)
    run.skipped_count = len(run.skipped) - run.written_off_count
    run.total_due = statements.aggregate(t=Sum("amount_due"))["t"] or ZERO
    run.progress_done = run.progress_total = max(run.progress_total, run.progress_done)
    run.status = StatementRunStatus.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["print_batch", "skipped", "emailed_count", "printed_count", "written_off_count", "skipped_count",
                            "total_due", "progress_done", "progress_total", "status", "finished_at", "updated_at"])
    audit_event(action="statement_run.finished", actor=run.created_by, target=run, organization_id=run.organization_id,
                summary=f"{run.emailed_count} statements e-mailed, {run.printed_count} to print, "
                        f"{run.written_off_count} small balances written off, {run.skipped_count} skipped")


def print_batch_bytes(*, run: StatementRun) -> bytes:
    """The run's print batch (made at the end of the run; made again from the stored PDFs if it is missing)."""
    if run.print_batch:
        try:
            with run.print_batch.open("rb") as handle:
                return handle.read()
        except FileNotFoundError:
            pass
    parts = []
    for statement in Statement.objects.filter(run=run, status=StatementStatus.PRINT).order_by(
            "account__postal_code", "account__guarantor_name", "pk"):
        with statement.pdf.open("rb") as handle:
            parts.append(handle.read())
    if not parts:
        raise ValidationError({"print_batch": "This run has no statements to print."})
    return pdfs_combine(parts)


def statement_pdf_read(*, statement: Statement) -> bytes:
    """The stored PDF of a statement, checked against the hash taken when it was made."""
    with statement.pdf.open("rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != statement.pdf_sha256:
        raise ValidationError({"pdf": "The stored statement does not match the one that was sent."})
    return data


def figures_json(figures: dict) -> str:
    return json.dumps(figures, sort_keys=True)
