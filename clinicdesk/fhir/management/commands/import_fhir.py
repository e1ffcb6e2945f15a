"""`manage.py import_fhir PATH... [--organization SLUG] [--user USERNAME] [--dry-run]`: Synthea / US Core bundles into
the practice: patients, coverages, posted encounters and charges from Claim, payer payments from
ExplanationOfBenefit. Prints per bundle and in total what was created, updated and skipped, and why; exits non-zero
when a bundle was refused (the message names the file, the entry and the element; nothing of that bundle is saved)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from clinicdesk.core.management.organization import acting_user, organization_option
from clinicdesk.fhir.importing import ImportReport, paths_import


class Command(BaseCommand):
    help = "Import FHIR bundles (Synthea / US Core): patients, coverages, encounters and charges, payer payments."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Bundle files, or folders of them.")
        parser.add_argument("--organization", metavar="SLUG", help="The practice (required when there are several).")
        parser.add_argument("--user", metavar="USERNAME",
                            help="Who the import acts as (audited); default: the practice's only active administrator.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would happen; save nothing.")

    def handle(self, *args, paths: list[str], organization: str | None = None, user: str | None = None,
               dry_run: bool = False, **options) -> None:
        org = organization_option(organization)
        actor = acting_user(org, user, doing="imports")
        try:
            reports = paths_import(paths=paths, organization=org, actor=actor, dry_run=dry_run)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        if not reports:
            raise CommandError("No bundle found in " + ", ".join(paths) + ".")
        total = ImportReport(name="total", dry_run=dry_run)
        refused = 0
        for report in reports:
            if report.refused:
                refused += 1
                self.stderr.write(f"{report.name}: refused, nothing saved: {report.refused}")
                continue
            self.stdout.write(f"{report.name}:" + (" (dry run, nothing saved)" if dry_run else ""))
            for line in report.lines():
                self.stdout.write(line)
            total.merge(report)
        self.stdout.write(f"Total: {len(reports) - refused} of {len(reports)} bundle(s) imported"
                          + (" (dry run, nothing saved)" if dry_run else "") + ("." if len(reports) == 1 else ":"))
        if len(reports) > 1:
            for line in total.lines():
                self.stdout.write(line)
        if refused:
            raise CommandError(f"{refused} of {len(reports)} bundle(s) refused.")
