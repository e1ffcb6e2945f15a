"""Statement pages: preview then save then start, the run's results, CSVs, the PDFs, the policy form, and list
pages whose query count does not grow with their rows."""

import subprocess  # noqa: S404  (pdftotext, a fixed command)
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from clinicdesk.billing.choices import StatementRunStatus
from clinicdesk.billing.models import DunningPolicy, Statement, StatementRun
from clinicdesk.billing.services.statements import statement_run_create, statement_run_execute, statement_run_start
from clinicdesk.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def end_of_november():
    with freeze_time("2026-11-27 15:00:00"):
        yield


def pdf_text(data: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)  # noqa: S607
    return " ".join(done.stdout.decode().split())


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def finished_run(world, names=("Alpha", "Beta")) -> StatementRun:
    for n, name in enumerate(names):
        patient, _ = world.guarantor(name, email=n % 2 == 0)
        world.charge(patient, f"{50 + n}.00", service_date=date(2026, 11, 2))
    run = statement_run_create(actor=world.biller, organization=world.org, statement_date=date(2026, 11, 30))
    statement_run_start(actor=world.biller, run=run)
    return statement_run_execute(run_id=run.pk)


def test_preview_then_save_then_start(statement_world, client):
    w = statement_world
    patient, _ = w.guarantor("Preview")
    w.charge(patient, "45.00", service_date=date(2026, 11, 2))
    client.force_login(w.biller)
    url = reverse("billing:statement_run_new")

    preview = client.post(url, {"statement_date": "2026-11-30", "minimum_balance": "5.00", "days_since_last": "25",
                                "preview": "1"})
    assert preview.status_code == 200 and "What the run would do" in body(preview)
    assert not StatementRun.objects.exists()

    saved = client.post(url, {"statement_date": "2026-11-30", "minimum_balance": "5.00", "days_since_last": "25", "save": "1"})
    run = StatementRun.objects.get()
    assert saved.status_code == 302 and saved.url == reverse("billing:statement_run_detail", args=[run.pk])
    assert run.status == StatementRunStatus.DRAFT and run.preview["statements"] == 1

    started = client.post(reverse("billing:statement_run_start", args=[run.pk]))
    run.refresh_from_db()
    assert started.status_code == 302 and run.status == StatementRunStatus.RUNNING
    polling = client.get(reverse("billing:statement_run_detail", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in body(polling) and "0</span> of 1" in body(polling)


def test_bad_settings_come_back_as_form_errors(statement_world, client):
    client.force_login(statement_world.biller)
    response = client.post(reverse("billing:statement_run_new"), {"statement_date": "2026-11-20", "cutoff": "2026-11-25",
                                                                   "minimum_balance": "abc", "preview": "1"})
    assert response.status_code == 400
    assert "cannot be after the statement date" in body(response)


def test_results_csv_and_pdfs_are_audited(statement_world, client):
    w = statement_world
    run = finished_run(w)
    client.force_login(w.biller)

    page = client.get(reverse("billing:statement_run_detail", args=[run.pk]))
    assert page.status_code == 200 and "Print batch (PDF, 1)" in body(page)

    csv = body(client.get(reverse("billing:statement_run_results", args=[run.pk])))
    assert "Pat Alpha" in csv and "Sent by e-mail" in csv and "In the print batch" in csv

    batch = client.get(reverse("billing:statement_run_print_batch", args=[run.pk]))
    assert batch["Content-Type"] == "application/pdf" and "Pat Beta" in pdf_text(batch.content)
    assert AuditEvent.objects.filter(action="statement.printed").count() == 1

    statement = Statement.objects.get(run=run, account__guarantor_name="Pat Alpha")
    pdf = client.get(reverse("billing:statement_pdf", args=[statement.public_id]))
    assert pdf.status_code == 200 and "Amount due: $50.00" in pdf_text(pdf.content)
    assert AuditEvent.objects.filter(action="statement.viewed", target_id=str(statement.pk)).exists()


def test_front_desk_reads_an_account_history_but_cannot_run_statements(statement_world, client, make_user):
    from clinicdesk.core.choices import Role

    w = statement_world
    run = finished_run(w)
    desk = make_user(Role.FRONT_DESK, username="desk-statements")
    client.force_login(desk)
    statement = Statement.objects.filter(run=run).first()
    history = client.get(reverse("billing:account_statements", args=[statement.account.public_id]))
    assert history.status_code == 200 and "11/30/2026" in body(history)
    assert client.get(reverse("billing:statement_runs")).status_code == 403
    assert client.get(reverse("billing:dunning_policy")).status_code == 403


def test_policy_form_saves_and_refuses_days_out_of_order(statement_world, client):
    client.force_login(statement_world.biller)
    url = reverse("billing:dunning_policy")
    data = {"second_notice_days": "30", "final_notice_days": "60", "collections_days": "90",
            "minimum_statement_balance": "10.00", "days_between_statements": "25", "write_off_below": "3.00",
            "write_off_min_age_days": "45", "first_message": "", "second_message": "Past due.",
            "final_message": "Final notice.", "collections_message": "On hold."}
    assert client.post(url, data).status_code == 302
    policy = DunningPolicy.objects.get(organization=statement_world.org)
    assert str(policy.write_off_below) == "3.00" and policy.write_off_min_age_days == 45
    bad = client.post(url, {**data, "final_notice_days": "20"})
    assert bad.status_code == 400 and "The days must grow" in body(bad)


@pytest.mark.parametrize("page", ["runs", "run_detail", "account_history"])
def test_list_pages_query_count_does_not_grow_with_rows(statement_world, client, page):
    w = statement_world
    client.force_login(w.biller)

    def url_for(run):
        if page == "runs":
            return reverse("billing:statement_runs")
        if page == "run_detail":
            return reverse("billing:statement_run_detail", args=[run.pk])
        account = Statement.objects.filter(run=run).first().account
        return reverse("billing:account_statements", args=[account.public_id])

    small = finished_run(w, names=("Small",))
    client.get(url_for(small))
    with CaptureQueriesContext(connection) as few:
        assert client.get(url_for(small)).status_code == 200
    with freeze_time("2026-12-30 15:00:00"):
        for name in ("C1", "C2", "C3", "C4", "C5"):
            patient, _ = w.guarantor(name, email=True)
            w.charge(patient, "20.00", service_date=date(2026, 12, 2))
        small_patient = Statement.objects.get(run=small).account.guarantor_patient
        w.charge(small_patient, "20.00", service_date=date(2026, 12, 2))
        big = statement_run_create(actor=w.biller, organization=w.org, statement_date=date(2026, 12, 30))
        statement_run_start(actor=w.biller, run=big)
        statement_run_execute(run_id=big.pk)
        client.force_login(w.biller)  # a month later the first sign-in has expired
        client.get(url_for(big if page == "run_detail" else small))
        with CaptureQueriesContext(connection) as many:
            assert client.get(url_for(big if page == "run_detail" else small)).status_code == 200
    assert len(many) == len(few)
