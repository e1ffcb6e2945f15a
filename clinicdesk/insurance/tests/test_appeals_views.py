"""The appeal's outcome on the claim page: sent with its date, then won or lost (a loss with the payer's reason);
refused moves and dates come back as form errors with nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.models import AuditEvent
from clinicdesk.insurance.choices import AppealStatus, ClaimStatus
from clinicdesk.insurance.models import Appeal, Claim, ClaimEvent

from .claims_world import ClaimsWorld

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(org):
    return ClaimsWorld(org)


def _post(client, claim, appeal, **fields):
    data = {"decide-appeal": appeal.pk, **{f"decide-{k}": v for k, v in fields.items()}}
    return client.post(reverse("insurance:claim_appeal_decide", args=[claim.public_id]), data)


def test_sent_then_lost_with_a_note(w, client_as):
    claim, appeal = w.appealed()
    client = client_as(w.biller)
    page = client.get(reverse("insurance:claim_detail", args=[claim.public_id])).content.decode()
    assert "Record the outcome" in page and "Sent to the payer" in page and "Won" not in page
    today = timezone.localdate()
    sent_on = today - timedelta(days=10)
    assert _post(client, claim, appeal, status="sent", on=sent_on.isoformat()).status_code == 302
    appeal.refresh_from_db()
    assert (appeal.status, appeal.sent_on) == (AppealStatus.SENT, sent_on)
    # a loss without the payer's reason is refused on the note field
    refused = _post(client, claim, appeal, status="lost", on=today.isoformat(), note=" ")
    assert refused.status_code == 400 and "Say why the payer upheld the denial" in refused.content.decode()
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.SENT
    assert _post(client, claim, appeal, status="lost", on=today.isoformat(), note="Upheld, ref 77").status_code == 302
    appeal.refresh_from_db()
    assert (appeal.status, appeal.decided_on) == (AppealStatus.LOST, today)
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.DENIED
    assert ClaimEvent.objects.filter(claim=claim, text__contains="Upheld, ref 77").exists()
    assert AuditEvent.objects.filter(action="appeal.decided", patient_id=claim.patient_id).count() == 2


def test_won_keeps_the_claim_for_the_payment(w, client_as):
    claim, appeal = w.appealed()
    client = client_as(w.biller)
    _post(client, claim, appeal, status="sent", on=timezone.localdate().isoformat())
    assert _post(client, claim, Appeal.objects.get(pk=appeal.pk), status="won",
                 on=timezone.localdate().isoformat()).status_code == 302
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.WON
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.APPEALED
    page = client.get(reverse("insurance:claim_detail", args=[claim.public_id])).content.decode()
    assert "Record the outcome" not in page  # a decided appeal has no form


@pytest.mark.parametrize(("fields", "words"), [
    ({"status": "won"}, "Select a valid choice"),  # a draft cannot be won before it is sent
    ({"status": "sent", "on": "2999-01-01"}, "in the future"),
    ({"status": "sent", "on": "not a date"}, "Enter a valid date"),
])
def test_refusals_are_form_errors(w, client_as, fields, words):
    claim, appeal = w.appealed()
    response = _post(client_as(w.biller), claim, appeal, **{"on": timezone.localdate().isoformat(), **fields})
    assert response.status_code == 400 and words in response.content.decode()
    assert Appeal.objects.get(pk=appeal.pk).status == AppealStatus.DRAFT


def test_the_answer_cannot_come_before_the_appeal_was_sent(w, client_as):
    claim, appeal = w.appealed()
    client = client_as(w.biller)
    today = timezone.localdate()
    _post(client, claim, appeal, status="sent", on=today.isoformat())
    response = _post(client, claim, appeal, status="won", on=(today - timedelta(days=3)).isoformat())
    assert response.status_code == 400 and "cannot come before that" in response.content.decode()


def test_another_claims_appeal_is_404_and_front_desk_is_refused(w, client_as, make_user):
    claim, appeal = w.appealed()
    other_claim, _ = w.appealed(w.new_patient("Other"))
    assert _post(client_as(w.biller), other_claim, appeal, status="sent",
                 on=timezone.localdate().isoformat()).status_code == 404
    assert _post(client_as(make_user()), claim, appeal, status="sent",
                 on=timezone.localdate().isoformat()).status_code == 403
