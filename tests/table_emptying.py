"""After a transactional test (browser tests through the live server, concurrency and task tests), empty only
the tables the test wrote to, instead of Django's flush of every table.

Django's flush truncates all of the project's tables (about 180), which on PostgreSQL makes new files for each
table and index: about 3 seconds a test, minutes over the suite. Here one query finds the tables holding rows and
only those are emptied, with PostgreSQL's triggers held off for the statement (`session_replication_role`), as
TRUNCATE skips them: the append-only ledger, stock and audit tables refuse a DELETE otherwise. Content types and
permissions are kept: the post_migrate signal that follows a flush would only write them again.

Loaded with `-p tests.table_emptying` (pyproject addopts). Where the database user may not hold off triggers, the
tables holding rows are truncated instead.
"""

from django.core.management.color import no_style
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections, transaction
from django.test import TransactionTestCase

# What post_migrate writes back after every flush; nothing in a test changes them.
KEPT = frozenset({"django_content_type", "auth_permission"})


def tables_holding_rows(connection) -> list[str]:
    """The project's tables (those Django flushes) that hold at least one row, found in one query."""
    quote = connection.ops.quote_name
    tables = [t for t in connection.introspection.django_table_names(only_existing=True, include_views=False)
              if t not in KEPT]
    if not tables:
        return []
    probe = " UNION ALL ".join(f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {quote(t)})" for i, t in enumerate(tables))  # noqa: S608  (Django's own table names)
    with connection.cursor() as cursor:
        cursor.execute(probe)
        return [tables[row[0]] for row in cursor.fetchall()]


def _may_hold_off_triggers(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def tables_empty(connection) -> list[str]:
    """Empty the tables holding rows; returns their names."""
    with transaction.atomic(using=connection.alias, savepoint=connection.features.can_rollback_ddl):
        full = tables_holding_rows(connection)
        if not full:
            return []
        if connection.vendor == "postgresql" and _may_hold_off_triggers(connection):
            quote = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
                cursor.execute("; ".join(f"DELETE FROM {quote(t)}" for t in full))  # noqa: S608  (table names as above)
        else:
            # Django's own statements for these tables (TRUNCATE on PostgreSQL, DELETE on SQLite).
            with connection.cursor() as cursor:
                for sql in connection.ops.sql_flush(no_style(), full, allow_cascade=True):
                    cursor.execute(sql)
    return full


def _fixture_teardown(self):
    for db_name in self._databases_names(include_mirrors=False):
        tables_empty(connections[db_name])
        # As Django's flush: post_migrate runs unless only some apps are flushed or serialized data is restored.
        inhibited = self.available_apps is not None or (
            self.serialized_rollback and hasattr(connections[db_name], "_test_serialized_contents"))
        if not inhibited:
            emit_post_migrate_signal(verbosity=0, interactive=False, db=db_name)


TransactionTestCase._fixture_teardown = _fixture_teardown
