"""Parallel test workers (pytest-xdist) share one migrated test database: the first worker to need a database runs
every migration into a template, and each worker then copies the template into its own test database
(`CREATE DATABASE ... TEMPLATE` on PostgreSQL, SQLite's online backup on SQLite).

Migrating a fresh database costs well over a minute of CPU (Django renders the model states again and again over
some 110 migrations), and every worker used to do it. The schema is still the one the migrations make, triggers,
exclusion constraints and RunSQL objects included: the template is built by the same `migrate` as before, once per
run, and copied as it is. With one process (`-n 0`) or `--reuse-db`, pytest-django creates the database as usual.

The controller makes a directory for the run (its path reaches the workers in CLINICDESK_TEST_TEMPLATE_DIR); a lock
file there lets one worker build while the others wait, and the controller removes the template at the end.
Loaded with `-p tests.database_template` (pyproject addopts).
"""

import fcntl
import os
import shutil
import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path

ENV = "CLINICDESK_TEST_TEMPLATE_DIR"
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_created_here: list[str] = []


def pytest_configure(config):
    if WORKER:
        if os.environ.get(ENV):
            _install(Path(os.environ[ENV]))
    elif getattr(config.option, "numprocesses", None) and not os.environ.get(ENV):
        # The controller of a parallel run; the workers it starts inherit the directory through the environment.
        run_dir = tempfile.mkdtemp(prefix="clinicdesk-test-template-")
        os.environ[ENV] = run_dir
        _created_here.append(run_dir)


def pytest_unconfigure(config):
    if WORKER or not _created_here:
        return
    run_dir = Path(_created_here.pop())
    os.environ.pop(ENV, None)
    try:
        for record in sorted(run_dir.glob("*.postgresql")):
            _drop_postgresql_template(config, alias=record.stem, name=record.read_text())
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


@contextmanager
def _locked(run_dir: Path, alias: str):
    with open(run_dir / f"{alias}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _template_name(creation, run_dir: Path) -> str:
    if creation.connection.vendor == "sqlite":
        return str(run_dir / f"{creation.connection.alias}.sqlite3")
    name = creation._get_test_db_name().removesuffix(f"_{WORKER}")
    return f"{name}_template"


def _install(run_dir: Path) -> None:
    from django.conf import settings
    from django.db.backends.base.creation import BaseDatabaseCreation

    migrate_into = BaseDatabaseCreation.create_test_db

    def create_test_db(self, verbosity=1, autoclobber=False, serialize=None, keepdb=False):
        connection = self.connection
        if keepdb or serialize is not None or connection.vendor not in ("sqlite", "postgresql"):
            return migrate_into(self, verbosity, autoclobber, serialize, keepdb)
        target = self._get_test_db_name()
        if connection.vendor == "sqlite" and self.is_in_memory_db(target):
            return migrate_into(self, verbosity, autoclobber, serialize, keepdb)
        alias = connection.alias
        template = _template_name(self, run_dir)
        original_name = connection.settings_dict["NAME"]
        built = run_dir / f"{alias}.built"
        with _locked(run_dir, alias):
            if not built.exists():
                if connection.vendor == "postgresql":
                    (run_dir / f"{alias}.postgresql").write_text(template)
                connection.settings_dict["TEST"]["NAME"] = template
                try:
                    migrate_into(self, verbosity, autoclobber=True, keepdb=False)
                finally:
                    connection.settings_dict["TEST"]["NAME"] = target
                    connection.close()
                    settings.DATABASES[alias]["NAME"] = original_name
                    connection.settings_dict["NAME"] = original_name
                built.write_text(template)
            if verbosity >= 1:
                self.log(f"Copying the migrated test database for alias '{alias}' into {target}...")
            if connection.vendor == "postgresql":
                _copy_postgresql(self, template, target)
            else:
                _copy_sqlite(template, target)
        connection.close()
        settings.DATABASES[alias]["NAME"] = target
        connection.settings_dict["NAME"] = target
        connection.ensure_connection()
        return target

    BaseDatabaseCreation.create_test_db = create_test_db


def _copy_postgresql(creation, template: str, target: str) -> None:
    quote = creation.connection.ops.quote_name
    with creation._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote(target)}")
        cursor.execute(f"CREATE DATABASE {quote(target)} WITH TEMPLATE {quote(template)}")


def _copy_sqlite(template: str, target: str) -> None:
    for leftover in (target, f"{target}-wal", f"{target}-shm"):
        Path(leftover).unlink(missing_ok=True)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(template)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def _drop_postgresql_template(config, *, alias: str, name: str) -> None:
    from django.db import connections
    from pytest_django.plugin import blocking_manager_key

    connection = connections[alias]
    quote = connection.ops.quote_name
    with config.stash[blocking_manager_key].unblock(), connection.creation._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote(name)}")
