"""`manage.py patient_record MRN OUTFILE [--organization SLUG] [--as USERNAME]`: one patient's record for a
right-of-access request, as a zip of FHIR JSON, the chart's documents and a README. Audited as an export by the
acting user; OUTFILE must not exist yet and is written whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinicdesk.core.management.organization import acting_user, organization_option
from clinicdesk.fhir.patient_record import patient_record_zip
from clinicdesk.patients.models import Patient


def _outfile(text: str) -> Path:
    outfile = Path(text).expanduser().absolute()
    if outfile.exists():
        raise CommandError(f"{outfile} already exists; name a file that does not exist yet.")
    if not outfile.parent.is_dir():
        raise CommandError(f"The folder {outfile.parent} (where {outfile.name} would go) does not exist.")
    return outfile


class Command(BaseCommand):
    help = "Write one patient's record (FHIR JSON, documents, README) as a zip, for a right-of-access request."

    def add_arguments(self, parser) -> None:
        parser.add_argument("mrn", metavar="MRN", help="The patient's medical record number in the practice.")
        parser.add_argument("outfile", metavar="OUTFILE", help="The zip to write; it must not exist yet.")
        parser.add_argument("--organization", metavar="SLUG", help="The practice (required when there are several).")
        parser.add_argument("--as", "--user", dest="user", metavar="USERNAME",
                            help="Who the export acts as (audited); default: the practice's only active administrator.")

    def handle(self, *args, mrn: str, outfile: str, organization: str | None = None, user: str | None = None,
               **options) -> None:
        target = _outfile(outfile)
        org = organization_option(organization)
        actor = acting_user(org, user, doing="exports")
        patient = Patient.objects.filter(organization=org, mrn=mrn.strip()).first()
        if patient is None:
            raise CommandError(f"No patient with MRN '{mrn}' in {org.slug}.")
        try:
            record = patient_record_zip(actor=actor, patient=patient)
        except (ValidationError, PermissionDenied) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            raise CommandError(" ".join(messages)) from None
        handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        try:
            with record.file, os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(record.file, out)
            if target.exists():
                raise CommandError(f"{target} appeared while the record was written; nothing was replaced.")
            os.rename(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        listing = ", ".join(f"{t} {n}" for t, n in record.counts.items() if t != "Patient")
        self.stdout.write(f"Wrote the record of MRN {patient.mrn} to {target}: {listing}; {record.documents} document(s).")
        for title in record.missing_documents:
            self.stderr.write(f"Not included (missing from storage): {title}")
