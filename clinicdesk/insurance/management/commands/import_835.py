"""Import 835 remittance files: `manage.py import_835 --organization SLUG FILE...`.

Prints, per file and transaction: payer, check/EFT number, total paid, claims matched, claims to exceptions,
provider-level adjustments and whether it balanced. Exits non-zero when a file is malformed or unbalanced (the
message names the line and segment, or the numbers); the other files are still imported.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinicdesk.core.management.organization import organization_option
from clinicdesk.insurance.services.remittances import remittance_import


class Command(BaseCommand):
    help = "Import 835 remittance files: post matched claim payments, queue the rest in exceptions."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--organization", metavar="SLUG", help="The practice (required when there are several).")

    def handle(self, *args, files, organization=None, **options):
        org = organization_option(organization)
        failed = 0
        for name in files:
            path = Path(name)
            try:
                content = path.read_text(encoding="utf-8", errors="strict")
            except (OSError, UnicodeDecodeError) as error:
                self.stderr.write(f"{name}: cannot read: {error}")
                failed += 1
                continue
            try:
                result = remittance_import(organization=org, content=content, file_name=path.name, actor=None)
            except ValidationError as error:
                messages = [m for values in error.message_dict.values() for m in values]
                self.stderr.write(f"{name}: refused, nothing posted: {'; '.join(messages)}")
                failed += 1
                continue
            self.stdout.write(f"{name}:")
            for tr in result.transactions:
                if tr.already_imported:
                    self.stdout.write(f"  {tr.payer} check {tr.check_number}: already imported, nothing posted")
                    continue
                self.stdout.write(
                    f"  payer {tr.payer}; check/EFT {tr.check_number}; total paid {tr.total_paid:.2f}; "
                    f"claims matched {tr.claims_matched}; claims to exceptions {tr.claims_exceptions}; "
                    f"provider-level adjustments {tr.provider_adjustments:.2f}; balanced {'yes' if tr.balanced else 'no'}"
                )
        if failed:
            raise CommandError(f"{failed} of {len(files)} file(s) refused.")
