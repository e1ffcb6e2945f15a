"""Patient accounts: every patient bills to one account; a family shares its guarantor's."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinicdesk.core.audit import audit_event

from ..models import AccountMember, PatientAccount


def _guarantor_details(patient) -> dict:
    return {
        "guarantor_name": f"{patient.first_name} {patient.last_name}".strip(),
        "address_line1": getattr(patient, "address_line1", ""),
        "address_line2": getattr(patient, "address_line2", ""),
        "city": patient.city, "state": patient.state, "postal_code": patient.postal_code,
        "email": patient.email, "phone": patient.phone_mobile or patient.phone_home,
    }


def account_for_patient(*, patient, actor=None) -> PatientAccount:
    """The account a patient bills to, opened on first need: the guarantor patient's account when the chart names
    one (a family on one account), otherwise an account of the patient's own, or of the outside guarantor."""
    membership = AccountMember.objects.select_related("account").filter(patient=patient).first()
    if membership is not None:
        return membership.account
    with transaction.atomic():
        guarantor = getattr(patient, "guarantor", None) if hasattr(patient, "guarantor") else None
        if guarantor is not None and guarantor.guarantor_patient_id and guarantor.guarantor_patient_id != patient.pk:
            account = account_for_patient(patient=guarantor.guarantor_patient, actor=actor)
        else:
            details = _guarantor_details(patient)
            if guarantor is not None and guarantor.name and not guarantor.guarantor_patient_id:
                details.update(guarantor_name=guarantor.name, address_line1=guarantor.address_line1, address_line2="",
                               city=guarantor.city, state=guarantor.state, postal_code=guarantor.postal_code,
                               email=guarantor.email, phone=guarantor.phone)
            try:
                with transaction.atomic():
                    account = PatientAccount.objects.create(
                        organization_id=patient.organization_id, number=patient.mrn,
                        guarantor_patient=patient if not (guarantor and guarantor.name and not guarantor.guarantor_patient_id) else None,
                        **details,
                    )
            except IntegrityError:
                # Another request opened it first.
                membership = AccountMember.objects.select_related("account").filter(patient=patient).first()
                if membership is not None:
                    return membership.account
                raise
        try:
            with transaction.atomic():
                AccountMember.objects.create(account=account, patient=patient)
        except IntegrityError:
            return AccountMember.objects.select_related("account").get(patient=patient).account
        audit_event(action="billing.account_opened", actor=actor, target=account, patient=patient,
                    summary=f"Bills to account {account.number} ({account.guarantor_name})")
    return account


@transaction.atomic
def account_member_move(*, patient, account: PatientAccount, actor) -> AccountMember:
    """Move a patient onto another account (a child onto a parent's). Their ledger history moves with them."""
    if patient.organization_id != account.organization_id:
        raise ValidationError({"account": "That account belongs to another organization."})
    membership = AccountMember.objects.select_for_update().filter(patient=patient).first()
    if membership is None:
        membership = AccountMember(account=account, patient=patient)
        membership.full_clean()
        membership.save()
    elif membership.account_id != account.pk:
        old = membership.account
        membership.account = account
        membership.save(update_fields=["account"])
        audit_event(action="billing.account_member_moved", actor=actor, target=account, patient=patient,
                    summary=f"Moved from account {old.number} to {account.number}")
    return membership


def account_patient_ids(account: PatientAccount) -> list[int]:
    return list(AccountMember.objects.filter(account=account).values_list("patient_id", flat=True))
