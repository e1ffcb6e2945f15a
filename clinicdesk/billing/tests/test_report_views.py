"""Day close and report pages: what they show, CSV and PDF, who may use them, and query counts."""

import shutil
import subprocess

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from clinicdesk.billing.choices import DayCloseStatus
from clinicdesk.billing.models import DayClose
from clinicdesk.billing.services.dayclose import day_close_close
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory

from .day_world import COUNT_SHORT, DAY, NOON, fake_cards_fixture, hand_day_fixture, post_encounter  # noqa: F401


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


@pytest.fixture
def as_user(client):
    def sign_in(user):
        client.force_login(user)
        return client
    return sign_in


@freeze_time(NOON)
def test_closing_the_drawer_from_the_count_page(hand_day, as_user):
    client = as_user(hand_day.dee)
    url = reverse("billing:day_close_count") + f"?location={hand_day.location.pk}&on={DAY}"
    with freeze_time(NOON):
        page = client.get(url)
        assert page.status_code == 200 and "175.00" in page.content.decode()
        # the checks listed with their guarantors are a read of those patients' accounts
        check_payment = hand_day.payments["B"]
        listed = AuditEvent.objects.filter(action="day_close.checks_viewed", actor=hand_day.dee)
        assert {e.patient_id for e in listed} == {(check_payment.patient or check_payment.account.guarantor_patient).pk}
        data = {"count_100": "1", "count_20": "3", "count_10": "1", "count_1": "4", "count_0_25": "3",
                "checks_in_hand": [str(hand_day.payments["B"].pk)]}
        refused = client.post(url, data)
        assert refused.status_code == 400 and "short; say why" in refused.content.decode()
        done = client.post(url, {**data, "over_short_reason": "Quarter short"})
    day = DayClose.objects.get(location=hand_day.location, business_date=DAY)
    assert done.status_code == 302 and done["Location"] == reverse("billing:day_close_detail", args=[day.public_id])
    detail = client.get(done["Location"]).content.decode()
    assert "-0.25" in detail and "134.75" in detail and "Approve the over/short" not in detail  # front desk cannot approve
    manager = as_user(hand_day.manager)
    assert "Approve the over/short" in manager.get(done["Location"]).content.decode()
    manager.post(reverse("billing:day_close_approve", args=[day.public_id]), {"note": "ok"})
    day.refresh_from_db()
    assert day.status == DayCloseStatus.APPROVED


@freeze_time(NOON)
def test_front_desk_cannot_approve_or_reopen(hand_day, as_user):
    with freeze_time(NOON):
        day = day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations=COUNT_SHORT, actor=hand_day.dee,
                              over_short_reason="Short")
    client = as_user(hand_day.dee)
    assert client.post(reverse("billing:day_close_approve", args=[day.public_id])).status_code == 403
    assert client.post(reverse("billing:day_close_reopen", args=[day.public_id]), {"reason": "x"}).status_code == 403
    assert client.get(reverse("billing:report_deposits")).status_code == 403


@freeze_time(NOON)
def test_another_practice_day_close_is_not_found(hand_day, as_user, make_user, other_org):
    with freeze_time(NOON):
        day = day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations=COUNT_SHORT, actor=hand_day.dee,
                              over_short_reason="Short")
    stranger = as_user(make_user(Role.OFFICE_MANAGER, organization=other_org))
    assert stranger.get(reverse("billing:day_close_detail", args=[day.public_id])).status_code == 404
    assert stranger.post(reverse("billing:day_close_reopen", args=[day.public_id]), {"reason": "x"}).status_code == 404
    sheet = stranger.get(reverse("billing:report_day_sheet") + f"?on={DAY}&location={hand_day.location.pk}")
    assert sheet.status_code in (200, 400) and "PatientA" not in sheet.content.decode() and "Select a valid choice" in sheet.content.decode()


@freeze_time(NOON)
def test_report_pages_and_csv(hand_day, as_user):
    client = as_user(hand_day.manager)
    period = f"?start={DAY}&end={DAY}"
    deposits = client.get(reverse("billing:report_deposits") + period)
    assert deposits.status_code == 200 and "235.00" in deposits.content.decode()
    csv_text = body(client.get(reverse("billing:report_deposits") + period + "&format=csv"))
    assert csv_text.splitlines()[0].startswith("section,") and "by user,Card,Eli Front,1,100.00" in csv_text
    collections = body(client.get(reverse("billing:report_collections") + period + "&by=department&format=csv"))
    assert "Family medicine,150.00,0.00,150.00" in collections and "Laboratory,60.00,0.00,60.00" in collections
    assert "Received and held as credit (unapplied),40.00" in collections
    chart = client.get(reverse("billing:report_charges_payments") + "?start=2026-11-01&end=2026-11-30")
    assert chart.status_code == 200 and 'id="charges-payments-data"' in chart.content.decode()
    assert "vendor/chart.umd.min.js" in chart.content.decode()
    months = body(client.get(reverse("billing:report_charges_payments") + "?start=2026-11-01&end=2026-11-30&format=csv"))
    assert "2026-11,360.00,250.00,20.00" in months
    cards = body(client.get(reverse("billing:card_settlement") + f"?on={DAY}&format=csv"))
    assert "Visa,1,100.00,0.00,100.00" in cards
    sheet = body(client.get(reverse("billing:report_day_sheet") + f"?on={DAY}&location={hand_day.location.pk}&format=csv"))
    assert "charge,\"PatientB, B\"" in sheet and "total charges,,,,,,,,360.00" in sheet
    assert client.get(reverse("billing:report_deposits") + "?start=2026-11-30&end=2026-11-01").status_code == 400
    assert client.get(reverse("billing:reports")).status_code == 200


@freeze_time(NOON)
def test_day_sheet_pdf(hand_day, as_user):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed on this machine")
    client = as_user(hand_day.manager)
    response = client.get(reverse("billing:report_day_sheet") + f"?on={DAY}&location={hand_day.location.pk}&format=pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True,  # noqa: S603,S607
                          check=True).stdout.decode()
    assert "Day sheet" in text and "Main street" in text and "360.00" in text and "250.00" in text and "99214" in text


@freeze_time(NOON)
def test_list_pages_keep_their_query_counts(hand_day, as_user, org):
    client = as_user(hand_day.manager)
    urls = [reverse("billing:day_close_list"), reverse("billing:report_deposits") + f"?start={DAY}&end={DAY}",
            reverse("billing:report_day_sheet") + f"?on={DAY}&location={hand_day.location.pk}",
            reverse("billing:report_collections") + f"?start={DAY}&end={DAY}",
            reverse("billing:drawers")]

    def counts():
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            result.append(len(ctx.captured_queries))
        return result

    with freeze_time(NOON):
        day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations=COUNT_SHORT, actor=hand_day.dee,
                        over_short_reason="Short")
    counts()  # the first requests also save the session
    before = counts()
    with freeze_time("2026-11-21 17:00:00"):
        for n in range(3):
            place = LocationFactory(organization=org, name=f"Branch {n}")
            from clinicdesk.billing.services.dayclose import drawer_save

            drawer = drawer_save(location=place, opening_float="50.00", actor=hand_day.manager)
            day_close_close(drawer=drawer, business_date=DAY, denominations={"50": 1}, actor=hand_day.dee)
            post_encounter(patient=hand_day.patients["D"], provider=hand_day.ames, location=hand_day.location,
                           department=hand_day.family, on=DAY, services=[("99212", "70.00")], actor=hand_day.manager)
    assert counts() == before
