"""Batch pages: list (and CSV), build, detail, the 837 download, send."""

import pytest
from django.urls import reverse

from clinicdesk.core.audit import AuditEvent
from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import BatchStatus, ClaimStatus
from clinicdesk.insurance.models import ClaimBatch

from .eligibility_setup import *  # noqa: F403  (the shared fixtures)
from .eligibility_setup import enrol, make_claim


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller")


def test_build_download_and_send(client_as, biller, clearinghouse, coverage, django_assert_max_num_queries):
    enrol(clearinghouse, coverage)
    claim = make_claim(coverage)
    client = client_as(biller)
    assert "1 scrubbed claim" in client.get(reverse("insurance:batch_list")).content.decode()
    response = client.post(reverse("insurance:batch_build"))
    batch = ClaimBatch.objects.get()
    assert response.url == reverse("insurance:batch_detail", args=[batch.pk])
    download = client.get(reverse("insurance:batch_download", args=[batch.pk]))
    assert download.content.decode() == batch.content and "837P-" in download["Content-Disposition"]
    client.post(reverse("insurance:batch_send", args=[batch.pk]))
    batch.refresh_from_db()
    claim.refresh_from_db()
    assert batch.status == BatchStatus.ACCEPTED and claim.status == ClaimStatus.ACCEPTED
    page = client.get(reverse("insurance:batch_detail", args=[batch.pk])).content.decode()
    assert claim.payer_claim_number in page and "999" in page
    assert AuditEvent.objects.filter(action="claim_batch.viewed", patient_id=claim.patient_id).exists()
    with django_assert_max_num_queries(16):
        listing = client.get(reverse("insurance:batch_list"))
    assert batch.file_name in listing.content.decode()
    csv = b"".join(client.get(reverse("insurance:batch_list"), {"format": "csv"}).streaming_content).decode()
    assert batch.file_name in csv and "Accepted" in csv


def test_building_with_nothing_ready_says_so(client_as, biller, clearinghouse):
    response = client_as(biller).post(reverse("insurance:batch_build"), follow=True)
    assert "Choose at least one claim" in response.content.decode()
    assert not ClaimBatch.objects.exists()


def test_the_front_desk_may_not_build(client_as, make_user, clearinghouse):
    assert client_as(make_user(Role.FRONT_DESK, username="desk")).post(
        reverse("insurance:batch_build")).status_code == 403
