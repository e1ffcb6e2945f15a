"""`manage.py fhir_export OUTDIR [--organization SLUG] [--type Patient,Appointment,...] [--user USERNAME]`: the practice
as FHIR NDJSON, one `<Type>.ndjson` per resource type and a Bulk Data `manifest.json`, in OUTDIR (which must not exist
or be empty). Audited as an export by the acting user; on any refusal or error nothing is written."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinicdesk.core.management.organization import acting_user, organization_option
from clinicdesk.fhir.exporting import EXPORT_TYPES, export_types, fhir_export


class Command(BaseCommand):
    help = "Export the practice as FHIR NDJSON (one file per resource type) with a Bulk Data manifest."

    def add_arguments(self, parser) -> None:
        parser.add_argument("outdir", metavar="OUTDIR", help="A folder that does not exist yet or is empty.")
        parser.add_argument("--organization", metavar="SLUG", help="The practice (required when there are several).")
        parser.add_argument("--type", metavar="TYPES", dest="types",
                            help=f"Comma-separated resource types; default: all of {', '.join(EXPORT_TYPES)}.")
        parser.add_argument("--user", metavar="USERNAME",
                            help="Who the export acts as (audited); default: the practice's only active administrator.")

    def handle(self, *args, outdir: str, organization: str | None = None, types: str | None = None,
               user: str | None = None, **options) -> None:
        try:
            wanted = export_types(types)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        org = organization_option(organization)
        actor = acting_user(org, user, doing="exports")
        try:
            result = fhir_export(actor=actor, organization=org, outdir=Path(outdir), types=wanted)
        except (ValidationError, PermissionDenied) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            raise CommandError(" ".join(messages)) from None
        for resource_type, count in result.counts.items():
            self.stdout.write(f"{resource_type}: {count}")
        self.stdout.write(f"Exported {sum(result.counts.values())} resource(s), {result.patients} patient(s), "
                          f"to {result.outdir} (manifest.json).")
