"""The pay link: a signed, expiring link for one account, sent in a balance reminder (`links.pay_url`), that lets
the guarantor pay by card without signing in. It is a communications ActionLink (action "pay") naming the
account's guarantor patient; it asks for that patient's date of birth first, like the letter link, and locks after
five wrong answers (counted from the audit trail, so every process sees them)."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditOutcome
from clinicdesk.core.models import AuditEvent

from ..choices import PAY_LINK_ACTION
from ..models import AccountMember, PatientAccount

PAY_LINK_DAYS = 30
PAY_LINK_MAX_WRONG = 5
PAY_LINK_REFUSED = "billing.pay_link_refused"


def _holder(account: PatientAccount):
    """The patient the link names: the guarantor when a patient, else the account's first member."""
    if account.guarantor_patient_id:
        return account.guarantor_patient
    member = AccountMember.objects.select_related("patient").filter(account=account).order_by("id").first()
    return member.patient if member else None


def pay_link_issue(*, account: PatientAccount, actor=None, valid_for: timedelta = timedelta(days=PAY_LINK_DAYS),
                   site_url: str = "") -> tuple[object, str]:
    """Make a pay link for the account; returns the link row and its absolute URL (for `links.pay_url`)."""
    from clinicdesk.communications.links import link_issue, link_path, public_url

    holder = _holder(account)
    if holder is None:
        raise ValidationError({"account": "The account has no patient to ask for a date of birth."})
    link, token = link_issue(organization=account.organization, action=PAY_LINK_ACTION, patient=holder,
                             valid_for=valid_for)
    url = site_url.rstrip("/") + link_path(token) if site_url else public_url(link_path(token))
    audit_event(action="billing.pay_link_issued", actor=actor, target=account, patient=holder,
                summary=f"Pay link for account {account.number}, valid {valid_for.days} days")
    return link, url


def pay_link_account(link) -> PatientAccount:
    """The account a pay link is for (the account its patient bills to now)."""
    if link.action != PAY_LINK_ACTION or link.patient_id is None:
        raise ValidationError({"token": "This link is not valid."})
    membership = AccountMember.objects.select_related("account", "account__organization", "account__guarantor_patient").filter(
        patient_id=link.patient_id).first()
    if membership is None or membership.account.organization_id != link.organization_id:
        raise ValidationError({"token": "This link is not valid."})
    return membership.account


def pay_link_wrong_answers(link) -> int:
    return AuditEvent.objects.filter(action=PAY_LINK_REFUSED, target_type="communications.actionlink",
                                     target_id=str(link.pk)).count()


def pay_link_verify(*, link, date_of_birth: date | None) -> PatientAccount:
    """Check the date of birth of the link's patient; each wrong answer is recorded, and after five the link stops
    working for good. Not one transaction on purpose: a wrong answer's record stays though the answer is refused."""
    from clinicdesk.communications.models import ActionLink

    account = pay_link_account(link)
    if link.used_at is not None or pay_link_wrong_answers(link) >= PAY_LINK_MAX_WRONG:
        raise ValidationError({"token": "This link is locked after too many wrong answers. Please call the office."})
    patient = link.patient
    if date_of_birth is None or date_of_birth != patient.date_of_birth:
        audit_event(action=PAY_LINK_REFUSED, target=link, patient=patient, organization_id=link.organization_id,
                    outcome=AuditOutcome.DENIED, summary="Wrong date of birth on a pay link",
                    actor_label="patient (pay link)")
        left = PAY_LINK_MAX_WRONG - pay_link_wrong_answers(link)
        if left <= 0:
            ActionLink.objects.filter(pk=link.pk).update(used_at=timezone.now(), updated_at=timezone.now())
            raise ValidationError({"token": "This link is locked after too many wrong answers. Please call the office."})
        raise ValidationError({"date_of_birth": f"That date of birth does not match our records. "
                                                f"{left} attempt{'s' if left != 1 else ''} left."})
    audit_event(action="billing.pay_link_opened", target=account, patient=patient, organization_id=link.organization_id,
                summary=f"Account {account.number} opened by pay link", actor_label="patient (pay link)")
    return account
