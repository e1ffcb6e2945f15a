"""Claim pages: the work queue (filters, CSV, query count), the denials queue, one claim and its actions, the
ready-to-bill list, and the CMS-1500 (read back with pdftotext)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import ClaimStatus
from clinicdesk.insurance.models import Claim, ClaimEvent
from clinicdesk.insurance.services.claims import claim_transition, claims_build
from clinicdesk.insurance.services.scrubber import claim_scrub

from .claims_world import ClaimsWorld

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(org):
    return ClaimsWorld(org)


def _claims(w, n=1, **kwargs):
    made = []
    for i in range(n):
        patient = w.new_patient(f"Patient{i}")
        made += claims_build(actor=w.biller, encounters=[w.posted(patient, **kwargs)])
    return made


def test_queue_lists_filters_and_exports(w, client_as):
    [claim] = _claims(w)
    client = client_as(w.biller)
    page = client.get(reverse("insurance:claim_queue"))
    assert page.status_code == 200 and claim.claim_number in page.content.decode()
    assert claim.claim_number not in client.get(reverse("insurance:claim_queue"), {"status": "denied"}).content.decode()
    csv = b"".join(client.get(reverse("insurance:claim_queue"), {"format": "csv"}).streaming_content).decode()
    assert claim.claim_number in csv and "Acme Health" in csv
    assert client.get(reverse("insurance:claim_queue"), {"age": "nonsense"}).status_code == 400


def test_queue_query_count_does_not_grow_with_claims(w, client_as):
    _claims(w, 2)
    client = client_as(w.biller)
    client.get(reverse("insurance:claim_queue"))  # the first request fills per-process caches
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("insurance:claim_queue"))
    _claims(w, 4)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("insurance:claim_queue")).content.decode().count("claim-") >= 6
    assert len(many) == len(few)


def test_denials_queue_shows_only_denied(w, client_as):
    first, second = _claims(w, 2)
    for claim in (first,):
        claim_scrub(claim=claim, actor=w.biller)
        claim_transition(claim=claim, to_status=ClaimStatus.SUBMITTED, actor=w.biller)
        claim_transition(claim=claim, to_status=ClaimStatus.DENIED, actor=w.biller, note="CO-197")
    body = client_as(w.biller).get(reverse("insurance:denial_queue")).content.decode()
    assert first.claim_number in body and second.claim_number not in body and "CO-197" in body


def test_detail_and_actions(w, client_as):
    [claim] = _claims(w)
    client = client_as(w.biller)
    url = reverse("insurance:claim_detail", args=[claim.public_id])
    assert "99213" in client.get(url).content.decode()
    assert client.post(reverse("insurance:claim_scrub", args=[claim.public_id])).status_code == 302
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.SCRUBBED
    # a refused move: 400 naming the status, nothing changed
    refused = client.post(reverse("insurance:claim_transition", args=[claim.public_id]), {"status-to_status": "paid"})
    assert refused.status_code == 400 and Claim.objects.get(pk=claim.pk).status == ClaimStatus.SCRUBBED
    ok = client.post(reverse("insurance:claim_transition", args=[claim.public_id]), {"status-to_status": "submitted"})
    assert ok.status_code == 302 and Claim.objects.get(pk=claim.pk).status == ClaimStatus.SUBMITTED
    assert client.post(reverse("insurance:claim_note", args=[claim.public_id]), {"note-text": ""}).status_code == 400
    assert client.post(reverse("insurance:claim_note", args=[claim.public_id]), {"note-text": "Called"}).status_code == 302
    assert client.post(reverse("insurance:claim_assign", args=[claim.public_id]),
                       {"assign-assigned_to": w.biller.pk, "assign-follow_up_on": "2026-12-01"}).status_code == 302
    assert Claim.objects.get(pk=claim.pk).assigned_to == w.biller
    assert ClaimEvent.objects.filter(claim=claim, kind="note", text="Called").exists()
    resp = client.post(reverse("insurance:claim_correct", args=[claim.public_id]), {"correct-frequency": "7", "correct-note": "units"})
    assert resp.status_code == 302 and Claim.objects.filter(original_claim=claim).count() == 1


def test_front_desk_cannot_open_claims_and_other_practice_is_404(w, client_as, make_user, other_org):
    [claim] = _claims(w)
    assert client_as(make_user(Role.FRONT_DESK)).get(reverse("insurance:claim_queue")).status_code == 403
    other = ClaimsWorld(other_org)
    url = reverse("insurance:claim_detail", args=[claim.public_id])
    assert client_as(other.biller).get(url).status_code == 404


def test_ready_to_bill_builds_claims(w, client_as):
    w.posted()
    client = client_as(w.biller)
    assert "Acme Health" in client.get(reverse("insurance:claims_ready")).content.decode()
    assert client.post(reverse("insurance:claims_ready")).status_code == 302
    assert Claim.objects.count() == 1


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,  # noqa: S603,S607
                          check=True).stdout


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_cms1500_shows_the_claim_and_batch_print_marks_submitted(w, client_as, tmp_path):
    from clinicdesk.billing.models import ServiceLine

    [claim] = _claims(w, services=(("99213", "", 1), ("36415", "", 1), ("93000", "", 1)))
    # Eight lines: two pages.
    for n in range(4, 9):
        ServiceLine.objects.create(encounter=claim.encounter, sequence=n, procedure_code="97110", description="x",
                                   units=1, unit_price=40, amount=40, diagnosis_pointers="1")
    from clinicdesk.insurance.models import ClaimLine
    for n in range(4, 9):
        ClaimLine.objects.create(claim=claim, sequence=n, service_line=claim.encounter.services.get(sequence=n),
                                 service_date=claim.service_from, procedure_code="97110", charge=40,
                                 diagnosis_pointers="1")
    client = client_as(w.biller)
    pdf = client.get(reverse("insurance:claim_cms1500", args=[claim.public_id]), {"layout": "plain"})
    text = _text(b"".join([pdf.content]), tmp_path)
    assert claim.patient.last_name.upper() in text and claim.coverage.member_id in text
    assert "J069" in text and "99213" in text and "110 00" in text and "PAGE 2 OF 2" in text
    claim_scrub(claim=claim, actor=w.biller)
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.SCRUBBED
    page = client.get(reverse("insurance:claim_print_batch"))
    assert claim.claim_number in page.content.decode()
    printed = client.post(reverse("insurance:claim_print_batch"), {"layout": "red"})
    assert printed["Content-Type"] == "application/pdf"
    assert claim.coverage.member_id in _text(printed.content, tmp_path)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED and claim.printed_at is not None
