"""Billing as FHIR R4 resources, read-only: ChargeItem (an encounter's service lines), Account (patient accounts)
and Invoice (patient statements, with the figures frozen at the statement run and printed on its PDF).

Each carries a patient's data: the role needs both the patients and the billing permission, and every row read or
returned by a search is audited as a read of its patient's data (see docs/fhir.md for the mapping choices).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import BigIntegerField, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest
from django.utils import timezone
from fhir.resources.R4B.account import Account as FhirAccount
from fhir.resources.R4B.chargeitem import ChargeItem as FhirChargeItem
from fhir.resources.R4B.invoice import Invoice as FhirInvoice

from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.models import AccountMember, EncounterDiagnosis, PatientAccount, ServiceLine, Statement
from clinicdesk.billing.selectors.accounts import account_scope
from clinicdesk.billing.services.statements import PATIENT_ROLES
from clinicdesk.core.audit import audit_event_rows
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import User
from clinicdesk.core.money import format_money
from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.models import JournalLine
from clinicdesk.patients.models import Patient

from ..bindings import ACCOUNT_STATUS, INVOICE_STATUS
from ..mappers import _checked, _instant
from ..models import FhirToken
from ..search import _any_of, bad, check_params, date_filter, default_tz, reference_id, split_param

CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
HCPCS_SYSTEM = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# The columns of the printed statement, as the codes of an Invoice's price components.
STATEMENT_COLUMN_SYSTEM = "urn:clinicdesk:statement-column"
MODIFIER_EXTENSION = "urn:clinicdesk:fhir:extension:procedure-modifier"
CODE_SYSTEMS = {"CPT": CPT_SYSTEM, "HCPCS": HCPCS_SYSTEM}
USD = "USD"


def _money(value) -> dict:
    return {"value": Decimal(value), "currency": USD}


def fhir_id(public_id: str) -> str:
    """Account and statement public ids as FHIR ids: FHIR allows no '_', and ours never hold a '.'."""
    return public_id.replace("_", ".")


def public_id_of(resource_id: str) -> str:
    return resource_id.replace(".", "_")


def encounter_system(organization) -> str:
    return f"urn:clinicdesk:{organization.slug}:encounter"


def account_number_system(organization) -> str:
    return f"urn:clinicdesk:{organization.slug}:account-number"


def _may_read(actor: User | None) -> bool:
    return (actor is not None and actor.has_perm_code(Perm.PATIENT_VIEW)
            and actor.has_perm_code(Perm.BILLING_VIEW))


def _patient_ref(patient: Patient) -> dict:
    return {"reference": f"Patient/{patient.public_id}", "display": patient.display_name}


def _audit(actor: User, action: str, rows: list, patient_of, summary: str) -> None:
    """One audit row per row shown, each naming its patient, in one insert."""
    audit_event_rows({"action": action, "actor": actor, "target": row, "patient": patient_of(row),
                      "channel": AuditChannel.API, "summary": summary} for row in rows)


def _search_endpoint(resource_type: str, rows_for, to_resource, action: str, patient_of):
    """The search of one resource type: a page of its rows, each audited as a read of its patient's data."""

    def search_view(request: HttpRequest, token: FhirToken) -> dict:
        from ..views import _searchset  # views registers this module's endpoints

        actor = token.user
        return _searchset(request, resource_type, rows_for(actor=actor, params=request.GET), to_resource,
                          audit=lambda page: _audit(actor, action, page, patient_of,
                                                    f"Returned by a FHIR {resource_type} search"))

    return search_view


def _ids_filter(key: str, raw: str, field: str) -> Q:
    return _any_of(key, raw, lambda v: Q(**{field: public_id_of(v)}))


def _account_ref(param: str, value: str) -> str:
    """The account public id an `Account/<id>` search value names."""
    return public_id_of(reference_id(param, value, "Account"))


# --- ChargeItem: one service line of an encounter ------------------------------------------------------------------

# The encounter's state as the charge's (chargeitem-status). A posted line with no amount opens no receivable.
CHARGE_STATUS = {
    EncounterStatus.DRAFT: "planned",
    EncounterStatus.IN_REVIEW: "planned",
    EncounterStatus.ON_HOLD: "planned",
    EncounterStatus.POSTED: "billed",
}


def charge_item_id(line: ServiceLine) -> str:
    """The encounter's public id and the line's number: unguessable, and kept when the visit is coded again."""
    return f"{line.encounter.public_id}-{line.sequence}"


def charge_status(line: ServiceLine) -> str:
    encounter = line.encounter
    if encounter.status == EncounterStatus.VOID:
        # Voided once posted: the charge was taken back as an error; voided before posting: never went ahead.
        return "entered-in-error" if encounter.charge_entry_id else "aborted"
    if encounter.status == EncounterStatus.POSTED and line.amount == 0:
        return "not-billable"
    return CHARGE_STATUS[encounter.status]


def _account_of(patient: Patient) -> PatientAccount | None:
    membership = getattr(patient, "billing_membership", None)
    return membership.account if membership is not None else None


def charge_item_resource(line: ServiceLine) -> dict:
    """ChargeItem: the procedure (CPT or HCPCS, modifiers as extensions), units, line total, service date,
    rendering provider, the diagnoses it points at, the encounter (by identifier) and the patient's account."""
    encounter = line.encounter
    organization = encounter.organization
    patient = encounter.patient
    system = CODE_SYSTEMS.get(line.code_system, f"urn:clinicdesk:{organization.slug}:procedure")
    diagnoses = {dx.sequence: dx for dx in encounter.diagnoses.all()}
    performer = line.rendering_provider or encounter.provider
    account = _account_of(patient)
    modifiers = [{"url": MODIFIER_EXTENSION,
                  "valueCoding": {"system": CPT_SYSTEM if m.isdigit() else HCPCS_SYSTEM, "code": m}}
                 for m in line.modifier_list]
    body = {
        "resourceType": "ChargeItem",
        "id": charge_item_id(line),
        "meta": {"lastUpdated": _instant(max(line.updated_at, encounter.updated_at))},
        "extension": modifiers,
        "status": charge_status(line),
        "code": {"coding": [{"system": system, "code": line.procedure_code, "display": line.description}],
                 "text": line.description},
        "subject": _patient_ref(patient),
        "context": {"type": "Encounter", "identifier": {"system": encounter_system(organization),
                                                        "value": encounter.public_id}},
        "occurrenceDateTime": encounter.service_date.isoformat(),
        "performer": [{"actor": {"reference": f"Practitioner/{performer.pk}", "display": str(performer)}}],
        "performingOrganization": {"reference": f"Organization/{organization.pk}", "display": organization.name},
        "quantity": {"value": line.units},
        "priceOverride": _money(line.amount),
        "overrideReason": f"{line.units} × {format_money(line.unit_price)}, the fee schedule's price on the service date",
        "enteredDate": _instant(line.created_at),
        "reason": [{"coding": [{"system": ICD10CM_SYSTEM, "code": diagnoses[p].code,
                                "display": diagnoses[p].description}]}
                   for p in line.pointer_list if p in diagnoses],
        "account": [{"reference": f"Account/{fhir_id(account.public_id)}"}] if account else [],
    }
    return _checked(FhirChargeItem, body)


def charge_item_scope(*, actor: User) -> QuerySet[ServiceLine]:
    """The service lines of the actor's practice (patients not merged away), with everything the mapper reads;
    none for a role without both the patients and the billing permission. `patient_id` names the line's patient."""
    if not _may_read(actor):
        return ServiceLine.objects.none()
    return (ServiceLine.objects
            .filter(encounter__organization_id=actor.organization_id, encounter__patient__merged_into__isnull=True)
            .select_related("encounter__organization", "encounter__patient__billing_membership__account",
                            "encounter__provider", "rendering_provider")
            .prefetch_related(Prefetch("encounter__diagnoses", queryset=EncounterDiagnosis.objects.order_by("sequence")))
            .annotate(patient_id=F("encounter__patient_id"))
            .order_by("encounter__service_date", "encounter_id", "sequence"))


def _charge_id_q(value: str) -> Q:
    encounter, _, sequence = value.rpartition("-")
    if not encounter or not sequence.isdigit() or len(sequence) > 4:
        return Q(pk__in=[])  # not an id of ours: nothing has it
    return Q(encounter__public_id=encounter, sequence=int(sequence))


def _code_q(param: str, value: str) -> Q:
    system, bar, code = value.rpartition("|") if "|" in value else ("", "", value)
    if not code:
        raise bad(param, "Give the code after the '|'.")
    if not bar or not system:
        return Q(procedure_code=code.upper())
    ours = [name for name, url in CODE_SYSTEMS.items() if url == system]
    return Q(procedure_code=code.upper(), code_system__in=ours)


CHARGE_ITEM_PARAMS: dict[str, tuple[str, ...]] = {
    "_id": (), "patient": (), "entered-date": (), "occurrence": (), "code": (), "account": (),
}


def charge_item_search(*, actor: User, params) -> QuerySet[ServiceLine]:
    """Service lines matching the FHIR parameters, by service date."""
    check_params(params, CHARGE_ITEM_PARAMS)
    rows = charge_item_scope(actor=actor)
    tz = default_tz()
    for key in params:
        name, _ = split_param(key)
        values = params.getlist(key)
        if name == "entered-date":
            rows = rows.filter(date_filter(key, values, "created_at", tz=tz, as_date=False))
        elif name == "occurrence":
            rows = rows.filter(date_filter(key, values, "encounter__service_date", tz=tz, as_date=True))
        for raw in values:
            if name == "_id":
                rows = rows.filter(_any_of(key, raw, _charge_id_q))
            elif name == "patient":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(
                    encounter__patient__public_id=reference_id(key, v, "Patient"))))
            elif name == "code":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _code_q(key, v)))
            elif name == "account":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(
                    encounter__patient__billing_membership__account__public_id=_account_ref(key, v))))
    return rows


def _line_patient(line: ServiceLine) -> Patient:
    return line.encounter.patient


def charge_item_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    line = charge_item_scope(actor=actor).filter(_charge_id_q(resource_id)).first()
    if line is None:
        raise Http404
    _audit(actor, "billing.charge_viewed", [line], _line_patient, f"Charge {line} read through the FHIR API")
    return charge_item_resource(line)


charge_item_search_view = _search_endpoint("ChargeItem", charge_item_search, charge_item_resource, "billing.charge_listed", _line_patient)


# --- Account: a patient account (its guarantor and the patients on it) -------------------------------------------


def _account_patient_id(account_field: str, guarantor_field: str) -> Coalesce:
    """The id of the account's patient (see `account_patient`), in SQL."""
    first = (AccountMember.objects.filter(account_id=OuterRef(account_field), patient__merged_into__isnull=True)
             .order_by("id").values("patient_id")[:1])
    return Coalesce(guarantor_field, Subquery(first), output_field=BigIntegerField())


def _members(lookup: str = "members") -> Prefetch:
    """The patients on the account (those not merged away), in the order they joined."""
    return Prefetch(lookup, queryset=AccountMember.objects.filter(patient__merged_into__isnull=True)
                    .select_related("patient").order_by("id"))


def account_patient(account: PatientAccount) -> Patient | None:
    """The patient an account's data is filed under (audit, export): the guarantor when a patient, else the first
    patient on it. The members must be prefetched with `_members()`."""
    if account.guarantor_patient is not None:
        return account.guarantor_patient
    members = list(account.members.all())
    return members[0].patient if members else None


def guarantor_party(account: PatientAccount) -> tuple[dict, list[dict]]:
    """The guarantor as a reference, and what it needs contained: the Patient when they are one of ours, else a
    RelatedPerson of the account's first patient (FHIR wants one) with the name, address and contacts on the account."""
    if account.guarantor_patient is not None:
        return _patient_ref(account.guarantor_patient), []
    patient = account_patient(account)
    if patient is None:
        return {"display": account.guarantor_name}, []
    city_line = {"use": "home", "line": [account.address_line1, account.address_line2], "city": account.city,
                 "state": account.state, "postalCode": account.postal_code}
    person = {
        "resourceType": "RelatedPerson", "id": "guarantor", "patient": {"reference": f"Patient/{patient.public_id}"},
        "name": [{"text": account.guarantor_name}],
        "telecom": [{"system": "phone", "value": account.phone}, {"system": "email", "value": account.email}],
        "address": [city_line],
    }
    person["telecom"] = [t for t in person["telecom"] if t["value"]]
    return {"reference": "#guarantor", "display": account.guarantor_name}, [person]


def account_status(account: PatientAccount) -> str:
    if account.collections_hold:
        return "on-hold"
    return "active" if list(account.members.all()) else "inactive"


def account_resource(account: PatientAccount) -> dict:
    """Account: the patients on it, its guarantor, the practice as owner; no balance (the statements carry them)."""
    organization = account.organization
    party, contained = guarantor_party(account)
    body = {
        "resourceType": "Account",
        "id": fhir_id(account.public_id),
        "meta": {"lastUpdated": _instant(account.updated_at)},
        "contained": contained,
        "identifier": [{"use": "usual", "system": account_number_system(organization), "value": account.number}],
        "status": account_status(account),
        "type": {"coding": [{"system": ACT_CODE_SYSTEM, "code": "PBILLACCT", "display": "patient billing account"}]},
        "name": str(account),
        "subject": [_patient_ref(m.patient) for m in account.members.all()],
        "servicePeriod": {"start": timezone.localtime(account.created_at).date().isoformat()},
        "owner": {"reference": f"Organization/{organization.pk}", "display": organization.name},
        "guarantor": [{"party": party}],
    }
    return _checked(FhirAccount, body)


def account_rows(*, actor: User) -> QuerySet[PatientAccount]:
    """The practice's accounts for a role with the patients and the billing permission, with the guarantor and the
    patients on it; `patient_id` is the account's patient (`account_patient`)."""
    if not _may_read(actor):
        return PatientAccount.objects.none()
    return (account_scope(actor=actor).select_related("organization", "guarantor_patient").prefetch_related(_members())
            .annotate(patient_id=_account_patient_id("pk", "guarantor_patient_id"))
            .order_by("guarantor_name", "number", "id"))


def _account_status_q(param: str, value: str) -> Q:
    if value not in ACCOUNT_STATUS:
        raise bad(param, f"'{value}' is not an account status; use one of: {', '.join(ACCOUNT_STATUS)}.")
    members = Q(pk__in=AccountMember.objects.filter(patient__merged_into__isnull=True).values("account_id"))
    return {"on-hold": Q(collections_hold=True), "active": Q(collections_hold=False) & members,
            "inactive": Q(collections_hold=False) & ~members}.get(value, Q(pk__in=[]))


def _on_account_of(param: str, value: str, field: str) -> Q:
    """Rows whose account has the patient on it."""
    patient = reference_id(param, value, "Patient")
    return Q(**{f"{field}__in": AccountMember.objects.filter(patient__public_id=patient).values("account_id")})


ACCOUNT_PARAMS: dict[str, tuple[str, ...]] = {"_id": (), "patient": (), "status": ()}


def account_search(*, actor: User, params) -> QuerySet[PatientAccount]:
    check_params(params, ACCOUNT_PARAMS)
    rows = account_rows(actor=actor)
    for key in params:
        name, _ = split_param(key)
        for raw in params.getlist(key):
            if name == "_id":
                rows = rows.filter(_ids_filter(key, raw, "public_id"))
            elif name == "patient":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _on_account_of(key, v, "pk")))
            elif name == "status":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _account_status_q(key, v)))
    return rows


def account_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    account = account_rows(actor=actor).filter(public_id=public_id_of(resource_id)).first()
    if account is None:
        raise Http404
    _audit(actor, "billing.account_viewed", [account], account_patient,
           f"Account {account.number} read through the FHIR API")
    return account_resource(account)


account_search_view = _search_endpoint("Account", account_search, account_resource, "billing.account_listed", account_patient)


# --- Invoice: a patient statement ------------------------------------------------------------------------------

# (code, price component type, the statement's own words) of each money column of a statement's service row.
ROW_COLUMNS = (
    ("charge", "base", "Charge"),
    ("insurance", "deduction", "Insurance paid/adj."),
    ("payments", "deduction", "Your payments"),
    ("adjustments", "discount", "Adjustments"),
)
# ... and of its summary, from the statement's stored figures.
SUMMARY_COLUMNS = (
    ("previous_balance", "informational", "Previous balance"),
    ("new_charges", "base", "New charges"),
    ("insurance_adjusted", "deduction", "Insurance paid/adj."),
    ("payments", "deduction", "Your payments"),
    ("adjustments", "discount", "Adjustments"),
)


def _component(kind: str, code: str, label: str, amount) -> dict:
    return {"type": kind, "code": {"coding": [{"system": STATEMENT_COLUMN_SYSTEM, "code": code, "display": label}],
                                   "text": label},
            "amount": _money(amount)}


def _owed_now() -> Subquery:
    """What the statement's account owes today, from the ledger (its patients' receivables less their credit)."""
    lines = (JournalLine.objects
             .filter(organization_id=OuterRef("organization_id"), account__role__in=PATIENT_ROLES,
                     entry_date__lte=timezone.localdate(), patient__billing_membership__account_id=OuterRef("account_id"))
             .order_by().values("patient__billing_membership__account_id").annotate(total=Sum("amount")).values("total"))
    return Subquery(lines)


def invoice_status(statement: Statement) -> str:
    """Issued, or balanced once the account owes nothing any more."""
    return "balanced" if (statement.owed_now or 0) <= 0 else "issued"


def invoice_resource(statement: Statement) -> dict:
    """Invoice: the statement's figures as printed: a line per service row of the PDF (its columns as price
    components), the summary as total price components, the amount due as the totals."""
    account = statement.account
    organization = statement.organization
    figures = statement.figures
    recipient, contained = guarantor_party(account)
    patient = account_patient(account)
    lines = []
    for group in figures.get("patients", []):
        for row in group["rows"]:
            components = [_component(kind, code, label, row[code]) for code, kind, label in ROW_COLUMNS
                          if Decimal(row[code]) != 0]
            components.append(_component("informational", "balance", "Your balance", row["balance"]))
            lines.append({"sequence": len(lines) + 1,
                          "chargeItemCodeableConcept": {"text": f"{row['date']} {group['name']}: {row['description']}"},
                          "priceComponent": components})
    totals = [_component(kind, code, label, figures[code]) for code, kind, label in SUMMARY_COLUMNS]
    if Decimal(figures.get("insurance_pending") or "0") > 0:
        totals.append(_component("informational", "insurance_pending", "Waiting for insurance",
                                 figures["insurance_pending"]))
    body = {
        "resourceType": "Invoice",
        "id": fhir_id(statement.public_id),
        "meta": {"lastUpdated": _instant(statement.created_at)},
        "contained": contained,
        "status": invoice_status(statement),
        "type": {"text": "Patient statement"},
        "subject": _patient_ref(patient) if patient is not None else None,
        "recipient": recipient,
        "date": statement.statement_date.isoformat(),
        "issuer": {"reference": f"Organization/{organization.pk}", "display": organization.name},
        "account": {"reference": f"Account/{fhir_id(account.public_id)}"},
        "lineItem": lines,
        "totalPriceComponent": totals,
        "totalNet": _money(statement.amount_due),
        "totalGross": _money(statement.amount_due),
        "paymentTerms": f"Please pay by {date.fromisoformat(figures['due_date']):%m/%d/%Y}.",
        "note": [{"text": statement.dunning_message}] if statement.dunning_message else [],
    }
    return _checked(FhirInvoice, body)


def invoice_rows(*, actor: User) -> QuerySet[Statement]:
    """The practice's statements for a role with the patients and the billing permission, newest first, with what
    their account owes now; `patient_id` is the account's patient."""
    if not _may_read(actor):
        return Statement.objects.none()
    return (Statement.objects.filter(organization_id=actor.organization_id)
            .select_related("organization", "account__guarantor_patient")
            .prefetch_related(_members("account__members"))
            .annotate(owed_now=_owed_now(), patient_id=_account_patient_id("account_id", "account__guarantor_patient_id"))
            .order_by("-statement_date", "-id"))


def _invoice_status_q(param: str, value: str) -> Q:
    if value not in INVOICE_STATUS:
        raise bad(param, f"'{value}' is not an invoice status; use one of: {', '.join(INVOICE_STATUS)}.")
    paid = Q(owed_now__lte=0) | Q(owed_now__isnull=True)
    return {"balanced": paid, "issued": ~paid}.get(value, Q(pk__in=[]))


INVOICE_PARAMS: dict[str, tuple[str, ...]] = {"_id": (), "patient": (), "date": (), "status": (), "account": ()}


def invoice_search(*, actor: User, params) -> QuerySet[Statement]:
    check_params(params, INVOICE_PARAMS)
    rows = invoice_rows(actor=actor)
    for key in params:
        name, _ = split_param(key)
        values = params.getlist(key)
        if name == "date":
            rows = rows.filter(date_filter(key, values, "statement_date", tz=default_tz(), as_date=True))
            continue
        for raw in values:
            if name == "_id":
                rows = rows.filter(_ids_filter(key, raw, "public_id"))
            elif name == "patient":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _on_account_of(key, v, "account_id")))
            elif name == "status":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _invoice_status_q(key, v)))
            elif name == "account":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(account__public_id=_account_ref(key, v))))
    return rows


def _statement_patient(statement: Statement) -> Patient | None:
    return account_patient(statement.account)


def invoice_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    statement = invoice_rows(actor=actor).filter(public_id=public_id_of(resource_id)).first()
    if statement is None:
        raise Http404
    _audit(actor, "statement.viewed", [statement], _statement_patient,
           f"Statement of {statement.statement_date:%m/%d/%Y} read through the FHIR API")
    return invoice_resource(statement)


invoice_search_view = _search_endpoint("Invoice", invoice_search, invoice_resource, "statement.listed", _statement_patient)
