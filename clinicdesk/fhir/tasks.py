"""Background work of the FHIR facade (django.tasks); each task is thin and calls a service."""

from django.tasks import task


@task
def fhir_bulk_export(*, export_id: int) -> str:
    """Write one HTTP `$export`'s NDJSON files into storage; returns the job's status."""
    from .bulk_export import bulk_export_run

    return bulk_export_run(export_id=export_id)
