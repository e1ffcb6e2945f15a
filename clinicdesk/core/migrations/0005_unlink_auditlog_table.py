"""django-auditlog's own table stays (its migrations keep altering it) but nothing writes to it any more:
AUDITLOG_LOGENTRY_MODEL is core.ChangeRecord, whose records go into the audit chain. Django no longer
knows the table as a model, so on PostgreSQL its foreign keys would stop `flush` (TRUNCATE) of users and
content types; they are dropped. SQLite deletes row by row and the table is empty, so it needs nothing.
"""

from django.db import migrations


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if "auditlog_logentry" not in connection.introspection.table_names(cursor):
            return
        constraints = connection.introspection.get_constraints(cursor, "auditlog_logentry")
    for name, info in constraints.items():
        if info.get("foreign_key"):
            schema_editor.execute(f'ALTER TABLE auditlog_logentry DROP CONSTRAINT "{name}"')


class Migration(migrations.Migration):
    dependencies = [("core", "0004_change_record"), ("auditlog", "0017_add_actor_email")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
