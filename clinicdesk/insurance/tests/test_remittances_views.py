"""The remittance pages: permissions, upload → detail, the exceptions queue and its resolution, CSV, query counts."""

from __future__ import annotations

import dataclasses

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import ClaimStatus, RemitClaimState
from clinicdesk.insurance.models import Remittance, RemittanceClaim
from clinicdesk.insurance.x12.x835 import write_835
from clinicdesk.patients.tests.factories import PatientFactory

from .remittances_world import claims_build, envelope, payer_for, payment_for, remit_835

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(org, make_user):
    biller = make_user(Role.BILLER)
    payer = payer_for(org)
    claims = claims_build(org, payer=payer, provider=make_user(Role.CLINICIAN), patients=[PatientFactory(organization=org)],
                          count=2)
    unknown = dataclasses.replace(payment_for(claims[1]), claim_id="LOST0001")
    text = write_835([remit_835([payment_for(claims[0]), unknown], payer=payer, plb=[("L6", "INT", "-1.50")])],
                     envelope=envelope())
    return biller, claims, text


def upload(client, text, name="era.835"):
    return client.post(reverse("insurance:remittance_upload"), {"files": [SimpleUploadedFile(name, text.encode())]})


@pytest.mark.parametrize("role,status", [(Role.FRONT_DESK, 403), (Role.CLINICIAN, 403), (Role.BILLER, 200),
                                         (Role.AUDITOR, 403)])
def test_only_billing_roles_open_the_pages(client_as, make_user, role, status):
    client = client_as(make_user(role))
    for name in ("insurance:remittance_list", "insurance:remittance_exceptions", "insurance:remittance_upload"):
        assert client.get(reverse(name)).status_code == status


def test_upload_then_detail_then_exceptions(client_as, setup):
    biller, claims, text = setup
    client = client_as(biller)
    response = upload(client, text)
    remittance = Remittance.objects.get()
    assert response.status_code == 302 and response.url == reverse("insurance:remittance_detail", args=[remittance.pk])
    page = client.get(response.url).content.decode()
    assert "balanced" in page and "CO-45" in page and "PR-2" in page and "L6" in page and "LOST0001" in page
    queue = client.get(reverse("insurance:remittance_exceptions")).content.decode()
    assert "LOST0001" in queue and "unknown claim" in queue
    csv = b"".join(client.get(reverse("insurance:remittance_exceptions") + "?format=csv").streaming_content).decode()
    assert "LOST0001" in csv and csv.lstrip("\ufeff").startswith("imported,")
    waiting = RemittanceClaim.objects.get(state=RemitClaimState.EXCEPTION)
    url = reverse("insurance:remittance_exception_resolve", args=[waiting.pk])
    assert client.post(url, {"claim_number": "NOSUCH", "note": ""}).status_code == 400
    assert client.post(url, {"claim_number": "", "note": ""}).status_code == 400
    assert client.post(url, {"claim_number": claims[1].claim_number}).status_code == 302
    claims[1].refresh_from_db()
    assert claims[1].status == ClaimStatus.PAID
    again = upload(client, text)
    assert again.status_code == 302 and Remittance.objects.count() == 1
    listing = b"".join(client.get(reverse("insurance:remittance_list") + "?format=csv").streaming_content).decode()
    assert remittance.check_number in listing


def test_a_malformed_upload_names_the_segment_and_stores_nothing(client_as, setup):
    biller, _, text = setup
    response = upload(client_as(biller), text.replace("CLP*CL0000001*1*", "CLP*CL0000001*9*"))
    assert response.status_code == 400 and "CLP02" in response.content.decode()
    assert not Remittance.objects.exists()


def test_another_practice_cannot_see_the_remittance(client_as, setup, other_org, make_user):
    biller, _, text = setup
    upload(client_as(biller), text)
    stranger = make_user(Role.BILLER, organization=other_org)
    client = client_as(stranger)
    remittance = Remittance.objects.get()
    assert client.get(reverse("insurance:remittance_detail", args=[remittance.pk])).status_code == 404
    waiting = RemittanceClaim.objects.get(state=RemitClaimState.EXCEPTION)
    assert client.post(reverse("insurance:remittance_exception_resolve", args=[waiting.pk]), {"note": "x"}).status_code == 404
    assert "LOST0001" not in client.get(reverse("insurance:remittance_exceptions")).content.decode()


def test_list_queries_do_not_grow_with_rows(client_as, setup):
    biller, claims, text = setup
    client = client_as(biller)
    upload(client, text)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("insurance:remittance_list"))
        client.get(reverse("insurance:remittance_exceptions"))
    more = [dataclasses.replace(payment_for(claims[0]), claim_id=f"LOST{n}") for n in range(5)]
    for n in range(3):
        upload(client, write_835([remit_835(more, payer=claims[0].payer, trace=f"T{n}")], envelope=envelope(n + 2)))
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("insurance:remittance_list"))
        client.get(reverse("insurance:remittance_exceptions"))
    assert len(many) == len(one)
