"""Two prices of one schedule, procedure and modifiers never cover the same day, enforced by PostgreSQL itself.

The import service and `Fee.clean()` check the same rule first and name the line; this is the last line of
defence. On SQLite the service's check runs inside the IMMEDIATE write transaction, which serializes writers.
"""

from django.db import migrations

PG_FORWARD = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE billing_fee ADD CONSTRAINT fee_dates_never_overlap
  EXCLUDE USING gist (schedule_id WITH =, procedure_id WITH =, modifiers WITH =,
                      daterange(effective_from, effective_to, '[]') WITH &&);
"""
PG_REVERSE = "ALTER TABLE billing_fee DROP CONSTRAINT IF EXISTS fee_dates_never_overlap;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse)]
