"""999 then 277CA: a claim is rejected only when an acknowledgement rejects it (its transaction set by the 999, or
itself by an STC rejection); claims in accepted sets that no 277CA decides stay submitted and reach the follow-up
queue after a few days; receipts (A1) are noted, not taken as acceptance."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import BatchStatus, ClaimEventKind, ClaimStatus
from clinicdesk.insurance.models import ClaimBatch, ClaimEvent
from clinicdesk.insurance.selectors.eligibility import claims_awaiting_acknowledgement
from clinicdesk.insurance.services.batches import claim_batch_build, claim_batch_read_277ca, claim_batch_read_answers
from clinicdesk.insurance.x12 import x837p
from clinicdesk.insurance.x12.segments import Envelope
from clinicdesk.insurance.x12.x277ca import ClaimStatus as Stc
from clinicdesk.insurance.x12.x277ca import acknowledge_claims, write_277ca
from clinicdesk.insurance.x12.x837p import claim_ids_by_transaction, read_837p
from clinicdesk.insurance.x12.x999 import FunctionalAck, SegmentError, TransactionAck, write_999

from .eligibility_setup import *  # noqa: F403  (the shared fixtures)
from .eligibility_setup import make_claim

ENVELOPE = Envelope("LOCALCH", "RIVERSIDE01", 77, 77, timezone.datetime(2026, 11, 4, 8, 0))


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller")


@pytest.fixture
def batch(practice, coverage, biller, monkeypatch):
    """Four claims, each in its own transaction set (A, B, C, D in ST order)."""
    monkeypatch.setattr(x837p, "MAX_CLAIMS_PER_TRANSACTION", 1)
    first = make_claim(coverage, number="A")
    claims = [first] + [make_claim(coverage, number=n, doctor=first.rendering_provider,
                                   location=first.encounter.location) for n in "BCD"]
    [built] = claim_batch_build(organization=practice, claims=claims, actor=biller)
    return built


def sets_of(batch: ClaimBatch) -> dict[str, str]:
    """claim number -> ST02 of the set that carried it."""
    return {number: st for (_, st), numbers in claim_ids_by_transaction(batch.content).items() for number in numbers}


def ack_999(batch: ClaimBatch, statuses: dict[str, str], group_status: str) -> str:
    carried = sets_of(batch)
    transactions = [TransactionAck("837", carried[number], status, x837p.IMPLEMENTATION,
                                   errors=[SegmentError("NM1", 12, "8")] if status == "R" else [],
                                   error_codes=["5"] if status == "R" else [])
                    for number, status in statuses.items()]
    accepted = sum(1 for t in transactions if t.status in "AE")
    return write_999([FunctionalAck("HC", str(batch.group_control_number), group_status, x837p.IMPLEMENTATION,
                                    transactions, included=4, received=4, accepted_count=accepted)],
                     envelope=ENVELOPE)


def ack_277(batch: ClaimBatch, statuses: dict[str, list[Stc]]) -> str:
    sent = read_837p(batch.content)
    sent.claims = [claim for claim in sent.claims if claim.claim_id in statuses]
    answer = acknowledge_claims(sent, payer_name="ACME HEALTH", payer_id="ACME1", received=date(2026, 11, 4),
                                processed=date(2026, 11, 4), rejections=statuses,
                                payer_claim_numbers={"A": "PCN-A"})
    return write_277ca([answer], envelope=ENVELOPE)


def statuses(batch) -> dict[str, str]:
    return dict(batch.claims.values_list("claim_number", "status"))


def test_a_partly_accepted_999_then_a_277ca_rejects_only_what_was_rejected(batch, biller):
    # given: the 999 rejects B's set and says nothing about D's; the 277CA accepts A, only receives C, omits D
    nine = ack_999(batch, {"A": "A", "B": "R", "C": "A"}, "P")
    two = ack_277(batch, {"A": [Stc("A2", "20", "PR")], "C": [Stc("A1", "19", "PR")]})
    # when
    batch = claim_batch_read_answers(batch=batch, ack_999=nine, ack_277=two, actor=biller)
    # then
    assert batch.status == BatchStatus.PARTIAL
    assert statuses(batch) == {"A": ClaimStatus.ACCEPTED, "B": ClaimStatus.REJECTED, "C": ClaimStatus.SUBMITTED,
                               "D": ClaimStatus.SUBMITTED}
    rejected = ClaimEvent.objects.get(claim__claim_number="B", to_status=ClaimStatus.REJECTED)
    assert "999 rejected transaction set" in rejected.text and "NM1" in rejected.text
    receipt = ClaimEvent.objects.get(claim__claim_number="C", kind=ClaimEventKind.ACK)
    assert receipt.to_status == "" and "not yet accepted" in receipt.text and "A1:19" in receipt.text
    assert batch.claims.get(claim_number="A").payer_claim_number == "PCN-A"


def test_a_rejected_group_rejects_every_claim_it_carried(batch, biller):
    batch = claim_batch_read_answers(batch=batch, ack_999=ack_999(batch, {}, "R"), ack_277="", actor=biller)
    assert batch.status == BatchStatus.REJECTED
    assert set(statuses(batch).values()) == {ClaimStatus.REJECTED}


def test_a_999_about_another_file_rejects_nothing(batch, biller):
    text = ack_999(batch, {"A": "R"}, "R").replace(f"AK1*HC*{batch.group_control_number}*", "AK1*HC*999*")
    batch = claim_batch_read_answers(batch=batch, ack_999=text, ack_277="", actor=biller)
    assert set(statuses(batch).values()) == {ClaimStatus.SUBMITTED}


def test_an_unreadable_999_leaves_the_claims_submitted(batch, biller):
    batch = claim_batch_read_answers(batch=batch, ack_999="not a 999", ack_277="", actor=biller)
    assert batch.status == BatchStatus.SENT and batch.sent_at
    assert set(statuses(batch).values()) == {ClaimStatus.SUBMITTED}


def test_a_later_277ca_decides_what_was_pending(batch, biller):
    claim_batch_read_answers(batch=batch, ack_999=ack_999(batch, {}, "A"), ack_277="", actor=biller)
    counts = claim_batch_read_277ca(batch=batch, actor=biller, ack_277=ack_277(batch, {
        "C": [Stc("A7", "562", "85")], "D": [Stc("A2", "20", "PR")]}))
    assert counts == {"accepted": 1, "rejected": 1, "pending": 0}
    assert statuses(batch) == {"A": ClaimStatus.SUBMITTED, "B": ClaimStatus.SUBMITTED, "C": ClaimStatus.REJECTED,
                               "D": ClaimStatus.ACCEPTED}


def test_claims_without_a_277ca_reach_the_follow_up_queue_after_the_days(batch, biller):
    claim_batch_read_answers(batch=batch, ack_999=ack_999(batch, {"B": "R"}, "P"), ack_277=ack_277(
        batch, {"A": [Stc("A2", "20", "PR")]}), actor=biller)
    assert not claims_awaiting_acknowledgement(user=biller).exists()
    ClaimBatch.objects.filter(pk=batch.pk).update(sent_at=timezone.now() - timedelta(days=6))
    assert [c.claim_number for c in claims_awaiting_acknowledgement(user=biller)] == ["C", "D"]
    assert claims_awaiting_acknowledgement(user=biller, days=7).count() == 0


def test_the_follow_up_page_lists_them_with_csv_in_queries_that_do_not_grow(batch, biller, client_as):
    claim_batch_read_answers(batch=batch, ack_999=ack_999(batch, {}, "A"), ack_277="", actor=biller)
    ClaimBatch.objects.filter(pk=batch.pk).update(sent_at=timezone.now() - timedelta(days=6))
    client = client_as(biller)
    url = reverse("insurance:batch_follow_up")
    client.get(url)  # the first request fills per-process caches
    batch.claims.filter(claim_number__in="CD").update(status=ClaimStatus.ACCEPTED)
    with CaptureQueriesContext(connection) as two_due:
        assert ">C<" not in client.get(url).content.decode()
    batch.claims.filter(claim_number__in="CD").update(status=ClaimStatus.SUBMITTED)
    with CaptureQueriesContext(connection) as four_due:
        page = client.get(url).content.decode()
    assert all(f">{number}<" in page for number in "ABCD")
    assert len(four_due.captured_queries) == len(two_due.captured_queries)
    csv = b"".join(client.get(url + "?format=csv&days=5").streaming_content).decode()
    assert csv.lstrip("\ufeff").startswith("claim,patient,") and len(csv.splitlines()) == 5
    assert client.get(url + "?days=x").status_code == 400
