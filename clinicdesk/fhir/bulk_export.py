"""FHIR Bulk Data `$export` over HTTP, the asynchronous way: a kick-off records a BulkExport and queues a task; the
task writes the NDJSON files with `fhir_export` (exporting.py) and moves them into the default storage; the client
polls the job, downloads the files with its token, and deletes the job when done (or to cancel it).

The files live in storage under `fhir-exports/<public id>/` until the job is deleted.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import datetime
from pathlib import Path, PurePosixPath

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel

from .choices import BulkExportStatus
from .exporting import export_permission_check, fhir_export
from .models import BulkExport, FhirToken

logger = logging.getLogger(__name__)

STORAGE_FOLDER = "fhir-exports"
# A job still open (the client may poll it); the others are finished one way or another.
OPEN = (BulkExportStatus.ACCEPTED, BulkExportStatus.IN_PROGRESS)


@transaction.atomic
def bulk_export_start(*, token: FhirToken, types: list[str], request_url: str) -> BulkExport:
    """Record an `$export` of `types` for the token's user and queue its task (once this commits)."""
    from .tasks import fhir_bulk_export

    actor = token.user
    export_permission_check(actor=actor, organization=token.organization, types=types)
    job = BulkExport(organization=token.organization, requested_by=actor, token=token, types=list(types),
                     request_url=request_url[:2000], progress="Queued")
    job.full_clean()
    job.save()
    audit_event(action="fhir.bulk_export_requested", actor=actor, target=job, channel=AuditChannel.API,
                summary=f"FHIR $export asked for: {', '.join(types)}"[:300], changes={"types": list(types)})
    transaction.on_commit(lambda: fhir_bulk_export.enqueue(export_id=job.pk))
    return job


def _storage_name(job: BulkExport, file_name: str) -> str:
    return str(PurePosixPath(STORAGE_FOLDER) / str(job.public_id) / file_name)


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def _fail(job: BulkExport, message: str) -> None:
    BulkExport.objects.filter(pk=job.pk, status__in=OPEN).update(
        status=BulkExportStatus.FAILED, error=message[:2000], progress="", finished_at=timezone.now(),
        updated_at=timezone.now())


def bulk_export_run(*, export_id: int) -> str:
    """Write the job's NDJSON files and store them; the job's status when done. A job already taken, cancelled or
    deleted is left alone; a cancellation that arrives while the files are written removes them."""
    claimed = BulkExport.objects.filter(pk=export_id, status=BulkExportStatus.ACCEPTED).update(
        status=BulkExportStatus.IN_PROGRESS, progress="Starting", updated_at=timezone.now())
    job = BulkExport.objects.select_related("organization", "requested_by", "token").filter(pk=export_id).first()
    if job is None or not claimed:
        return job.status if job is not None else "missing"
    actor = job.requested_by
    if actor is None or job.token is None or not job.token.is_usable:
        _fail(job, "The access token or the user that asked for this export is no longer valid; nothing was written.")
        return BulkExportStatus.FAILED
    BulkExport.objects.filter(pk=job.pk).update(progress=f"Writing {', '.join(job.types)}")
    work = Path(tempfile.mkdtemp(prefix="fhir-export-"))
    stored: list[str] = []
    try:
        result = fhir_export(actor=actor, organization=job.organization, outdir=work / str(job.public_id),
                             types=job.types)
        output = []
        for entry in result.manifest["output"]:
            with (result.outdir / entry["url"]).open("rb") as handle:
                name = default_storage.save(_storage_name(job, entry["url"]), File(handle))
            stored.append(name)
            output.append({"type": entry["type"], "count": entry["count"], "name": name})
    except (ValidationError, PermissionDenied) as exc:
        _delete_files(stored)
        messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        _fail(job, " ".join(messages))
        return BulkExportStatus.FAILED
    except Exception:
        _delete_files(stored)
        logger.exception("FHIR $export %s failed", job.public_id)
        _fail(job, f"The export failed on the server; nothing was kept. Quote {job.public_id} when you report it.")
        return BulkExportStatus.FAILED
    finally:
        shutil.rmtree(work, ignore_errors=True)
    done = BulkExport.objects.filter(pk=job.pk, status=BulkExportStatus.IN_PROGRESS).update(
        status=BulkExportStatus.COMPLETED, output=output, progress="", finished_at=timezone.now(),
        transaction_time=datetime.fromisoformat(result.manifest["transactionTime"]), updated_at=timezone.now())
    if not done:  # cancelled while the files were written
        _delete_files(stored)
        return BulkExportStatus.CANCELLED
    return BulkExportStatus.COMPLETED


@transaction.atomic
def bulk_export_delete(*, actor, job: BulkExport) -> BulkExport:
    """Cancel an open job or delete a finished one's files (the client's DELETE on the status URL); audited."""
    job = BulkExport.objects.select_for_update().get(pk=job.pk)
    if job.status == BulkExportStatus.CANCELLED:
        raise ValidationError({"export": "This export was already cancelled or deleted."})
    names = [entry["name"] for entry in job.output]
    was_open = job.status in OPEN
    job.status = BulkExportStatus.CANCELLED
    job.output = []
    job.progress = ""
    job.finished_at = job.finished_at or timezone.now()
    job.save(update_fields=["status", "output", "progress", "finished_at", "updated_at"])
    audit_event(action="fhir.bulk_export_deleted", actor=actor, target=job, channel=AuditChannel.API,
                summary=f"FHIR $export {'cancelled' if was_open else 'deleted'}; {len(names)} file(s) removed")
    transaction.on_commit(lambda: _delete_files(names))
    return job


def bulk_export_for(*, token: FhirToken, public_id: str) -> BulkExport | None:
    """The job at `public_id` if the token's user asked for it in the token's practice; else None (existence is not
    revealed)."""
    return BulkExport.objects.filter(public_id=public_id, organization_id=token.organization_id,
                                     requested_by_id=token.user_id).first()


def bulk_export_manifest(*, job: BulkExport, file_url) -> dict:
    """The Bulk Data completion manifest; `file_url(entry)` gives each file's download URL."""
    return {
        "transactionTime": job.transaction_time.isoformat(timespec="seconds"),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": e["type"], "url": file_url(e), "count": e["count"]} for e in job.output],
        "error": [],
    }


def bulk_export_file(*, actor, job: BulkExport, file_name: str):
    """An open handle on one of a completed job's files, audited as downloaded; None when the job has no such file."""
    entry = next((e for e in job.output if PurePosixPath(e["name"]).name == file_name), None)
    if job.status != BulkExportStatus.COMPLETED or entry is None:
        return None
    try:
        handle = default_storage.open(entry["name"], "rb")
    except FileNotFoundError:
        return None
    audit_event(action="fhir.bulk_file_downloaded", actor=actor, target=job, channel=AuditChannel.API,
                summary=f"FHIR $export file downloaded: {file_name} ({entry['count']} {entry['type']})"[:300])
    return handle
