"""Restore of a backup made by `backup.py`: into an empty database only, checked before and after.

`backup_restore` reads the whole file into a private temporary folder first, checking the key, every chunk's tag
and every member's checksum; only then, and only into an empty database, does it write: documents first (removed
again if the database fails), then the database in one transaction. Afterwards it compares the row counts with
the manifest and runs the integrity checks the apps register (the audit chain here, the ledger's books in ledger).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.loader import MigrationLoader
from django.utils.module_loading import import_string

from .audit import audit_event, audit_verify
from .backup import (
    COPY_BLOCK,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MEDIA_PREFIX,
    BackupError,
    pg_environment,
    pg_tool,
    row_counts,
    run_tool,
    sqlite_path,
)
from .backup_stream import BackupFileError, DecryptingReader
from .choices import AuditChannel

# --- integrity checks after a restore -------------------------------------------------------------------------


@dataclass(frozen=True)
class IntegrityResult:
    """One check's outcome after a restore; `ok` is None when the check was not run."""

    name: str
    ok: bool | None
    detail: str


_CHECKS: dict[str, str] = {}


def register_integrity_check(name: str, path: str) -> None:
    """Run the function at `path` (no arguments, returns (ok, detail)) after every restore; from AppConfig.ready.

    Apps above core register their own checks here (the ledger its books), so core never imports them."""
    _CHECKS[name] = path


def audit_chain_integrity() -> tuple[bool, str]:
    """The audit trail's hash chain, verified link by link (rows waiting to join it are sealed first)."""
    checked, broken_id, reason = audit_verify()
    if broken_id is None:
        return True, f"intact, {checked} rows checked"
    return False, f"broken at row {broken_id}: {reason}; {checked} rows before it are intact"


def integrity_checks() -> list[IntegrityResult]:
    """Every registered check, in name order; a check that raises counts as failed."""
    results = []
    for name in sorted(_CHECKS):
        try:
            ok, detail = import_string(_CHECKS[name])()
        except Exception as exc:  # noqa: BLE001  (a failed check is reported, never fatal)
            ok, detail = False, f"the check failed to run: {exc}"
        results.append(IntegrityResult(name=name, ok=ok, detail=detail))
    return results


register_integrity_check("audit chain", "clinicdesk.core.restore.audit_chain_integrity")


# --- reading a backup back ------------------------------------------------------------------------------------


@dataclass
class OpenedBackup:
    """A backup read back into a private folder, its key, chunks and checksums all checked."""

    folder: Path
    manifest: dict
    database: Path
    documents: list[str] = field(default_factory=list)


def _safe_member(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def backup_open(*, source: str | Path | BinaryIO, secret: bytes, folder: Path) -> OpenedBackup:
    """Decrypt and unpack the backup into `folder`, checking everything; raises BackupError naming the problem."""
    if isinstance(source, str | Path):
        if not Path(source).is_file():
            raise BackupError(f"No backup file at {source}.")
        with Path(source).open("rb") as stream:
            return backup_open(source=stream, secret=secret, folder=folder)
    found: dict[str, dict] = {}
    manifest_bytes = None
    try:
        reader = DecryptingReader(source, secret)
        with tarfile.open(fileobj=reader, mode="r|gz") as archive:
            for member in archive:
                if not member.isfile() or not _safe_member(member.name):
                    raise BackupError(f"The backup holds an unexpected entry {member.name!r}; it was not made by "
                                      "clinicdesk and is not restored.")
                if member.name in found or (member.name == MANIFEST and manifest_bytes is not None):
                    raise BackupError(f"The backup holds {member.name} twice; it is not restored.")
                extracted = archive.extractfile(member)
                if member.name == MANIFEST:
                    manifest_bytes = extracted.read()
                    continue
                target = folder / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                with target.open("wb") as out:
                    while block := extracted.read(COPY_BLOCK):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
                found[member.name] = {"sha256": digest.hexdigest(), "size": size}
        # Read to the end, so that the last chunk (the proof that nothing was cut off) is checked too.
        while reader.read(COPY_BLOCK):
            pass
    except BackupFileError as exc:
        raise BackupError(str(exc)) from None
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupError(f"The backup's archive cannot be read ({exc}); the file is damaged.") from None
    if manifest_bytes is None:
        raise BackupError("The backup has no manifest; it is incomplete and is not restored.")
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError:
        raise BackupError("The backup's manifest is not valid JSON; it is not restored.") from None
    if manifest.get("format") != FORMAT:
        raise BackupError("The backup's manifest is not a clinicdesk manifest; it is not restored.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"The backup has format version {manifest.get('format_version')}; this clinicdesk restores "
                          f"version {FORMAT_VERSION} (restore it with the clinicdesk release that made it).")
    listed = manifest.get("members") or {}
    for name, expected in sorted(listed.items()):
        got = found.get(name)
        if got is None:
            raise BackupError(f"The backup's manifest lists {name}, which is missing from the file.")
        if got != {"sha256": expected.get("sha256"), "size": expected.get("size")}:
            raise BackupError(f"{name} does not match its checksum in the manifest; the backup is damaged.")
    extra = sorted(set(found) - set(listed))
    if extra:
        raise BackupError(f"The backup holds {extra[0]}, which its manifest does not list; it is not restored.")
    database_member = (manifest.get("database") or {}).get("member")
    if database_member not in listed:
        raise BackupError("The backup's manifest names no database; it is not restored.")
    documents = sorted(n.removeprefix(MEDIA_PREFIX) for n in listed if n.startswith(MEDIA_PREFIX))
    return OpenedBackup(folder=folder, manifest=manifest, database=folder / database_member, documents=documents)


# --- restore --------------------------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    manifest: dict
    documents: int
    row_counts_match: bool
    row_count_differences: dict[str, tuple[int, int]]
    checks: list[IntegrityResult]
    migrations_to_apply: list[str]

    @property
    def ok(self) -> bool:
        """Nothing failed: every row count matches and no check found a fault (a check not run is no fault)."""
        return self.row_counts_match and all(c.ok is not False for c in self.checks)


def database_tables(connection) -> list[str]:
    with connection.cursor() as cursor:
        return connection.introspection.table_names(cursor)


def _refuse_unless_empty(connection) -> None:
    name = connection.settings_dict.get("NAME")
    if connection.vendor == "sqlite" and not sqlite_path(connection).parent.is_dir():
        raise BackupError(f"The folder of the database file {name} does not exist; create it first.")
    try:
        tables = database_tables(connection)
    except DatabaseError as exc:
        raise BackupError(f"Cannot reach the database {name}: {str(exc).strip()}.") from None
    if tables:
        shown = ", ".join(tables[:3]) + (" ..." if len(tables) > 3 else "")
        raise BackupError(
            f"The database {name} is not empty ({len(tables)} tables, e.g. {shown}); restore only into an empty "
            "database. Create a new one (PostgreSQL: createdb; SQLite: a new SQLITE_PATH) and point the settings at it.")


def _migrations_check(manifest: dict) -> list[str]:
    """Refuse a backup from a newer clinicdesk; return the migrations this code has that the backup lacks."""
    on_disk = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    in_backup = {(app, name) for app, names in (manifest.get("migrations") or {}).items() for name in names}
    ours = {app for app, _ in on_disk}
    unknown = sorted(m for m in in_backup - on_disk if m[0] in ours)
    if unknown:
        app, name = unknown[0]
        raise BackupError(f"The backup was made by a newer clinicdesk: migration {app}.{name} (and {len(unknown) - 1} "
                          "more) is not in this code. Upgrade clinicdesk first, then restore.")
    return sorted(f"{app}.{name}" for app, name in on_disk - in_backup)


def _storage_conflicts(opened: OpenedBackup, storage: Storage) -> list[str]:
    """Documents already in storage under a backed-up name with other bytes (the same bytes are left as they are)."""
    conflicts = []
    for name in opened.documents:
        if storage.exists(name):
            with storage.open(name, "rb") as current:
                digest = hashlib.file_digest(current, "sha256").hexdigest()
            if digest != opened.manifest["members"][MEDIA_PREFIX + name]["sha256"]:
                conflicts.append(name)
    return conflicts


def _documents_write(opened: OpenedBackup, storage: Storage) -> list[str]:
    """Save the documents not already in storage; returns the names written, for undoing on failure."""
    written = []
    try:
        for name in opened.documents:
            if storage.exists(name):
                continue
            with (opened.folder / (MEDIA_PREFIX + name)).open("rb") as content:
                saved = storage.save(name, File(content, name=name))
            written.append(saved)
            if saved != name:
                raise BackupError(f"The storage saved {name} as {saved}; documents must keep their names.")
    except BaseException:
        _documents_remove(written, storage)
        raise
    return written


def _documents_remove(names: list[str], storage: Storage) -> None:
    for name in names:
        storage.delete(name)


def _sqlite_restore(opened: OpenedBackup, connection) -> None:
    """The snapshot copied into the target file with the backup API: one transaction on the target."""
    target_path = sqlite_path(connection)
    connection.close()
    source = sqlite3.connect(f"file:{opened.database}?mode=ro", uri=True)
    target = sqlite3.connect(target_path, timeout=20)
    try:
        # Checked again on the connection that writes: nothing may have appeared since the first check.
        if target.execute("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()[0]:
            raise BackupError(f"The database {target_path} is no longer empty; nothing was restored.")
        source.backup(target)
    finally:
        target.close()
        source.close()


def _pg_restore(opened: OpenedBackup, connection) -> None:
    """pg_restore in one transaction: any error rolls the whole database back to empty."""
    pg_restore = pg_tool("pg_restore")
    env = pg_environment(connection)
    connection.close()
    run_tool([pg_restore, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", "--no-password",
              f"--dbname={env.get('PGDATABASE', '')}", str(opened.database)], env, "pg_restore")


def backup_restore(*, source: str | Path, secret: bytes, using: str = DEFAULT_DB_ALIAS,
                   storage: Storage | None = None, workdir: str | Path | None = None,
                   progress: Callable[[str], None] | None = None) -> RestoreReport:
    """Restore a backup into the empty database `using` and into `storage`; check the result.

    Nothing is written until the whole file has been read back and checked; a failure while writing leaves the
    database empty and removes the documents written for it.
    """
    say = progress or (lambda message: None)
    storage = storage or default_storage
    connection = connections[using]
    _refuse_unless_empty(connection)
    with tempfile.TemporaryDirectory(prefix="clinicdesk-restore-", dir=workdir) as scratch:
        opened = backup_open(source=source, secret=secret, folder=Path(scratch))
        manifest = opened.manifest
        say(f"Backup of {manifest['created_at']} read and checked: the key, every chunk and {len(manifest['members'])} "
            "checksums.")
        vendor = manifest["database"]["vendor"]
        if vendor != connection.vendor:
            raise BackupError(f"This is a {vendor} backup; the database in the settings is {connection.vendor}. "
                              f"Restore it into a {vendor} database.")
        to_apply = _migrations_check(manifest)
        conflicts = _storage_conflicts(opened, storage)
        if conflicts:
            raise BackupError(f"The storage already holds {conflicts[0]} with other content ({len(conflicts)} "
                              "documents in all); restore into empty storage (a new MEDIA_ROOT).")
        _refuse_unless_empty(connection)
        written = _documents_write(opened, storage)
        try:
            if vendor == "postgresql":
                _pg_restore(opened, connection)
            else:
                _sqlite_restore(opened, connection)
        except BaseException:
            _documents_remove(written, storage)
            raise
        say(f"Database restored; {len(opened.documents)} documents in storage ({len(written)} written).")
    say("Checking the row counts and then: " + ", ".join(sorted(_CHECKS)) + ".")
    with connection.cursor() as cursor:
        counts = row_counts(cursor, connection.vendor)
    expected = manifest["row_counts"]
    differences = {t: (expected.get(t, 0), counts.get(t, 0)) for t in sorted(set(expected) | set(counts))
                   if expected.get(t, 0) != counts.get(t, 0)}
    if to_apply:
        # The checks read through this release's models, which expect the migrations to have run.
        checks = [IntegrityResult(name=name, ok=None, detail="not run: the database needs `manage.py migrate` first "
                                  "(then run `manage.py audit_verify`)") for name in sorted(_CHECKS)]
    else:
        checks = integrity_checks()
    audit_event(action="backup.restored", channel=AuditChannel.SYSTEM, actor_label="manage.py restore",
                summary=f"Restored from the backup of {manifest['created_at']}",
                changes={"created_at": manifest["created_at"], "documents": len(opened.documents),
                         "checks": {c.name: c.ok for c in checks}, "row_counts_match": not differences})
    return RestoreReport(manifest=manifest, documents=len(opened.documents), row_counts_match=not differences,
                         row_count_differences=differences, checks=checks, migrations_to_apply=to_apply)
