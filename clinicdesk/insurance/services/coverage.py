"""Writes of the coverage side of insurance: clearinghouses, payers and plans (with a CSV import of payers),
patients' coverages in billing order, their card images, and prior authorisations."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Organization, User
from clinicdesk.core.tables import ImportResult, RowOutcome, decode_import_file
from clinicdesk.patients.choices import AdministrativeSex, DocumentCategory
from clinicdesk.patients.models import Patient
from clinicdesk.patients.services.documents import document_upload

from ..choices import ClaimFilingIndicator, CoverageRank, Sex, SubscriberRelationship
from ..models import Clearinghouse, Coverage, InsurancePlan, Payer, PriorAuthorization

PAYER_FIELDS = ("name", "payer_identifier", "claim_filing_indicator", "address_line1", "address_line2", "city",
                "state", "postal_code", "phone", "clearinghouse", "timely_filing_days", "is_active")
PLAN_FIELDS = ("name", "claim_filing_indicator", "default_copay", "default_coinsurance_percent", "default_deductible",
               "is_active")
CLEARINGHOUSE_FIELDS = ("name", "kind", "submitter_id", "receiver_id", "usage", "is_active")
COVERAGE_FIELDS = ("payer", "plan", "rank", "relationship", "subscriber_first_name", "subscriber_last_name",
                   "subscriber_date_of_birth", "subscriber_sex", "subscriber_address_line1", "subscriber_city",
                   "subscriber_state", "subscriber_postal_code", "member_id", "group_number", "group_name",
                   "effective_from", "effective_to", "copay", "coinsurance_percent", "deductible")
AUTH_FIELDS = ("number", "procedure_codes", "units_authorized", "units_used", "starts_on", "ends_on", "notes")
_SEX_FROM_PATIENT = {AdministrativeSex.FEMALE: Sex.FEMALE, AdministrativeSex.MALE: Sex.MALE}


def _same_org(organization_id: int, *objects, field_name: str = "__all__") -> None:
    for obj in objects:
        if obj is not None and getattr(obj, "organization_id", organization_id) != organization_id:
            raise ValidationError({field_name: "That record belongs to another practice."})


def _assign(instance, data: dict, allowed: tuple[str, ...]) -> list[str]:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({"__all__": f"Unknown fields: {', '.join(sorted(unknown))}."})
    changed = []
    for name, value in data.items():
        if getattr(instance, name, None) != value or not instance.pk:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def _save(instance, changed: list[str], *, creating: bool) -> None:
    if creating:
        instance.save()
    elif changed:
        instance.save(update_fields=[*changed, "updated_at"])


# --- clearinghouses, payers and plans ------------------------------------------------------------------------


@transaction.atomic
def clearinghouse_save(*, organization: Organization, actor: User, clearinghouse: Clearinghouse | None = None,
                       **data) -> Clearinghouse:
    """Create a clearinghouse, or change one (`clearinghouse` given)."""
    creating = clearinghouse is None
    instance = clearinghouse or Clearinghouse(organization=organization)
    _same_org(organization.pk, instance)
    changed = _assign(instance, data, CLEARINGHOUSE_FIELDS)
    instance.full_clean()
    _save(instance, changed, creating=creating)
    return instance


@transaction.atomic
def payer_save(*, organization: Organization, actor: User, payer: Payer | None = None, **data) -> Payer:
    """Create a payer, or change one; its clearinghouse must be the practice's (none: claims go on paper)."""
    creating = payer is None
    instance = payer or Payer(organization=organization)
    _same_org(organization.pk, instance)
    _same_org(organization.pk, data.get("clearinghouse"), field_name="clearinghouse")
    if "payer_identifier" in data:
        data["payer_identifier"] = (data["payer_identifier"] or "").strip().upper()
    if "state" in data:
        data["state"] = (data["state"] or "").strip().upper()
    changed = _assign(instance, data, PAYER_FIELDS)
    instance.full_clean()
    _save(instance, changed, creating=creating)
    return instance


@transaction.atomic
def plan_save(*, payer: Payer, actor: User, plan: InsurancePlan | None = None, **data) -> InsurancePlan:
    """Create a plan of `payer`, or change one; its defaults pre-fill new coverages."""
    if plan is not None and plan.payer_id != payer.pk:
        raise ValidationError({"__all__": "That plan belongs to another payer."})
    creating = plan is None
    instance = plan or InsurancePlan(payer=payer)
    changed = _assign(instance, data, PLAN_FIELDS)
    pct = instance.default_coinsurance_percent
    if pct is not None and not (0 <= pct <= 100):
        raise ValidationError({"default_coinsurance_percent": "Coinsurance is a percentage from 0 to 100."})
    for name in ("default_copay", "default_deductible"):
        if getattr(instance, name) is not None and getattr(instance, name) < 0:
            raise ValidationError({name: "An amount is zero or more."})
    instance.full_clean()
    _save(instance, changed, creating=creating)
    return instance


# --- payer import --------------------------------------------------------------------------------------------

PAYER_CSV_HEADER = ["payer_id", "name", "claim_filing_indicator", "address_line1", "address_line2", "city", "state",
                    "postal_code", "phone", "clearinghouse", "timely_filing_days"]


@dataclass
class PayerImportRow(RowOutcome):
    """One line of a payer file and what it does (or would do)."""

    line: int
    payer_identifier: str
    name: str = ""
    values: dict = field(default_factory=dict)
    outcome: str = "unchanged"
    messages: list[str] = field(default_factory=list)


# The outcome of every line of a payer file (billing's import result serves every CSV importer).
PayerImportResult = ImportResult


def _read_payer_rows(text: str, *, organization: Organization) -> list[PayerImportRow]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ("payer_id", "name") if c not in header]
    if missing:
        raise ValidationError({"file": f"Line 1: the header lacks column {', '.join(missing)} "
                                       f"(expected {', '.join(PAYER_CSV_HEADER)})."})
    reader.fieldnames = header
    houses = {c.name.lower(): c for c in Clearinghouse.objects.filter(organization=organization)}
    rows, seen = [], {}
    for line, raw in enumerate(reader, start=2):
        raw = {k: (v or "").strip() for k, v in raw.items() if k}
        row = PayerImportRow(line=line, payer_identifier=raw.get("payer_id", "").upper(), name=raw.get("name", ""))
        values: dict = {"name": row.name}
        if not row.payer_identifier:
            row.fail("payer_id", "a payer ID is required.")
        elif len(row.payer_identifier) > 20:
            row.fail("payer_id", "a payer ID has at most 20 characters.")
        elif row.payer_identifier in seen:
            row.fail("payer_id", f"{row.payer_identifier} is already on line {seen[row.payer_identifier]}.")
        else:
            seen[row.payer_identifier] = line
        if not row.name:
            row.fail("name", "a name is required.")
        indicator = raw.get("claim_filing_indicator", "").upper()
        if indicator:
            if indicator not in ClaimFilingIndicator.values:
                row.fail("claim_filing_indicator", f"{indicator} is not a claim filing indicator "
                                                   f"(e.g. CI, MB, MC, 12, HM).")
            values["claim_filing_indicator"] = indicator
        for column in ("address_line1", "address_line2", "city", "postal_code", "phone"):
            if column in raw:
                values[column] = raw[column]
        if "state" in raw:
            state = raw["state"].upper()
            if state and len(state) != 2:
                row.fail("state", f"{raw['state']} is not a two-letter state.")
            values["state"] = state
        if "clearinghouse" in raw:
            name = raw["clearinghouse"]
            if not name or name.lower() == "paper":
                values["clearinghouse"] = None
            elif name.lower() in houses:
                values["clearinghouse"] = houses[name.lower()]
            else:
                row.fail("clearinghouse", f"no clearinghouse named {name}; write its name, or paper.")
        days = raw.get("timely_filing_days", "")
        if days:
            if not days.isdigit() or not (1 <= int(days) <= 3650):
                row.fail("timely_filing_days", f"{days} is not a number of days from 1 to 3650.")
            else:
                values["timely_filing_days"] = int(days)
        row.values = values
        rows.append(row)
    if not rows:
        raise ValidationError({"file": "The file has no payers under its header."})
    return rows


@transaction.atomic
def payer_import(*, organization: Organization, file, actor: User, dry_run: bool) -> PayerImportResult:
    """Add or update payers from CSV (keyed by payer ID). Every line is checked first; one error and nothing is
    saved, each error naming its line and column. A dry run only reports what each line would do."""
    rows = _read_payer_rows(decode_import_file(file), organization=organization)
    existing = {p.payer_identifier: p for p in Payer.objects.select_for_update().filter(organization=organization)}
    new, updated, fields = [], [], set()
    for row in rows:
        if row.outcome == "error":
            continue
        payer = existing.get(row.payer_identifier)
        candidate = payer or Payer(organization=organization, payer_identifier=row.payer_identifier)
        changed = [k for k, v in row.values.items() if getattr(candidate, k, None) != v]
        for k in changed:
            setattr(candidate, k, row.values[k])
        try:
            # Uniqueness of payer IDs is checked above against the file and the practice's payers, and the
            # clearinghouse came from the practice's own: no query per line.
            candidate.full_clean(validate_unique=False, validate_constraints=False, exclude=["clearinghouse"])
        except ValidationError as exc:
            for name, msgs in exc.message_dict.items():
                row.fail(name if name != "payer_identifier" else "payer_id", " ".join(msgs))
            continue
        row.outcome = "new" if payer is None else ("updated" if changed else "unchanged")
        if payer is None:
            new.append(candidate)
        elif changed:
            updated.append(candidate)
            fields.update(changed)
    result = PayerImportResult(rows=rows, dry_run=dry_run)
    if result.errors or dry_run:
        return result
    if new:
        Payer.objects.bulk_create(new, batch_size=500)
    if updated:
        now = timezone.now()
        for payer in updated:
            payer.updated_at = now
        Payer.objects.bulk_update(updated, [*sorted(fields), "updated_at"], batch_size=500)
    counts = result.counts
    # One audit row for the file (bulk writes bypass the per-row field diffs).
    audit_event(action="insurance.payers_imported", actor=actor, organization_id=organization.pk,
                summary=f"Payers imported: {counts['new']} new, {counts['updated']} updated, "
                        f"{counts['unchanged']} unchanged")
    result.saved = True
    return result


# --- coverages -----------------------------------------------------------------------------------------------


def subscriber_from_patient(patient: Patient) -> dict:
    """The subscriber fields when the patient holds the policy (relationship Self)."""
    return {
        "subscriber_first_name": patient.first_name, "subscriber_last_name": patient.last_name,
        "subscriber_date_of_birth": patient.date_of_birth,
        "subscriber_sex": _SEX_FROM_PATIENT.get(patient.sex, Sex.UNKNOWN),
        "subscriber_address_line1": patient.address_line1, "subscriber_city": patient.city,
        "subscriber_state": (patient.state or "")[:2].upper(), "subscriber_postal_code": (patient.postal_code or "")[:10],
    }


def _check_coverage(coverage: Coverage) -> None:
    errors: dict[str, list[str]] = {}
    if not (coverage.member_id or "").strip():
        errors.setdefault("member_id", []).append("The member ID on the card is required.")
    if coverage.payer_id and coverage.payer.organization_id != coverage.organization_id:
        errors.setdefault("payer", []).append("That payer belongs to another practice.")
    if coverage.plan_id and coverage.payer_id and coverage.plan.payer_id != coverage.payer_id:
        errors.setdefault("plan", []).append("That plan belongs to another payer.")
    if coverage.effective_from and coverage.effective_to and coverage.effective_to < coverage.effective_from:
        errors.setdefault("effective_to", []).append("The coverage must end after it starts.")
    if coverage.subscriber_date_of_birth and coverage.subscriber_date_of_birth > timezone.localdate():
        errors.setdefault("subscriber_date_of_birth", []).append("The birth date is in the future.")
    for name in ("copay", "deductible"):
        value = getattr(coverage, name)
        if value is not None and value < 0:
            errors.setdefault(name, []).append("An amount is zero or more.")
    if coverage.coinsurance_percent is not None and not (0 <= coverage.coinsurance_percent <= 100):
        errors.setdefault("coinsurance_percent", []).append("Coinsurance is a percentage from 0 to 100.")
    if coverage.is_active and Coverage.objects.filter(patient_id=coverage.patient_id, rank=coverage.rank,
                                                      is_active=True).exclude(pk=coverage.pk).exists():
        errors.setdefault("rank", []).append(
            f"The patient already has an active {coverage.get_rank_display().lower()} coverage; end it or reorder first.")
    if errors:
        raise ValidationError(errors)
    coverage.full_clean(validate_constraints=False)


def _prefill(coverage: Coverage, data: dict) -> None:
    if coverage.relationship == SubscriberRelationship.SELF:
        for name, value in subscriber_from_patient(coverage.patient).items():
            setattr(coverage, name, value)
    plan = coverage.plan
    if plan is not None:
        for mine, default in (("copay", "default_copay"), ("coinsurance_percent", "default_coinsurance_percent"),
                              ("deductible", "default_deductible")):
            if data.get(mine) is None and getattr(coverage, mine) is None:
                setattr(coverage, mine, getattr(plan, default))


@transaction.atomic
def coverage_create(*, patient: Patient, actor: User, **data) -> Coverage:
    """Add a coverage to the patient. Relationship Self copies the patient's name, birth date, sex and address
    into the subscriber; the plan pre-fills copay, coinsurance and deductible left empty."""
    _same_org(actor.organization_id, patient, field_name="patient")
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one change of a patient's ranks at a time
    coverage = Coverage(organization_id=patient.organization_id, patient=patient, created_by=actor)
    _assign(coverage, dict(data), COVERAGE_FIELDS)
    _prefill(coverage, data)
    _check_coverage(coverage)
    coverage.save()
    audit_event(action="insurance.coverage_added", actor=actor, target=coverage, patient=patient,
                summary=f"{coverage.get_rank_display()} coverage added: {coverage.payer.name}")
    return coverage


@transaction.atomic
def coverage_update(*, coverage: Coverage, actor: User, **data) -> Coverage:
    """Change a coverage's details (not its rank: see coverage_reorder)."""
    _same_org(actor.organization_id, coverage)
    data.pop("rank", None)
    changed = _assign(coverage, data, COVERAGE_FIELDS)
    if coverage.relationship == SubscriberRelationship.SELF:
        for name, value in subscriber_from_patient(coverage.patient).items():
            if getattr(coverage, name) != value:
                setattr(coverage, name, value)
                changed.append(name)
    _check_coverage(coverage)
    if changed:
        coverage.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
    return coverage


@transaction.atomic
def coverage_end(*, coverage: Coverage, actor: User, on: date) -> Coverage:
    """End a coverage on `on`: it stays on file (claims refer to it) but no longer holds its rank."""
    _same_org(actor.organization_id, coverage)
    if coverage.effective_from and on < coverage.effective_from:
        raise ValidationError({"effective_to": "The coverage cannot end before it starts."})
    coverage.effective_to = on
    coverage.is_active = False
    coverage.save(update_fields=["effective_to", "is_active", "updated_at"])
    audit_event(action="insurance.coverage_ended", actor=actor, target=coverage, patient=coverage.patient,
                summary=f"{coverage.get_rank_display()} coverage ended {on:%m/%d/%Y}: {coverage.payer.name}")
    return coverage


@transaction.atomic
def coverage_reorder(*, patient: Patient, actor: User, order: list[Coverage]) -> list[Coverage]:
    """Give the patient's active coverages the ranks of their places in `order` (first: primary), in one
    transaction, so a swap of primary and secondary never shows two primaries or none."""
    _same_org(actor.organization_id, patient, field_name="patient")
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    active = {c.pk: c for c in Coverage.objects.select_for_update().filter(patient=patient, is_active=True)}
    ids = [c.pk for c in order]
    if len(ids) != len(set(ids)) or set(ids) != set(active):
        raise ValidationError({"order": "List each of the patient's active coverages once."})
    if len(ids) > len(CoverageRank.values):
        raise ValidationError({"order": "A patient has at most three active coverages."})
    # Out of the way first (ranks above any real one), then into place: the one-per-rank constraint holds throughout.
    Coverage.objects.filter(pk__in=ids).update(rank=F("rank") + 100)
    result = []
    for rank, pk in enumerate(ids, start=1):
        Coverage.objects.filter(pk=pk).update(rank=rank)
        coverage = active[pk]
        coverage.rank = rank
        result.append(coverage)
    audit_event(action="insurance.coverage_reordered", actor=actor, target=patient, patient=patient,
                summary="Coverages reordered: " + ", ".join(f"{c.get_rank_display()} {c.payer.name}" for c in result))
    return result


@transaction.atomic
def coverage_card_upload(*, coverage: Coverage, actor: User, side: str, file) -> Coverage:
    """File a picture of the card (front or back) in the patient's documents and link it to the coverage."""
    if side not in ("front", "back"):
        raise ValidationError({"side": "Choose the front or the back of the card."})
    _same_org(actor.organization_id, coverage)
    document = document_upload(patient=coverage.patient, actor=actor, file=file, category=DocumentCategory.INSURANCE_CARD,
                               title=f"{coverage.payer.name} card ({side})")
    setattr(coverage, f"card_{side}", document)
    coverage.save(update_fields=[f"card_{side}", "updated_at"])
    return coverage


# --- prior authorisations ------------------------------------------------------------------------------------


def _check_auth(auth: PriorAuthorization) -> None:
    errors: dict[str, list[str]] = {}
    if not (auth.number or "").strip():
        errors["number"] = ["The authorisation number is required."]
    codes = auth.code_list
    if not codes:
        errors["procedure_codes"] = ["Name at least one procedure code, e.g. 97110."]
    elif any(not c.isalnum() or len(c) > 7 for c in codes):
        errors["procedure_codes"] = ["Procedure codes are letters and digits, separated by commas."]
    auth.procedure_codes = ",".join(codes)
    if auth.starts_on and auth.ends_on and auth.ends_on < auth.starts_on:
        errors["ends_on"] = ["The authorisation must end on or after its first day."]
    if auth.units_used is not None and auth.units_authorized is not None and auth.units_used > auth.units_authorized:
        errors["units_used"] = [f"Only {auth.units_authorized} units are authorised."]
    if errors:
        raise ValidationError(errors)
    auth.full_clean(validate_constraints=False)


@transaction.atomic
def authorization_create(*, coverage: Coverage, actor: User, **data) -> PriorAuthorization:
    """Record a payer's prior authorisation for the coverage's patient."""
    _same_org(actor.organization_id, coverage)
    auth = PriorAuthorization(organization_id=coverage.organization_id, patient_id=coverage.patient_id,
                              coverage=coverage, created_by=actor)
    _assign(auth, data, AUTH_FIELDS)
    _check_auth(auth)
    if PriorAuthorization.objects.filter(coverage=coverage, number=auth.number).exists():
        raise ValidationError({"number": "This coverage already has an authorisation with that number."})
    auth.save()
    audit_event(action="insurance.authorization_added", actor=actor, target=auth, patient=coverage.patient,
                summary=f"Authorisation {auth.number} for {auth.procedure_codes}: {auth.units_authorized} units")
    return auth


@transaction.atomic
def authorization_update(*, authorization: PriorAuthorization, actor: User, **data) -> PriorAuthorization:
    _same_org(actor.organization_id, authorization)
    changed = _assign(authorization, data, AUTH_FIELDS)
    _check_auth(authorization)
    if PriorAuthorization.objects.filter(coverage_id=authorization.coverage_id, number=authorization.number).exclude(
            pk=authorization.pk).exists():
        raise ValidationError({"number": "This coverage already has an authorisation with that number."})
    if changed:
        authorization.save(update_fields=[*changed, "procedure_codes", "updated_at"])
    return authorization


@transaction.atomic
def authorization_delete(*, authorization: PriorAuthorization, actor: User) -> None:
    _same_org(actor.organization_id, authorization)
    if authorization.units_used:
        raise ValidationError({"__all__": "Units were used under this authorisation; it stays on file."})
    audit_event(action="insurance.authorization_deleted", actor=actor, target=authorization,
                patient=authorization.patient, summary=f"Authorisation {authorization.number} deleted")
    authorization.delete()


@transaction.atomic
def authorization_use(*, authorization: PriorAuthorization, units: int = 1, actor: User | None = None) -> PriorAuthorization:
    """Count `units` against the authorisation (under a row lock, so two visits never spend the same unit)."""
    if units < 1:
        raise ValidationError({"units": "Use at least one unit."})
    auth = PriorAuthorization.objects.select_for_update().get(pk=authorization.pk)
    if auth.units_used + units > auth.units_authorized:
        raise ValidationError({"units": f"Authorisation {auth.number} has {auth.units_left} unit"
                                        f"{'' if auth.units_left == 1 else 's'} left; {units} asked."})
    auth.units_used += units
    auth.save(update_fields=["units_used", "updated_at"])
    audit_event(action="insurance.authorization_used", actor=actor, target=auth, patient=auth.patient,
                summary=f"Authorisation {auth.number}: {units} unit{'' if units == 1 else 's'} used, {auth.units_left} left")
    authorization.units_used = auth.units_used
    return auth


def copay_from_coverage(patient, appointment) -> Decimal | None:
    """Billing's copay source: the primary coverage's copay on the visit date (the latest answered eligibility
    copay when there is one, else the coverage's own)."""
    from ..selectors.coverage import coverage_for, latest_eligibility

    on = timezone.localtime(appointment.starts_at).date() if appointment is not None else timezone.localdate()
    coverage = coverage_for(patient, on=on, rank=CoverageRank.PRIMARY)
    if coverage is None:
        return None
    check = latest_eligibility(coverage)
    if check is not None and check.copay is not None:
        return check.copay
    return coverage.copay
