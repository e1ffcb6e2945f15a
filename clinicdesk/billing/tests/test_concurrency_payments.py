"""The idempotency proof: 20 identical payment posts with the same Idempotency-Key sent at the same moment to a
real server (Django's threaded live server, each request on its own database connection). Exactly one payment
and one journal entry exist afterwards; every answer is 201 with the same payment id; nothing answers 500.

On PostgreSQL the account row lock serialises the posts; on SQLite IMMEDIATE transactions serialise the writers
(the database file of the test run is shared by the server's threads)."""

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from datetime import date

import pytest
from django.db import connection

from clinicdesk.billing.models import Payment
from clinicdesk.billing.services.accounts import account_for_patient
from clinicdesk.core import services as core_services
from clinicdesk.core.choices import Role
from clinicdesk.core.permissions import Perm
from clinicdesk.core.tests.factories import OrganizationFactory, UserFactory
from clinicdesk.ledger.models import JournalEntry
from clinicdesk.patients.tests.factories import PatientFactory

REQUESTS = 20


def _post(url: str, body: dict, token: str, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310  (our own live test server over http)
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"{}")
        except ValueError:
            return exc.code, {"raw": raw[:300].decode("utf-8", "replace")}


@pytest.mark.django_db(transaction=True)
def test_twenty_identical_concurrent_posts_make_one_payment(live_server, post_charge):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:") or (
            connection.vendor == "sqlite" and "mode=memory" in str(connection.settings_dict.get("TEST", {}).get("NAME"))):
        print("skipped: the SQLite test database is in memory; the server threads cannot share it")
        pytest.skip("the SQLite test database is in memory; the live server's threads cannot share it")
    # given: an account owing 100.00 and a front-desk token
    org = OrganizationFactory()
    patient = PatientFactory(organization=org)
    post_charge(patient, "100.00", service_date=date(2026, 9, 1))
    account = account_for_patient(patient=patient)
    desk = UserFactory(organization=org, role=Role.FRONT_DESK)
    _, token = core_services.api_token_create(user=desk, name="race", scopes=[Perm.BILLING_VIEW, Perm.PAYMENTS_TAKE], days=1)
    url = f"{live_server.url}/api/v1/billing/payments"
    body = {"account": account.public_id, "amount": "60.00", "method": "cash"}
    barrier = threading.Barrier(REQUESTS)
    results: list[tuple[int, dict]] = [(0, {})] * REQUESTS

    def fire(n: int) -> None:
        barrier.wait()
        results[n] = _post(url, body, token, "same-key-20")

    # when: all 20 are sent at once
    threads = [threading.Thread(target=fire, args=(n,)) for n in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    # then
    statuses = Counter(status for status, _ in results)
    print(f"\n{REQUESTS} identical concurrent payment posts on {connection.vendor}: {dict(statuses)}")
    assert statuses == {201: REQUESTS}, results
    assert len({body["id"] for _, body in results}) == 1
    assert Payment.objects.count() == 1
    assert JournalEntry.objects.filter(kind="payment").count() == 1
    assert Payment.objects.get().public_id == results[0][1]["id"]
