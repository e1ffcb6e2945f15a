"""Backup and restore: a practice backed up, restored into a new empty database and storage, and compared.

The backup is taken in this process from the test database. Each restore runs `manage.py restore` in a child
process whose settings point at a database and a media folder made for the test (a new SQLite file, or a new
PostgreSQL database that is dropped afterwards), so the developer's own database is never touched.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from clinicdesk.core.audit import audit_event, audit_seal, audit_verify
from clinicdesk.core.backup import BackupError, backup_create, row_counts
from clinicdesk.core.backup_stream import CHUNK_SIZE, HEADER_SIZE, TAG_SIZE, EncryptingWriter
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.restore import backup_open, backup_restore
from clinicdesk.ledger.reports import books_integrity
from clinicdesk.ledger.tests.books import charge, credit, pay
from clinicdesk.patients.tests.factories import PNG_BYTES, DocumentFactory, PatientFactory

KEY = b"riverside-backup-key-for-tests-only"
MANAGE = Path(settings.BASE_DIR) / "manage.py"
# What the checks compare across the two databases, in SQL both engines run alike.
BALANCES_SQL = ("SELECT account_id, SUM(amount) FROM ledger_journalline GROUP BY account_id ORDER BY account_id")
AUDIT_SQL = "SELECT id, action, summary FROM core_auditevent ORDER BY id"
AUDIT_TABLES = {"core_auditevent", "core_auditseal"}
# The restore's own audit rows ask the task worker for a seal: the task queue may hold that request too.
GROWS_ON_RESTORE = AUDIT_TABLES | {"django_tasks_database_dbtaskresult"}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media(settings, tmp_path):
    location = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}},
    }
    return location


@pytest.fixture
def practice(org, make_user, media):
    """A small practice in the demo's shape: patients, a stored document, posted charges and payments, audit rows."""
    biller = make_user(Role.BILLER, username="biller1")
    patients = PatientFactory.create_batch(3, organization=org)
    first = charge(org, patients[0], "125.00", service_date=date(2026, 3, 2))
    pay(org, first, "100.00", on=date(2026, 3, 9))
    charge(org, patients[1], "80.50", service_date=date(2026, 3, 3), payer="Blue Shield")
    credit(org, patients[2], "20.00", on=date(2026, 3, 4))
    documents = [DocumentFactory(patient=patients[0]),
                 DocumentFactory(patient=patients[1], file__filename="card.png", file__data=PNG_BYTES)]
    for patient in patients:
        audit_event(action="patient.viewed", actor=biller, target=patient)
    audit_seal(look_back=None)
    return {"patients": patients, "documents": documents}


def _balances(cursor) -> list[tuple[int, Decimal]]:
    cursor.execute(BALANCES_SQL)
    return [(account, Decimal(str(total)).quantize(Decimal("0.01"))) for account, total in cursor.fetchall()]


def _audit_rows(cursor) -> list[tuple]:
    cursor.execute(AUDIT_SQL)
    return list(cursor.fetchall())


def _state_of(cursor, vendor: str) -> dict:
    return {"counts": row_counts(cursor, vendor), "balances": _balances(cursor), "audit": _audit_rows(cursor)}


def _source_state() -> dict:
    with connection.cursor() as cursor:
        return _state_of(cursor, connection.vendor)


def _restore(source: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    child = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "MEDIA_ROOT"}}
    child.update({"CLINICDESK_TESTING": "1", "BACKUP_KEY": KEY.decode(), **env})
    command = [sys.executable, str(MANAGE), "restore", str(source), *extra]
    return subprocess.run(command, env=child, cwd=settings.BASE_DIR, capture_output=True, text=True,  # noqa: S603
                          timeout=600, check=False)


def _sqlite_target(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    target = tmp_path / "restored"
    target.mkdir()
    env = {"SQLITE_PATH": str(target / "clinicdesk.sqlite3"), "MEDIA_ROOT": str(target / "media"),
           "CLINICDESK_VAR_DIR": str(target)}
    return env, target / "clinicdesk.sqlite3", target / "media"


def _assert_same_practice(before: dict, after: dict, practice: dict, restored_media: Path) -> None:
    # then every table holds what it held at the backup; the audit trail adds only the restore's own rows after it
    for table, count in before["counts"].items():
        if table in GROWS_ON_RESTORE:
            assert after["counts"][table] >= count, table
        else:
            assert after["counts"][table] == count, table
    assert set(after["counts"]) == set(before["counts"])
    assert after["balances"] == before["balances"]
    assert after["balances"], "the practice posted entries, so accounts have balances"
    assert after["audit"][: len(before["audit"])] == before["audit"]
    assert [row[1] for row in after["audit"][len(before["audit"]):]][-1] == "backup.restored"
    for document in practice["documents"]:
        with default_storage.open(document.file.name, "rb") as original:
            assert (restored_media / document.file.name).read_bytes() == original.read()


def _nothing_written(database: Path, media: Path) -> None:
    if database.exists():
        with sqlite3.connect(database) as db:
            assert db.execute("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()[0] == 0
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


# --- the round trip -------------------------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite round trip; the PostgreSQL one is below")
def test_sqlite_backup_restores_into_an_empty_database_with_the_same_rows_books_audit_chain_and_documents(
        practice, tmp_path):
    # given a backup of the practice
    before = _source_state()
    backup = backup_create(output=tmp_path / "practice.cdbackup", secret=KEY)
    assert backup.manifest["row_counts"] == before["counts"]
    env, database, restored_media = _sqlite_target(tmp_path)

    # when it is restored into a new database file and media folder
    done = _restore(backup.path, env)

    # then the command reports every check passed, and the new database matches the old one
    assert done.returncode == 0, done.stderr
    assert "Row counts: all" in done.stdout
    assert "Ledger: OK, balanced" in done.stdout
    assert "Audit chain: OK, intact" in done.stdout
    with sqlite3.connect(database) as db:
        after = _state_of(db.cursor(), "sqlite")
    _assert_same_practice(before, after, practice, restored_media)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="the PostgreSQL round trip needs DATABASE_URL=postgres://… (pg_dump and pg_restore)")
def test_postgresql_backup_restores_into_a_new_database_with_the_same_rows_books_audit_chain_and_documents(
        practice, tmp_path):
    import psycopg

    before = _source_state()
    backup = backup_create(output=tmp_path / "practice.cdbackup", secret=KEY)
    assert backup.manifest["database"]["vendor"] == "postgresql"
    assert backup.manifest["row_counts"] == before["counts"]
    params = connection.settings_dict
    name = f"cd_backup_restore_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        user = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
        url = f"postgres://{user}@{params['HOST'] or 'localhost'}:{params['PORT'] or 5432}/{name}"
        restored_media = tmp_path / "restored-media"

        done = _restore(backup.path, {"DATABASE_URL": url, "MEDIA_ROOT": str(restored_media),
                                      "CLINICDESK_VAR_DIR": str(tmp_path / "var")})

        assert done.returncode == 0, done.stderr
        assert "Ledger: OK, balanced" in done.stdout
        assert "Audit chain: OK, intact" in done.stdout
        with psycopg.connect(url) as restored, restored.cursor() as cursor:
            after = _state_of(cursor, "postgresql")
        _assert_same_practice(before, after, practice, restored_media)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- a damaged file, a wrong key: nothing is written -----------------------------------------------------------


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[HEADER_SIZE + (len(data) - HEADER_SIZE) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the restore command's refusals are the same on both "
                                                           "engines; they run once, on SQLite")
@pytest.mark.parametrize(("damage", "key", "message"), [
    (None, "a-different-key-of-enough-length", "wrong key"),
    (_flip_a_byte, None, "is damaged"),
    (_cut_short, None, "cut short"),
], ids=["wrong key", "corrupted byte", "truncated file"])
def test_restore_refuses_a_wrong_key_or_a_damaged_file_and_writes_nothing(practice, tmp_path, damage, key, message):
    backup = backup_create(output=tmp_path / "practice.cdbackup", secret=KEY)
    if damage:
        damage(backup.path)
    env, database, restored_media = _sqlite_target(tmp_path)
    if key:
        env["BACKUP_KEY"] = key

    done = _restore(backup.path, env)

    assert done.returncode != 0
    assert message in done.stderr
    assert "Nothing was restored." in done.stderr
    assert "Traceback" not in done.stderr
    _nothing_written(database, restored_media)


def test_restore_refuses_a_database_that_is_not_empty_and_leaves_it_and_the_storage_as_they_were(practice, tmp_path):
    backup = backup_create(output=tmp_path / "practice.cdbackup", secret=KEY)
    before = _source_state()
    stored_before = sorted(p.relative_to(settings.STORAGES["default"]["OPTIONS"]["location"])
                           for p in Path(settings.STORAGES["default"]["OPTIONS"]["location"]).rglob("*"))

    with pytest.raises(BackupError, match="is not empty"):
        backup_restore(source=backup.path, secret=KEY)

    assert _source_state() == before
    assert sorted(p.relative_to(settings.STORAGES["default"]["OPTIONS"]["location"])
                  for p in Path(settings.STORAGES["default"]["OPTIONS"]["location"]).rglob("*")) == stored_before


# --- reading a backup back --------------------------------------------------------------------------------------


def test_a_backup_holds_a_manifest_with_migrations_row_counts_and_a_checksum_per_member(practice, tmp_path):
    backup = backup_create(output=tmp_path / "practice.cdbackup", secret=KEY)

    opened = backup_open(source=backup.path, secret=KEY, folder=tmp_path / "opened")

    manifest = opened.manifest
    assert manifest["format_version"] == 1
    assert manifest["database"]["vendor"] == connection.vendor
    assert "0001_initial" in manifest["migrations"]["core"]
    assert manifest["row_counts"]["patients_patient"] == 3
    assert manifest["documents"] == 2
    assert sorted(opened.documents) == sorted(d.file.name for d in practice["documents"])
    assert all(len(member["sha256"]) == 64 for member in manifest["members"].values())
    # and the file is encrypted: no patient's name or document bytes appear in it
    raw = backup.path.read_bytes()
    assert practice["patients"][0].last_name.encode() not in raw
    assert PNG_BYTES[8:24] not in raw
    assert os.stat(backup.path).st_mode & 0o077 == 0


def test_the_backup_is_recorded_in_the_audit_trail(practice, tmp_path):
    backup_create(output=tmp_path / "practice.cdbackup", secret=KEY)

    event = AuditEvent.objects.get(action="backup.created")
    assert "2 documents" in event.summary
    assert event.changes["documents"] == 2


def test_verify_only_checks_the_whole_file_without_touching_any_database(practice, tmp_path, capsys):
    backup = backup_create(output=tmp_path / "practice.cdbackup", secret=KEY)
    events = AuditEvent.objects.count()

    call_command("restore", str(backup.path), "--verify-only", key_file=_key_file(tmp_path))

    assert "is intact" in capsys.readouterr().out
    assert AuditEvent.objects.count() == events
    _cut_short(backup.path)
    with pytest.raises(CommandError, match="cut short"):
        call_command("restore", str(backup.path), "--verify-only", key_file=_key_file(tmp_path))


def _key_file(tmp_path: Path) -> str:
    path = tmp_path / "backup.key"
    path.write_bytes(KEY + b"\n")
    return str(path)


def test_a_large_database_member_spans_many_chunks_and_reads_back_byte_for_byte(practice, tmp_path):
    # given a stored document larger than two encryption chunks (random bytes: gzip cannot shrink them)
    big = os.urandom(2 * CHUNK_SIZE + 12345)
    default_storage.save("scans/big.bin", ContentFile(big))
    backup = backup_create(output=tmp_path / "practice.cdbackup", secret=KEY)
    assert backup.size > 2 * (CHUNK_SIZE + TAG_SIZE)

    opened = backup_open(source=backup.path, secret=KEY, folder=tmp_path / "opened")

    assert (opened.folder / "media" / "scans" / "big.bin").read_bytes() == big


def test_backup_refuses_a_missing_or_short_key_and_an_existing_file(practice, tmp_path, settings):
    settings.BACKUP_KEY = ""
    with pytest.raises(CommandError, match="BACKUP_KEY"):
        call_command("backup", str(tmp_path))
    settings.BACKUP_KEY = "short"
    with pytest.raises(CommandError, match="too short"):
        call_command("backup", str(tmp_path))
    existing = tmp_path / "taken.cdbackup"
    existing.write_bytes(b"keep me")
    settings.BACKUP_KEY = KEY.decode()
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", str(existing))
    assert existing.read_bytes() == b"keep me"
    assert not list(tmp_path.glob("*.partial"))


def test_backup_into_a_folder_keeps_the_newest_backups_only(practice, tmp_path, settings, capsys):
    settings.BACKUP_KEY = KEY.decode()
    folder = tmp_path / "backups"
    folder.mkdir()
    for old in ("clinicdesk-20260101T000000Z.cdbackup", "clinicdesk-20260102T000000Z.cdbackup"):
        (folder / old).write_bytes(b"old")

    call_command("backup", str(folder), keep=2)

    kept = sorted(p.name for p in folder.iterdir())
    assert len(kept) == 2
    assert kept[0] == "clinicdesk-20260102T000000Z.cdbackup"
    assert "Backup written" in capsys.readouterr().out


def test_the_books_and_the_audit_chain_of_the_practice_verify(practice):
    ok, detail = books_integrity()
    assert ok, detail
    assert "4 posted entries" in detail
    assert audit_verify()[1] is None


def _crafted(path: Path, members: dict[str, bytes], manifest: dict) -> Path:
    """A file in the backup format, made with the right key, holding exactly these members and this manifest."""
    with path.open("wb") as raw:
        writer = EncryptingWriter(raw, KEY)
        with tarfile.open(fileobj=writer, mode="w|gz") as archive:
            for name, data in [*members.items(), ("manifest.json", json.dumps(manifest).encode())]:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        writer.close()
    return path


def _manifest_for(members: dict[str, bytes]) -> dict:
    return {"format": "clinicdesk-backup", "format_version": 1, "created_at": "2026-11-28T02:00:00+00:00",
            "database": {"vendor": "sqlite", "member": "database.sqlite3"}, "migrations": {}, "row_counts": {},
            "documents": 0,
            "members": {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in members.items()}}


@pytest.mark.parametrize(("members", "listed", "message"), [
    ({"database.sqlite3": b"db", "../outside.txt": b"x"}, None, "unexpected entry '../outside.txt'"),
    ({"database.sqlite3": b"db", "media/a.pdf": b"pdf"}, {"database.sqlite3": b"db"}, "which its manifest does not list"),
    ({"database.sqlite3": b"db"}, {"database.sqlite3": b"db", "media/a.pdf": b"pdf"}, "missing from the file"),
    ({"database.sqlite3": b"db", "media/a.pdf": b"changed"}, {"database.sqlite3": b"db", "media/a.pdf": b"pdf"},
     "media/a.pdf does not match its checksum"),
], ids=["path outside the folder", "member not in the manifest", "member missing", "checksum differs"])
def test_a_backup_is_refused_unless_its_members_are_exactly_those_the_manifest_lists(tmp_path, members, listed,
                                                                                     message):
    # given a file with the right key whose contents disagree with its manifest
    source = _crafted(tmp_path / "crafted.cdbackup", members, _manifest_for(listed or members))
    folder = tmp_path / "opened"
    folder.mkdir()

    with pytest.raises(BackupError, match=re.escape(message)):
        backup_open(source=source, secret=KEY, folder=folder)

    assert not (tmp_path / "outside.txt").exists()
