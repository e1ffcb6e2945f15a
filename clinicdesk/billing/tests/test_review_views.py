"""The charge review queue: encounters in review and on hold with their flags, filters, CSV, posting a batch
(refused whole when one is flagged, naming it), hold with a reason, and a query count that does not grow."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.models import Encounter
from clinicdesk.core.choices import Role
from clinicdesk.ledger.models import JournalEntry
from clinicdesk.ledger.selectors import patient_balance

from .factories_encounters import add_procedures, coded, with_header_code


@pytest.fixture
def doctor(make_user):
    return make_user(Role.CLINICIAN, username="drlee")


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="devon")


@pytest.fixture
def queue(org, doctor, fee_schedule):
    """Two clean encounters, one missing modifier 25, one with a heading code, one still being coded."""
    add_procedures(fee_schedule)
    return {
        "clean": [coded(org, doctor), coded(org, doctor, services=(("99214", "", 1), ("36415", "", 1)))],
        "modifier": coded(org, doctor, services=(("99213", "", 1), ("96372", "", 1))),
        "header": with_header_code(org, doctor),
        "draft": coded(org, doctor, submit=False),
    }


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


URL = "billing:review_queue"


def test_the_queue_shows_what_waits_with_its_flags(client_as, biller, queue):
    page = body(client_as(biller).get(reverse(URL)))
    assert "4 encounters waiting · 2 flagged" in page
    assert queue["draft"].public_id not in page
    assert "missing modifier 25: 99213 is billed with 96372 the same day" in page
    assert "points at diagnosis 1 (M54.5), a heading" in page
    flagged = body(client_as(biller).get(reverse(URL), {"flagged": "on"}))
    assert "2 encounters waiting · 2 flagged" in flagged
    assert queue["clean"][0].public_id not in flagged


def test_the_queue_csv_carries_the_flags(client_as, biller, queue):
    csv = body(client_as(biller).get(reverse(URL), {"format": "csv"}))
    lines = csv.splitlines()
    assert lines[0] == "service_date,patient,mrn,provider,location,status,services,total,flags"
    assert len(lines) == 5 and sum("missing modifier 25" in line for line in lines) == 1


def test_a_batch_with_a_flagged_encounter_is_refused_naming_it(client_as, biller, queue):
    chosen = [e.public_id for e in queue["clean"]] + [queue["modifier"].public_id]
    response = client_as(biller).post(reverse("billing:review_post"), {"encounter": chosen})
    assert response.status_code == 400
    page = body(response)
    assert "Nothing was posted" in page and str(queue["modifier"].patient) in page
    assert page.count("checked") >= 3  # the ticks are kept
    assert not JournalEntry.objects.exists()


def test_posting_the_clean_ones_books_their_charges(client_as, biller, queue):
    chosen = [e.public_id for e in queue["clean"]]
    response = client_as(biller).post(reverse("billing:review_post"), {"encounter": chosen})
    assert response.status_code == 302
    assert set(Encounter.objects.filter(public_id__in=chosen).values_list("status", flat=True)) == {EncounterStatus.POSTED}
    assert patient_balance(patient=queue["clean"][1].patient) == 183  # 165 + 18
    follow = body(client_as(biller).get(reverse(URL)))
    assert "2 encounters waiting" in follow
    nothing = client_as(biller).post(reverse("billing:review_post"), {})
    assert nothing.status_code == 400 and "Tick the encounters" in body(nothing)


def test_hold_needs_a_reason(client_as, biller, queue):
    url = reverse("billing:review_hold", args=[queue["modifier"].public_id])
    client = client_as(biller)
    assert "missing modifier 25" in body(client.get(url))
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "Ask Dr Lee about the injection"}).status_code == 302
    held = Encounter.objects.get(pk=queue["modifier"].pk)
    assert (held.status, held.hold_reason) == (EncounterStatus.ON_HOLD, "Ask Dr Lee about the injection")
    assert "Ask Dr Lee about the injection" in body(client.get(reverse(URL), {"status": "on_hold"}))


def test_the_clinician_and_the_desk_may_not_review(client_as, doctor, front_desk, queue):
    for user in (doctor, front_desk):
        client = client_as(user)
        assert client.get(reverse(URL)).status_code == 403
        assert client.get(reverse("billing:review_hold", args=[queue["modifier"].public_id])).status_code == 403


def test_the_queue_query_count_does_not_grow(client_as, biller, org, doctor, queue):
    client = client_as(biller)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(URL)).status_code == 200
        return len(queries)

    count()  # warm up: the first request of a session loads what later ones find cached
    few = count()
    for _ in range(3):
        coded(org, doctor, services=(("99213", "", 1), ("96372", "", 1)))
        with_header_code(org, doctor)
    assert count() == few
