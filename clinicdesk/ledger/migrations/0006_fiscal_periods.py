"""Closed months. Besides the service's check, the database refuses an entry dated in a closed month: on
PostgreSQL one statement trigger per insert over its new rows, on SQLite a row trigger."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PG_FORWARD = """
CREATE OR REPLACE FUNCTION ledger_entries_period_check() RETURNS trigger AS $$
DECLARE
  closed date;
BEGIN
  SELECT n.entry_date INTO closed FROM ledger_inserted_entries n
    JOIN ledger_fiscalperiod p ON p.organization_id = n.organization_id
     AND p.month = date_trunc('month', n.entry_date)::date AND p.closed_at IS NOT NULL
   LIMIT 1;
  IF closed IS NOT NULL THEN
    RAISE EXCEPTION 'the books for the month of %% are closed: post the correction into an open month', closed;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entries_period_check AFTER INSERT ON ledger_journalentry
  REFERENCING NEW TABLE AS ledger_inserted_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_period_check();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS ledger_entries_period_check ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_entries_period_check();
"""
SQLITE_FORWARD = """CREATE TRIGGER ledger_entry_period_check BEFORE INSERT ON ledger_journalentry
  WHEN EXISTS (SELECT 1 FROM ledger_fiscalperiod p WHERE p.organization_id = NEW.organization_id
               AND p.month = substr(NEW.entry_date, 1, 7) || '-01' AND p.closed_at IS NOT NULL)
  BEGIN SELECT RAISE(ABORT, 'the books for this month are closed: post the correction into an open month'); END;"""
SQLITE_REVERSE = "DROP TRIGGER IF EXISTS ledger_entry_period_check;"


def forward(apps, schema_editor):
    # The PostgreSQL SQL doubles its percent signs: the statement passes through the driver's parameter formatting.
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REVERSE)


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0006_user_npi'),
        ('ledger', '0005_alter_account_role'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='FiscalPeriod',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField(help_text='The first day of the month.')),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('reopen_reason', models.CharField(blank=True, help_text='Why the month was last reopened.', max_length=300)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('closed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.organization')),
            ],
            options={
                'ordering': ['organization', '-month'],
                'constraints': [models.UniqueConstraint(fields=('organization', 'month'), name='ledger_period_month_unique')],
            },
        ),
        migrations.RunPython(forward, reverse),
    ]
