"""`$export` over HTTP (FHIR Bulk Data, asynchronous): kick-off, the queued task, polling, the manifest and the
NDJSON downloads with the same bearer token; only the asking user sees the job; DELETE cancels or deletes; bad
parameters are refused naming the parameter."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django_tasks_db.models import DBTaskResult
from fhir.resources.R4B import get_fhir_model_class

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.fhir.bindings import code_issues
from clinicdesk.fhir.choices import BulkExportStatus
from clinicdesk.fhir.models import BulkExport
from clinicdesk.fhir.services import fhir_token_create, fhir_token_revoke
from clinicdesk.insurance.models import Coverage
from clinicdesk.patients.models import Patient
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.tests.factories import Clinic

from .conftest import BASE, valid
from .test_export import _practice

pytestmark = pytest.mark.django_db

TASK_PATH = "clinicdesk.fhir.tasks.fhir_bulk_export"
TYPES = "Patient,Appointment,Coverage"


@pytest.fixture(autouse=True)
def stored_tasks_and_media(settings, tmp_path):
    # The database backend only stores the task: the test runs it, as a worker would, when it chooses.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


@pytest.fixture
def ours(clinic):
    return _practice(clinic)


class Bulk:
    """A bulk client: one user's bearer token, calling absolute or [base]-relative URLs."""

    def __init__(self, client, user, scopes=("user/*.read",)) -> None:
        self.client = client
        self.token, self.secret = fhir_token_create(actor=None, user=user, name="bulk", scopes=list(scopes), days=30)

    def call(self, method: str, url: str, params=None, **headers):
        path = urlsplit(url).path if url.startswith("http") else BASE + url
        headers["HTTP_AUTHORIZATION"] = f"Bearer {self.secret}"
        if method == "GET":
            return self.client.get(path, params or {}, **headers)
        return self.client.generic(method, path, **headers)

    def kick_off(self, capture, params=None, prefer="respond-async"):
        headers = {"HTTP_PREFER": prefer} if prefer else {}
        with capture(execute=True):
            return self.call("GET", "$export", params if params is not None else {"_type": TYPES}, **headers)


def run_queued_task() -> str:
    """Run the queued export task the way a worker would: the stored task with its stored arguments."""
    row = DBTaskResult.objects.get(task_path=TASK_PATH)
    return row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])


def outcome_expressions(response) -> list[str]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return [e for issue in body["issue"] for e in issue.get("expression", [])]


def test_kick_off_run_poll_and_download_every_file(ours, client, django_capture_on_commit_callbacks):
    bulk = Bulk(client, ours.admin)
    # when the client kicks off
    kicked = bulk.kick_off(django_capture_on_commit_callbacks)
    # then 202 with the status URL, and the job waits for its task
    assert kicked.status_code == 202, kicked.content
    status_url = kicked["Content-Location"]
    assert status_url.startswith("http://testserver/fhir/R4/$export/")
    waiting = bulk.call("GET", status_url)
    assert waiting.status_code == 202 and waiting["X-Progress"] == "Queued"
    # when the worker runs the task
    assert run_queued_task() == BulkExportStatus.COMPLETED
    # then the poll gives the manifest, with download URLs needing the token
    done = bulk.call("GET", status_url)
    assert done.status_code == 200, done.content
    manifest = done.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith(f"/fhir/R4/$export?_type={TYPES.replace(',', '%2C')}")
    assert [o["type"] for o in manifest["output"]] == ["Patient", "Appointment", "Coverage"]
    expected = {"Patient": Patient.objects.filter(organization=ours.organization).count(),
                "Appointment": Appointment.objects.filter(organization=ours.organization).count(),
                "Coverage": Coverage.objects.filter(patient__organization=ours.organization).count()}
    for output in manifest["output"]:
        assert output["url"].startswith(status_url + "/")
        downloaded = bulk.call("GET", output["url"], HTTP_ACCEPT="application/fhir+ndjson")
        assert downloaded.status_code == 200
        assert downloaded["Content-Type"] == "application/fhir+ndjson"
        lines = b"".join(downloaded.streaming_content).decode("utf-8").splitlines()
        assert len(lines) == output["count"] == expected[output["type"]]
        for line in lines:
            resource = json.loads(line)
            assert resource["resourceType"] == output["type"]
            get_fhir_model_class(output["type"]).model_validate(resource)
            assert code_issues(resource) == []
    # and the export is audited like the command's, plus each download
    assert AuditEvent.objects.filter(action="fhir.bulk_exported", actor=ours.admin).count() == 1
    assert AuditEvent.objects.filter(action="fhir.bulk_file_downloaded").count() == 3


def test_a_file_needs_a_token(ours, client, django_capture_on_commit_callbacks):
    bulk = Bulk(client, ours.admin)
    status_url = bulk.kick_off(django_capture_on_commit_callbacks)["Content-Location"]
    run_queued_task()
    url = bulk.call("GET", status_url).json()["output"][0]["url"]
    assert client.get(urlsplit(url).path).status_code == 401


def test_another_user_cannot_poll_download_or_delete_the_job(ours, client, django_capture_on_commit_callbacks):
    # given a finished job of the administrator
    bulk = Bulk(client, ours.admin)
    status_url = bulk.kick_off(django_capture_on_commit_callbacks)["Content-Location"]
    run_queued_task()
    file_url = bulk.call("GET", status_url).json()["output"][0]["url"]
    # when a colleague with the same powers, and a user of another practice, try it with their own tokens
    colleague = Bulk(client, UserFactory(organization=ours.organization, role=Role.ADMINISTRATOR))
    stranger = Bulk(client, _practice(Clinic.build()).admin)
    for other in (colleague, stranger):
        assert other.call("GET", status_url).status_code == 404
        assert other.call("GET", file_url).status_code == 404
        assert other.call("DELETE", status_url).status_code == 404
    # then the job is untouched and still the administrator's
    assert bulk.call("GET", status_url).status_code == 200


def test_delete_removes_the_files_and_the_job(ours, client, django_capture_on_commit_callbacks):
    bulk = Bulk(client, ours.admin)
    status_url = bulk.kick_off(django_capture_on_commit_callbacks)["Content-Location"]
    run_queued_task()
    job = BulkExport.objects.get()
    names = [e["name"] for e in job.output]
    assert names and all(default_storage.exists(n) for n in names)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        deleted = bulk.call("DELETE", status_url)
    # then
    assert deleted.status_code == 202
    assert not any(default_storage.exists(n) for n in names)
    assert bulk.call("GET", status_url).status_code == 404
    assert AuditEvent.objects.filter(action="fhir.bulk_export_deleted").count() == 1


def test_delete_before_the_task_runs_cancels_it(ours, client, django_capture_on_commit_callbacks):
    bulk = Bulk(client, ours.admin)
    status_url = bulk.kick_off(django_capture_on_commit_callbacks)["Content-Location"]
    assert bulk.call("DELETE", status_url).status_code == 202
    # the worker picks the task up later: it writes nothing
    assert run_queued_task() == BulkExportStatus.CANCELLED
    assert BulkExport.objects.get().output == []
    assert not AuditEvent.objects.filter(action="fhir.bulk_exported").exists()


def test_a_failed_export_polls_as_an_operation_outcome(ours, client, django_capture_on_commit_callbacks):
    # given the token that asked is revoked before the worker runs
    bulk = Bulk(client, ours.admin)
    status_url = bulk.kick_off(django_capture_on_commit_callbacks)["Content-Location"]
    fhir_token_revoke(actor=ours.admin, token=bulk.token)
    assert run_queued_task() == BulkExportStatus.FAILED
    # when the same user polls with another token
    failed = Bulk(client, ours.admin).call("GET", status_url)
    # then
    assert failed.status_code == 500
    issue = failed.json()["issue"][0]
    assert failed.json()["resourceType"] == "OperationOutcome" and issue["severity"] == "error"
    assert "no longer valid" in issue["diagnostics"]


@pytest.mark.parametrize(("params", "prefer", "named"), [
    ({"_type": TYPES}, None, "Prefer"),
    ({"_type": "Patient,Nope"}, "respond-async", "_type"),
    ({"_type": "Slot"}, "respond-async", "_type"),
    ({"_type": "Patient", "_since": "2027-01-01T00:00:00Z"}, "respond-async", "_since"),
    ({"_type": "Patient", "_outputFormat": "text/csv"}, "respond-async", "_outputFormat"),
])
def test_bad_parameters_are_refused_by_name(ours, client, django_capture_on_commit_callbacks, params, prefer, named):
    response = Bulk(client, ours.admin).kick_off(django_capture_on_commit_callbacks, params, prefer=prefer)
    assert response.status_code == 400
    assert named in outcome_expressions(response)
    assert not BulkExport.objects.exists() and not DBTaskResult.objects.filter(task_path=TASK_PATH).exists()


def test_every_type_asked_for_needs_a_read_scope_and_the_role(ours, client, django_capture_on_commit_callbacks):
    narrow = Bulk(client, ours.admin, scopes=["user/Patient.read"])
    assert narrow.kick_off(django_capture_on_commit_callbacks, {"_type": "Patient,Appointment"}).status_code == 403
    desk = Bulk(client, ours.actor)  # the front desk reads patients but may not export them
    refused = desk.kick_off(django_capture_on_commit_callbacks, {"_type": "Patient"})
    assert refused.status_code == 403 and "may not export" in refused.json()["issue"][0]["diagnostics"]
    assert not BulkExport.objects.exists()


def test_without_type_the_export_takes_what_token_and_role_allow(ours, client, django_capture_on_commit_callbacks):
    desk = Bulk(client, ours.actor)
    assert desk.kick_off(django_capture_on_commit_callbacks, {}).status_code == 202
    types = BulkExport.objects.get().types
    assert "Patient" not in types and "Coverage" not in types and "Practitioner" in types


def test_the_capability_statement_lists_the_operation(client):
    body = valid(get_fhir_model_class("CapabilityStatement"), client.get(BASE + "metadata"))
    assert {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}.items() <= \
        body["rest"][0]["operation"][0].items()
