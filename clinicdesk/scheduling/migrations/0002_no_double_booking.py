"""No double booking, enforced by PostgreSQL itself.

A provider, a room and a patient are never in two overlapping live appointments. Group types
(exclusive = false) share time up to capacity, which the booking service checks. On SQLite the
booking service runs the same check inside an IMMEDIATE transaction, which serializes writers.
"""

from django.db import migrations

LIVE = "status IN ('scheduled','confirmed','arrived','roomed','with_provider','completed')"

PG_FORWARD = f"""
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_provider_no_overlap
  EXCLUDE USING gist (provider_id WITH =, tstzrange(busy_from, busy_until, '[)') WITH &&)
  WHERE ({LIVE} AND exclusive);
ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_room_no_overlap
  EXCLUDE USING gist (room_id WITH =, tstzrange(busy_from, busy_until, '[)') WITH &&)
  WHERE ({LIVE} AND exclusive AND room_id IS NOT NULL);
ALTER TABLE scheduling_appointment ADD CONSTRAINT appointment_patient_no_overlap
  EXCLUDE USING gist (patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
  WHERE ({LIVE});
"""
PG_REVERSE = """
ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS appointment_provider_no_overlap;
ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS appointment_room_no_overlap;
ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS appointment_patient_no_overlap;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
