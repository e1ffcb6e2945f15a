"""Backups of the whole practice: the database and the stored documents in one encrypted file.

`backup_create` takes a consistent snapshot of the database (pg_dump inside an exported snapshot on PostgreSQL,
SQLite's online backup API otherwise; both safe while the practice keeps working), then the documents in
storage, and writes them as a gzip'd tar with a manifest (format version, time, database vendor, applied
migrations, row counts per table, SHA-256 of every member) through the encrypted envelope of `backup_stream`.
`restore.py` reads such a file back. docs/backup.md is the operator's guide and the file format.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess  # noqa: S404  (pg_dump and pg_restore, called with argument lists)
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .audit import audit_event
from .backup_stream import EncryptingWriter, secret_check
from .choices import AuditChannel

FORMAT = "clinicdesk-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEDIA_PREFIX = "media/"
DATABASE_MEMBERS = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
# Bytes read from a document or written to the archive at a time.
COPY_BLOCK = 1024 * 1024
# gzip level of the archive: 6 is zlib's own default; 9 (tarfile's) costs twice the time for a few per cent.
GZIP_LEVEL = 6


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do. Nothing was written."""


# --- the key --------------------------------------------------------------------------------------------------


def backup_key_read(*, key_file: str | Path | None = None) -> bytes:
    """The secret from `key_file`, else from the BACKUP_KEY setting (the environment variable of the same name)."""
    if key_file:
        try:
            secret = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise BackupError(f"Cannot read the key file {key_file}: {exc.strerror or exc}.") from None
        if not secret:
            raise BackupError(f"The key file {key_file} is empty.")
        return secret
    secret = (getattr(settings, "BACKUP_KEY", "") or "").strip()
    if not secret:
        raise BackupError("No backup key: set the BACKUP_KEY environment variable or pass --key-file PATH.")
    return secret.encode()


# --- the snapshot ---------------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    path: Path
    vendor: str
    server_version: str
    migrations: dict[str, list[str]]
    row_counts: dict[str, int]


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_migrations(db: sqlite3.Connection) -> dict[str, list[str]]:
    rows = db.execute("SELECT app, name FROM django_migrations ORDER BY app, name").fetchall()
    applied: dict[str, list[str]] = {}
    for app, name in rows:
        applied.setdefault(app, []).append(name)
    return applied


# The tables counted in the manifest and again after a restore: the same query on both sides.
TABLES_SQL = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    "postgresql": "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname",
}


def row_counts(cursor, vendor: str) -> dict[str, int]:
    """Rows in every table of the database's schema, by table name (a DB-API cursor)."""
    cursor.execute(TABLES_SQL[vendor])
    counts = {}
    for (table,) in cursor.fetchall():
        cursor.execute(f"SELECT count(*) FROM {quote_name(table)}")  # noqa: S608  (names from the catalog)
        counts[table] = cursor.fetchone()[0]
    return counts


def sqlite_path(connection) -> Path:
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or "mode=memory" in name:
        raise BackupError("The database is in memory; there is no file to back up or restore into.")
    return Path(name)


def _sqlite_snapshot(connection, workdir: Path) -> Snapshot:
    """SQLite's online backup API, all pages in one step: a consistent copy while the practice keeps writing (WAL)."""
    source_path = sqlite_path(connection)
    if not source_path.exists():
        raise BackupError(f"The database file {source_path} does not exist.")
    target = workdir / DATABASE_MEMBERS["sqlite"]
    source = sqlite3.connect(source_path, timeout=20)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        # One self-contained file: no write-ahead log beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        snapshot = Snapshot(path=target, vendor="sqlite", server_version=sqlite3.sqlite_version,
                            migrations=_sqlite_migrations(copy), row_counts=row_counts(copy.cursor(), "sqlite"))
    finally:
        copy.close()
        source.close()
    return snapshot


def pg_environment(connection) -> dict[str, str]:
    """libpq's environment for pg_dump and pg_restore: the password never appears on a command line."""
    params = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    pairs = {"PGDATABASE": params.get("NAME"), "PGUSER": params.get("USER"), "PGPASSWORD": params.get("PASSWORD"),
             "PGHOST": params.get("HOST"), "PGPORT": params.get("PORT")}
    options = params.get("OPTIONS") or {}
    for option, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT"), ("sslcert", "PGSSLCERT"),
                             ("sslkey", "PGSSLKEY"), ("service", "PGSERVICE"), ("passfile", "PGPASSFILE")):
        pairs[variable] = options.get(option)
    env.update({k: str(v) for k, v in pairs.items() if v not in (None, "")})
    return env


def pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client tools (Debian: "
                          "postgresql-client, of the server's major version or newer; `make system-deps` does it).")
    return path


def run_tool(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip() or done.returncode}")


def _pg_snapshot(connection, workdir: Path) -> Snapshot:
    """pg_dump (custom format) of a snapshot exported from a read-only REPEATABLE READ transaction, in which the
    row counts and the migration state are read too, so all three describe the same moment."""
    pg_dump = pg_tool("pg_dump")
    target = workdir / DATABASE_MEMBERS["postgresql"]
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        raw.autocommit = True
        with raw.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot_id, server_version = cursor.fetchone()
            counts = row_counts(cursor, "postgresql")
            migrations: dict[str, list[str]] = {}
            if "django_migrations" in counts:
                cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
                for app, name in cursor.fetchall():
                    migrations.setdefault(app, []).append(name)
            # Uncompressed: the archive around it is gzip'd once, and compressing twice only costs time.
            run_tool([pg_dump, "--format=custom", "--compress=0", f"--snapshot={snapshot_id}", "--no-password",
                  f"--file={target}"], pg_environment(connection), "pg_dump")
            cursor.execute("COMMIT")
    finally:
        raw.close()
    return Snapshot(path=target, vendor="postgresql", server_version=server_version, migrations=migrations,
                    row_counts=counts)


def _snapshot(connection, workdir: Path) -> Snapshot:
    try:
        if connection.vendor == "postgresql":
            return _pg_snapshot(connection, workdir)
        if connection.vendor == "sqlite":
            return _sqlite_snapshot(connection, workdir)
    except (DatabaseError, sqlite3.Error, connection.Database.Error) as exc:
        raise BackupError(f"Cannot read the database {connection.settings_dict.get('NAME')}: "
                          f"{str(exc).strip()}.") from None
    raise BackupError(f"Backups support PostgreSQL and SQLite, not {connection.vendor}.")


# --- documents in storage -------------------------------------------------------------------------------------


def stored_files(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every file's name in the storage, folder by folder, in name order."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for name in sorted(folders):
        yield from stored_files(storage, f"{folder}/{name}" if folder else name)


class _Hashing(io.RawIOBase):
    """Reads through to `source` and hashes what passes."""

    def __init__(self, source):
        self._source = source
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


# --- backup ---------------------------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    size: int


def _add(archive: tarfile.TarFile, name: str, source, size: int, mtime: float) -> dict:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(mtime)
    info.mode = 0o600
    hashing = _Hashing(source)
    archive.addfile(info, hashing)
    if hashing.size != size:
        raise BackupError(f"{name} changed size while it was being backed up; run the backup again.")
    return {"sha256": hashing.sha256.hexdigest(), "size": size}


def backup_create(*, output: str | Path, secret: bytes, using: str = DEFAULT_DB_ALIAS,
                  storage: Storage | None = None, workdir: str | Path | None = None) -> BackupResult:
    """Write an encrypted backup of the database and the stored documents to `output` (a new file).

    The database snapshot comes first, then the documents, so every document a row of the snapshot names is in the
    file (documents are never changed in place). The file appears under its name only once complete.
    """
    secret_check(secret)
    storage = storage or default_storage
    connection = connections[using]
    output = Path(output)
    if output.exists():
        raise BackupError(f"{output} already exists; choose a new file name (backups never overwrite one another).")
    if not output.parent.is_dir():
        raise BackupError(f"The folder {output.parent} does not exist.")
    partial = output.with_name(output.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="clinicdesk-backup-", dir=workdir) as scratch:
        taken_at = datetime.now(UTC)
        snapshot = _snapshot(connection, Path(scratch))
        members: dict[str, dict] = {}
        # Owner-only from the start: the file holds every patient's chart, however well encrypted.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw:
                writer = EncryptingWriter(raw, secret)
                with tarfile.open(fileobj=writer, mode="w|gz", compresslevel=GZIP_LEVEL,
                                  format=tarfile.PAX_FORMAT) as archive:
                    with snapshot.path.open("rb") as database:
                        members[snapshot.path.name] = _add(archive, snapshot.path.name, database,
                                                           snapshot.path.stat().st_size, snapshot.path.stat().st_mtime)
                    documents = 0
                    for name in stored_files(storage):
                        with storage.open(name, "rb") as document:
                            members[MEDIA_PREFIX + name] = _add(archive, MEDIA_PREFIX + name, document,
                                                                storage.size(name), datetime.now(UTC).timestamp())
                        documents += 1
                    manifest = {
                        "format": FORMAT,
                        "format_version": FORMAT_VERSION,
                        "created_at": taken_at.isoformat(timespec="seconds"),
                        "database": {"vendor": snapshot.vendor, "server_version": snapshot.server_version,
                                     "member": snapshot.path.name},
                        "migrations": snapshot.migrations,
                        "row_counts": snapshot.row_counts,
                        "documents": documents,
                        "members": members,
                    }
                    body = json.dumps(manifest, indent=1, sort_keys=True).encode()
                    info = tarfile.TarInfo(MANIFEST)
                    info.size = len(body)
                    info.mtime = int(datetime.now(UTC).timestamp())
                    info.mode = 0o600
                    archive.addfile(info, io.BytesIO(body))
                writer.close()
                raw.flush()
                os.fsync(raw.fileno())
            partial.rename(output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    audit_event(action="backup.created", channel=AuditChannel.SYSTEM, actor_label="manage.py backup",
                summary=f"Backup of the database ({sum(snapshot.row_counts.values())} rows) and {documents} documents",
                changes={"file": output.name, "documents": documents})
    return BackupResult(path=output, manifest=manifest, size=output.stat().st_size)
