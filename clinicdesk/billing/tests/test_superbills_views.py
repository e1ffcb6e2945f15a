"""Superbill pages: fee managers only, the text editor of sections and diagnoses with errors naming the line,
edit, CSV, and a list whose query count does not grow."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.billing.models import SuperbillTemplate
from clinicdesk.billing.services.superbills import superbill_save
from clinicdesk.core.choices import Role

SECTIONS = "## Office visits\n99213 | Follow-up\n99214 25 | Follow-up with a procedure\n## Lab\n36415 | Blood draw\n"


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="devon")


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


def test_only_fee_managers_keep_superbills(client_as, make_user, front_desk):
    doctor = make_user(Role.CLINICIAN)
    for user in (doctor, front_desk):
        assert client_as(user).get(reverse("billing:superbill_list")).status_code == 403
        assert client_as(user).post(reverse("billing:superbill_create"), {"name": "X"}).status_code == 403


def test_create_from_text_and_edit(client_as, biller, fee_schedule):
    client = client_as(biller)
    response = client.post(reverse("billing:superbill_create"), {
        "name": "Family medicine", "specialty": "Family medicine", "sections": SECTIONS,
        "diagnoses": "e119 | Diabetes\nI10 |", "is_active": "on"})
    assert response.status_code == 302
    template = SuperbillTemplate.objects.get()
    assert [s["title"] for s in template.sections] == ["Office visits", "Lab"]
    assert template.sections[0]["services"][1] == {"code": "99214", "modifiers": "25", "label": "Follow-up with a procedure"}
    assert template.diagnoses[0] == {"code": "E11.9", "label": "Diabetes"}
    edit = reverse("billing:superbill_edit", args=[template.pk])
    page = body(client.get(edit))
    assert "99214 25 | Follow-up with a procedure" in page
    refused = client.post(edit, {"name": "Family medicine", "sections": "## Visits\n99213 |\n12345 | Nope",
                                 "diagnoses": "E11 | Diabetes"})
    assert refused.status_code == 400
    page = body(refused)
    assert "Visits, line 2: 12345 is not on the practice" in page and "Diagnosis line 1: E11 (" in page
    assert SuperbillTemplate.objects.get().sections[0]["title"] == "Office visits"


def test_list_csv_and_query_count(client_as, biller, org, fee_schedule):
    from clinicdesk.billing.forms_encounters import parse_sections

    client = client_as(biller)
    superbill_save(organization=org, actor=biller, name="Chiropractic", sections=parse_sections(SECTIONS), diagnoses=[])
    csv = body(client.get(reverse("billing:superbill_list"), {"format": "csv"}))
    assert csv.splitlines()[0] == "name,specialty,section,kind,code,modifiers,label,in_use"
    assert "Chiropractic,,Office visits,service,99214,25,Follow-up with a procedure,yes" in csv

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("billing:superbill_list")).status_code == 200
        return len(queries)

    count()  # warm up: the first request of a session loads what later ones find cached
    few = count()
    for n in range(4):
        superbill_save(organization=org, actor=biller, name=f"Bill {n}", sections=parse_sections(SECTIONS), diagnoses=[])
    assert count() == few
