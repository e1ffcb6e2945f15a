"""The parallel workers' test databases are copies of one migrated template: a copy keeps every database object
(triggers included), replaces a database left over from an earlier run, and the worker's database has the
template's schema."""

import os
import sqlite3
from pathlib import Path

import pytest
from django.db import connection

from tests.database_template import ENV, WORKER, _copy_postgresql, _copy_sqlite

APPEND_ONLY = """
CREATE TABLE entry (id INTEGER PRIMARY KEY, amount TEXT NOT NULL);
CREATE TRIGGER entry_append_only BEFORE DELETE ON entry BEGIN SELECT RAISE(ABORT, 'entries are final'); END;
CREATE INDEX entry_amount ON entry (amount);
INSERT INTO entry (amount) VALUES ('12.50');
"""


def _schema(path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()


def test_a_sqlite_copy_keeps_triggers_indexes_and_rows_still_in_the_write_ahead_log(tmp_path):
    # given a template in WAL mode whose last writes are still in the log (a connection holds it open)
    template = tmp_path / "template.sqlite3"
    writer = sqlite3.connect(template)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.executescript(APPEND_ONLY)
    writer.commit()
    assert Path(f"{template}-wal").stat().st_size > 0
    # and a stale database where the copy goes, with a log of its own
    target = tmp_path / "worker" / "test.sqlite3_gw0"
    target.parent.mkdir()
    with sqlite3.connect(target) as stale:
        stale.execute("CREATE TABLE leftover (id INTEGER)")
    Path(f"{target}-wal").write_bytes(b"not a log of the copy")

    _copy_sqlite(str(template), str(target))
    writer.close()

    assert not Path(f"{target}-wal").exists()
    assert _schema(target) == _schema(template)
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("SELECT amount FROM entry").fetchall() == [("12.50",)]
        with pytest.raises(sqlite3.IntegrityError, match="entries are final"):
            copy.execute("DELETE FROM entry")
    finally:
        copy.close()


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_postgresql_copy_keeps_the_template_triggers():
    if connection.vendor != "postgresql":
        pytest.skip("copies with CREATE DATABASE ... TEMPLATE on PostgreSQL only (set DATABASE_URL=postgres://…)")
    import psycopg

    creation = connection.creation
    base = connection.settings_dict["NAME"]
    template, target = f"{base}_tpl_check", f"{base}_tpl_check_copy"
    params = {**connection.get_connection_params(), "autocommit": True}
    params.pop("cursor_factory", None)
    params.pop("context", None)
    try:
        with creation._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {template}")
            cursor.execute(f"CREATE DATABASE {template}")
        with psycopg.connect(**{**params, "dbname": template}) as db:
            db.execute("CREATE TABLE entry (id serial PRIMARY KEY, amount numeric NOT NULL)")
            db.execute("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN RAISE EXCEPTION 'entries are final'; END $$")
            db.execute("CREATE TRIGGER entry_append_only BEFORE DELETE ON entry FOR EACH ROW EXECUTE FUNCTION refuse()")
            db.execute("INSERT INTO entry (amount) VALUES (12.50)")
        # twice: the second copy replaces the first
        _copy_postgresql(creation, template, target)
        _copy_postgresql(creation, template, target)
        with psycopg.connect(**{**params, "dbname": target}) as db:
            assert db.execute("SELECT amount::text FROM entry").fetchall() == [("12.50",)]
            with pytest.raises(psycopg.errors.RaiseException, match="entries are final"):
                db.execute("DELETE FROM entry")
    finally:
        with creation._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {target}")
            cursor.execute(f"DROP DATABASE IF EXISTS {template}")


@pytest.mark.django_db
def test_a_parallel_worker_tests_against_a_copy_of_the_migrated_template():
    if not (WORKER and os.environ.get(ENV)):
        pytest.skip("runs in a parallel worker (`make test`, pytest -n 2): in one process the database is migrated")
    run_dir = Path(os.environ[ENV])
    built = run_dir / f"{connection.alias}.built"
    assert built.exists()
    template = built.read_text()
    assert template != connection.settings_dict["NAME"]
    tables = set(connection.introspection.table_names())
    assert {"django_migrations", "ledger_journalentry", "scheduling_appointment"} <= tables
    if connection.vendor == "sqlite":
        assert _schema(template) == _schema(connection.settings_dict["NAME"])
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname = %s", [template])
            assert cursor.fetchone() == (template,)
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")
            assert cursor.fetchone()[0] > 0
