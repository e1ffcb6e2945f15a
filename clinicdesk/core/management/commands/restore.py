"""`manage.py restore FILE`: a backup into an empty database and storage, checked before and after."""

import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinicdesk.core.backup import BackupError, backup_key_read
from clinicdesk.core.restore import backup_open, backup_restore


class Command(BaseCommand):
    # A backup or a restore must work even when a system check fails (a half-finished deploy is when one is needed).
    requires_system_checks = []
    help = ("Restore a backup made by `manage.py backup` into an EMPTY database (and storage). The whole file is read "
            "and checked before anything is written; afterwards the row counts, the ledger and the audit chain are "
            "checked.")

    def add_arguments(self, parser):
        parser.add_argument("source", help="The backup file (.cdbackup).")
        parser.add_argument("--key-file", help="Read the backup key from this file instead of BACKUP_KEY.")
        parser.add_argument("--verify-only", action="store_true",
                            help="Only read the file back and check the key and every checksum; write nothing.")
        parser.add_argument("--work-dir", help="Where the backup is unpacked while it is checked (default: the "
                                               "system's temp; needs room for the database and the documents).")

    def handle(self, *args, source, key_file, verify_only, work_dir, **options):
        if not Path(source).is_file():
            raise CommandError(f"No backup file at {source}.")
        started = time.perf_counter()
        try:
            secret = backup_key_read(key_file=key_file)
            if verify_only:
                with tempfile.TemporaryDirectory(prefix="clinicdesk-verify-", dir=work_dir) as scratch:
                    opened = backup_open(source=source, secret=secret, folder=Path(scratch))
                manifest = opened.manifest
                self.stdout.write(self.style.SUCCESS(
                    f"Backup of {manifest['created_at']} ({manifest['database']['vendor']}) is intact: the key opens "
                    f"it and all {len(manifest['members'])} members match their checksums "
                    f"({sum(manifest['row_counts'].values())} rows, {manifest['documents']} documents)."))
                return
            report = backup_restore(
                source=source, secret=secret, workdir=work_dir,
                progress=lambda message: self.stdout.write(f"[{time.perf_counter() - started:6.1f}s] {message}"))
        except BackupError as exc:
            raise CommandError(f"{exc} Nothing was restored.") from None
        except OSError as exc:
            # A full disk or a folder without permission, while unpacking or writing: the database is left empty
            # and the documents written so far are removed again.
            raise CommandError(f"Cannot write {exc.filename or 'a file'}: {exc.strerror or exc}. Nothing was "
                               "restored.") from None
        elapsed = time.perf_counter() - started
        rows = sum(report.manifest["row_counts"].values())
        if report.row_counts_match:
            self.stdout.write(f"Row counts: all {len(report.manifest['row_counts'])} tables match the manifest "
                              f"({rows} rows).")
        else:
            for table, (expected, found) in report.row_count_differences.items():
                self.stdout.write(self.style.ERROR(f"Row count of {table}: {found}, the manifest says {expected}."))
        for check in report.checks:
            style, outcome = {True: (self.style.SUCCESS, "OK"), False: (self.style.ERROR, "FAILED"),
                              None: (self.style.WARNING, "NOT RUN")}[check.ok]
            self.stdout.write(style(f"{check.name.capitalize()}: {outcome}, {check.detail}."))
        if report.migrations_to_apply:
            self.stdout.write(self.style.WARNING(
                f"The backup predates {len(report.migrations_to_apply)} migrations of this clinicdesk "
                f"(first: {report.migrations_to_apply[0]}); run `manage.py migrate` now."))
        if not report.ok:
            raise CommandError(f"Restored in {elapsed:.1f}s, but the checks above failed: do not use this database "
                               "until they are understood.")
        verified = "verified" if all(check.ok for check in report.checks) else "checked as far as it can be before migrating"
        self.stdout.write(self.style.SUCCESS(f"Restore complete in {elapsed:.1f}s and {verified}."))
