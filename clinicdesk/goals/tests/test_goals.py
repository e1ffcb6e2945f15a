"""Objectives and key results (services, bad input named by field, who may edit), the status arithmetic, cache
invalidation, the pages (query counts, CSV, PDF via pdftotext), the API and the daily snapshot."""

import shutil
import subprocess  # noqa: S404  (pdftotext on PDFs the tests made)
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory, LocationFactory
from clinicdesk.goals import figures
from clinicdesk.goals.choices import Direction, KeyResultStatus, PeriodKind
from clinicdesk.goals.models import KeyResult, KeyResultSnapshot, Objective
from clinicdesk.goals.services import key_result_save, key_result_snapshots_take, objective_save
from clinicdesk.goals.status import expected_value, key_result_status
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.services import chart_install
from clinicdesk.ledger.tests.books import charge, pay
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.signals import appointment_status_changed
from clinicdesk.scheduling.tests.factories import AppointmentFactory

D = Decimal
TODAY = timezone.localdate()


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="om-goals")


@pytest.fixture
def owner(make_user):
    return make_user(Role.NURSE, username="nurse-owner")


@pytest.fixture
def lab(org, owner):
    return DepartmentFactory(organization=org, name="Laboratory", owner=owner)


def objective_data(department, person, **extra):
    return {"department": department.pk, "owner": person.pk, "title": "Fewer no-shows", "period_kind": "quarter",
            "start": date(2026, 2, 14), **extra}


# --- services ------------------------------------------------------------------------------------------------


def test_a_quarter_objective_snaps_to_its_quarter_and_a_key_result_binds_a_kpi(org, manager, lab):
    objective = objective_save(organization=org, actor=manager, data=objective_data(lab, manager))
    assert (objective.start, objective.end) == (date(2026, 1, 1), date(2026, 3, 31))
    kr = key_result_save(objective=objective, actor=manager, data={
        "kpi_code": "no_show_rate", "direction": "at_most", "target": "5", "baseline": "9.5", "location": None})
    assert (kr.target, kr.baseline) == (D("5.00"), D("9.50"))


@pytest.mark.parametrize(("data", "field"), [
    ({"kpi_code": "nope", "direction": "at_most", "target": "5", "baseline": "9"}, "kpi_code"),
    ({"kpi_code": "no_show_rate", "direction": "sideways", "target": "5", "baseline": "9"}, "direction"),
    ({"kpi_code": "no_show_rate", "direction": "at_most", "target": "five", "baseline": "9"}, "target"),
    ({"kpi_code": "no_show_rate", "direction": "at_most", "target": "5", "baseline": ""}, "baseline"),
    ({"kpi_code": "no_show_rate", "direction": "at_most", "target": "5", "baseline": "5"}, "target"),
    ({"kpi_code": "days_in_ar", "direction": "at_most", "target": "30", "baseline": "40", "department": "LAB"},
     "department"),
])
def test_bad_key_result_input_is_named_by_field_and_nothing_is_saved(org, manager, lab, data, field):
    objective = objective_save(organization=org, actor=manager, data=objective_data(lab, manager))
    if data.get("department") == "LAB":
        data = {**data, "department": lab.pk}  # days in A/R is practice-wide only
    with pytest.raises(ValidationError) as caught:
        key_result_save(objective=objective, actor=manager, data=data)
    assert field in caught.value.message_dict
    assert not KeyResult.objects.exists()


def test_bad_objective_input_is_named_by_field(org, other_org, manager, lab):
    for data, field in ((objective_data(lab, manager, title=" "), "title"),
                        (objective_data(lab, manager, period_kind="custom", end=date(2026, 1, 1)), "end"),
                        (objective_data(lab, manager, start=None), "start"),
                        (objective_data(DepartmentFactory(organization=other_org), manager), "department")):
        with pytest.raises(ValidationError) as caught:
            objective_save(organization=org, actor=manager, data=data)
        assert field in caught.value.message_dict
    assert not Objective.objects.exists()


def test_a_department_owner_edits_their_department_only_and_others_read(org, owner, lab, make_user):
    objective = objective_save(organization=org, actor=owner, data=objective_data(lab, owner))
    other = DepartmentFactory(organization=org, name="Front")
    with pytest.raises(PermissionDenied):
        objective_save(organization=org, actor=owner, data=objective_data(other, owner))
    clerk = make_user(Role.FRONT_DESK, username="clerk", department=lab)
    with pytest.raises(PermissionDenied):
        key_result_save(objective=objective, actor=clerk, data={"kpi_code": "no_show_rate", "direction": "at_most",
                                                                "target": "5", "baseline": "9"})


# --- status arithmetic ---------------------------------------------------------------------------------------


def test_status_against_the_straight_line_from_baseline_to_target():
    start, end = date(2026, 1, 1), date(2026, 1, 10)  # ten days; by the end of the 5th, half the way
    on = date(2026, 1, 5)
    # at most: baseline 10 → target 6; expected on day 5 = 10 − 4 × 0.5 = 8.00; tolerance a tenth of 4 = 0.4
    assert expected_value(baseline=D(10), target=D(6), start=start, end=end, on=on) == D("8.00")
    kw = {"baseline": D(10), "target": D(6), "direction": Direction.AT_MOST, "start": start, "end": end, "on": on}
    assert key_result_status(value=D("7.9"), **kw) == KeyResultStatus.ON_TRACK
    assert key_result_status(value=D("8.4"), **kw) == KeyResultStatus.AT_RISK
    assert key_result_status(value=D("8.41"), **kw) == KeyResultStatus.OFF_TRACK
    assert key_result_status(value=D("5"), **{**kw, "on": date(2025, 12, 1)}) == KeyResultStatus.ON_TRACK
    assert key_result_status(value=None, **kw) == KeyResultStatus.NO_DATA
    # at least: baseline 80 → target 100; expected on day 5 = 90; at risk down to 88
    up = {**kw, "baseline": D(80), "target": D(100), "direction": Direction.AT_LEAST}
    assert key_result_status(value=D("90"), **up) == KeyResultStatus.ON_TRACK
    assert key_result_status(value=D("88"), **up) == KeyResultStatus.AT_RISK
    assert key_result_status(value=D("87.99"), **up) == KeyResultStatus.OFF_TRACK


# --- cache ---------------------------------------------------------------------------------------------------


def test_a_new_posting_changes_the_number_on_the_next_read(org):
    chart_install(organization=org)
    patient = PatientFactory(organization=org)
    item = charge(org, patient, "1000.00", service_date=TODAY)
    first = figures.figure(organization_id=org.pk, code="net_collection_rate", start=TODAY, end=TODAY)
    assert first.value == D("0.00")
    pay(org, item, "250.00", on=TODAY)
    assert figures.figure(organization_id=org.pk, code="net_collection_rate", start=TODAY, end=TODAY).value == D("25.00")


def test_an_appointment_status_change_invalidates_with_one_increment(org):
    location = LocationFactory(organization=org)
    visit = AppointmentFactory(organization=org, location=location, status=AppointmentStatus.COMPLETED,
                               starts_at=timezone.now())
    assert figures.figure(organization_id=org.pk, code="no_show_rate", start=TODAY, end=TODAY).value == D("0.00")
    visit.status = AppointmentStatus.NO_SHOW
    visit.save(update_fields=["status"])
    # still cached until the schedule says so ...
    assert figures.figure(organization_id=org.pk, code="no_show_rate", start=TODAY, end=TODAY).value == D("0.00")
    appointment_status_changed.send(sender=None, appointment=visit, previous_status=AppointmentStatus.COMPLETED)
    assert figures.figure(organization_id=org.pk, code="no_show_rate", start=TODAY, end=TODAY).value == D("100.00")


# --- snapshots -----------------------------------------------------------------------------------------------


def test_the_daily_snapshot_records_each_running_key_result_once_a_day(org, manager, lab):
    objective = objective_save(organization=org, actor=manager, data=objective_data(lab, manager, start=TODAY))
    key_result_save(objective=objective, actor=manager, data={"kpi_code": "no_show_rate", "direction": "at_most",
                                                              "target": "5", "baseline": "9"})
    assert key_result_snapshots_take(organization=org, on=TODAY) == 1
    assert key_result_snapshots_take(organization=org, on=TODAY) == 1
    snap = KeyResultSnapshot.objects.get()
    assert (snap.taken_on, snap.value, snap.status) == (TODAY, None, KeyResultStatus.NO_DATA)


# --- pages ---------------------------------------------------------------------------------------------------


def _objectives(org, manager, lab, n):
    for i in range(n):
        o = objective_save(organization=org, actor=manager, data=objective_data(lab, manager, title=f"Goal {i}",
                                                                              start=TODAY))
        key_result_save(objective=o, actor=manager, data={"kpi_code": "no_show_rate", "direction": "at_most",
                                                          "target": "5", "baseline": "9"})


def test_the_objective_list_query_count_does_not_grow_with_rows(client_as, org, manager, lab):
    client = client_as(manager)
    _objectives(org, manager, lab, 2)
    client.get(reverse("goals:objective_list"))  # the session's first request settles its own rows
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("goals:objective_list")).status_code == 200
    _objectives(org, manager, lab, 6)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("goals:objective_list"))
    assert response.content.count(b"Goal ") >= 8
    assert len(many) == len(few)


def test_the_kpi_rows_query_count_does_not_grow_with_rows_and_exports_csv(client_as, org, manager):
    client = client_as(manager)
    location = LocationFactory(organization=org)
    url = reverse("goals:kpi_rows", args=["no_show_rate"]) + f"?start={TODAY}&end={TODAY}"

    def visits(n):
        for _ in range(n):
            AppointmentFactory(organization=org, location=location, status=AppointmentStatus.NO_SHOW,
                               starts_at=timezone.now())

    visits(2)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    visits(6)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.content.count(b"No-show</td>") == 8
    assert len(many) == len(few)
    export = client.get(reverse("goals:kpi_rows_export", args=["no_show_rate"]) + f"?start={TODAY}&end={TODAY}")
    body = b"".join(export.streaming_content).decode()
    assert body.count("No-show") == 8 and "Appointment,Starts,Patient" in body


def test_bad_rows_dates_are_named_and_the_dashboard_shows_cards(client_as, org, manager, lab):
    client = client_as(manager)
    response = client.get(reverse("goals:kpi_rows", args=["no_show_rate"]) + "?start=2026-03-10&end=2026-03-01")
    assert response.status_code == 400 and b"The period ends before it starts." in response.content
    _objectives(org, manager, lab, 1)
    page = client.get(reverse("goals:dashboard"))
    assert page.status_code == 200 and b"Practice dashboard" in page.content and b"Goal 0: No-show rate" in page.content


def test_the_biller_and_front_desk_see_their_dashboards(client_as, make_user):
    assert b"Revenue cycle dashboard" in client_as(make_user(Role.BILLER, username="b1")).get(
        reverse("goals:dashboard")).content
    body = client_as(make_user(Role.FRONT_DESK, username="fd1")).get(reverse("goals:dashboard")).content
    assert b"Front desk dashboard" in body and b"Days in A/R" not in body


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_monthly_report_pdf(client_as, org, manager, lab, tmp_path):
    _objectives(org, manager, lab, 1)
    response = client_as(manager).get(reverse("goals:report_pdf") + f"?month={TODAY:%Y-%m}")
    assert response["Content-Type"] == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(response.content)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)  # noqa: S603, S607
    text = " ".join(out.stdout.split())
    assert "Goals report" in text and "Goal 0 · Laboratory" in text and "No-show rate" in text and "at most 5.00" in text


# --- API -----------------------------------------------------------------------------------------------------


def test_the_api_lists_kpis_gives_a_figure_and_names_bad_fields(client_as, org, manager, lab):
    client = client_as(manager)
    kpis = client.get("/api/v1/goals/kpis").json()
    assert {"no_show_rate", "stockouts"} <= {k["code"] for k in kpis}
    figure = client.get(f"/api/v1/goals/kpis/no_show_rate?start={TODAY}&end={TODAY}").json()
    assert figure["value"] is None and figure["denominator"] == "0"
    made = client.post("/api/v1/goals/objectives", {
        "title": "API goal", "department_id": lab.pk, "owner_id": manager.pk, "period_kind": "month",
        "start": str(TODAY)}, content_type="application/json")
    assert made.status_code == 201
    bad = client.post(f"/api/v1/goals/objectives/{made.json()['id']}/key-results", {
        "kpi_code": "no_show_rate", "direction": "at_most", "target": "x", "baseline": "9"},
        content_type="application/json")
    assert bad.status_code == 400 and "target" in bad.json()["errors"]
    assert Objective.objects.get().period_kind == PeriodKind.MONTH
    assert AccountRole  # noqa: B018
