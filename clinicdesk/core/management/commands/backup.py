"""`manage.py backup [DESTINATION]`: one encrypted file holding the database and the stored documents."""

import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from clinicdesk.core.backup import BackupError, backup_create, backup_key_read
from clinicdesk.core.backup_stream import BackupFileError

SUFFIX = ".cdbackup"
PREFIX = "clinicdesk-"


class Command(BaseCommand):
    # A backup or a restore must work even when a system check fails (a half-finished deploy is when one is needed).
    requires_system_checks = []
    help = ("Back up the database and the stored documents into one encrypted file (key: BACKUP_KEY or --key-file). "
            "Safe while the practice is working.")

    def add_arguments(self, parser):
        parser.add_argument(
            "destination", nargs="?", default=None,
            help="A new file, or a folder to write clinicdesk-<UTC time>.cdbackup into (default: var/backups/).")
        parser.add_argument("--key-file", help="Read the backup key from this file instead of BACKUP_KEY.")
        parser.add_argument("--keep", type=int, default=None, metavar="N",
                            help="With a folder: afterwards delete all but the newest N backups made there.")
        parser.add_argument("--work-dir", help="Where the database snapshot is staged (default: the system's temp).")

    def handle(self, *args, destination, key_file, keep, work_dir, **options):
        if keep is not None and keep < 1:
            raise CommandError("--keep: keep at least 1 backup.")
        target = Path(destination) if destination else Path(settings.VAR_DIR) / "backups"
        folder = None
        if destination is None or target.is_dir():
            folder = target
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%SZ}{SUFFIX}"
        elif keep is not None:
            raise CommandError("--keep needs a folder as the destination.")
        started = time.perf_counter()
        try:
            result = backup_create(output=target, secret=backup_key_read(key_file=key_file), workdir=work_dir)
        except (BackupError, BackupFileError) as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"Cannot write {exc.filename or 'the backup'}: {exc.strerror or exc}. No backup was "
                               "written.") from None
        manifest = result.manifest
        self.stdout.write(self.style.SUCCESS(
            f"Backup written: {result.path} ({filesizeformat(result.size)}, {manifest['database']['vendor']}, "
            f"{sum(manifest['row_counts'].values())} rows in {len(manifest['row_counts'])} tables, "
            f"{manifest['documents']} documents) in {time.perf_counter() - started:.1f}s."))
        if folder is not None and keep is not None:
            made_here = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"))
            for old in made_here[:-keep]:
                old.unlink()
                self.stdout.write(f"Removed the older backup {old.name}.")
