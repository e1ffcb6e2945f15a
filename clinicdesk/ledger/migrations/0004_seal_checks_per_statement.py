"""The sealing checks of 0002 on PostgreSQL, run once per statement instead of once per row.

0002 checked, for every entry a statement stamped `posted_at`, that its lines sum to zero and match its count and
total, with one query per entry from a row trigger; and, for every line inserted, that its entry was not posted.
A batch of 500 entries and 2,000 lines paid for 2,500 trigger calls. The same rules now run as:

* row triggers whose WHEN condition holds only for the refused cases (a posted entry changed or deleted; an entry
  whose organization, date, kind, total, line count, reversed entry or reference changes as it is posted), so
  the ordinary sealing update calls no function at all;
* an AFTER UPDATE statement trigger that checks every entry the statement posted in one query over its
  transition table (lines summed per entry, as before: sum zero, at least two lines, count and debits as
  the entry states);
* an AFTER INSERT statement trigger on lines that refuses the statement when any inserted line belongs to a posted
  entry (lines cannot be added once sealed).

A statement that the row triggers refused is refused as a whole, as before; nothing else changes on SQLite, whose
row triggers run inside the engine. Also drops indexes on journal lines and entries that repeat another index's
leading column (each one costs every inserted line).
"""

import importlib

from django.db import migrations, models

PG_FORWARD = """
DROP TRIGGER IF EXISTS ledger_line_insert_check ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_entry_post_check ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_line_insert_check();
DROP FUNCTION IF EXISTS ledger_entry_post_check();

CREATE OR REPLACE FUNCTION ledger_lines_insert_check() RETURNS trigger AS $$
DECLARE
  posted bigint;
BEGIN
  SELECT n.entry_id INTO posted FROM ledger_new_lines n JOIN ledger_journalentry e ON e.id = n.entry_id
   WHERE e.posted_at IS NOT NULL LIMIT 1;
  IF posted IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry %% is posted: lines cannot be added', posted;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_lines_insert_check AFTER INSERT ON ledger_journalline
  REFERENCING NEW TABLE AS ledger_new_lines
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_lines_insert_check();

CREATE OR REPLACE FUNCTION ledger_entry_final() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'journal entries are never deleted: post a reversal';
  END IF;
  IF OLD.posted_at IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry %% is posted and cannot be changed: post a reversal', OLD.id;
  END IF;
  RAISE EXCEPTION 'journal entry %%: only posted_at changes when it is posted', OLD.id;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_journalentry
  FOR EACH ROW EXECUTE FUNCTION ledger_entry_final();
CREATE TRIGGER ledger_entry_posted_final BEFORE UPDATE ON ledger_journalentry
  FOR EACH ROW WHEN (OLD.posted_at IS NOT NULL) EXECUTE FUNCTION ledger_entry_final();
CREATE TRIGGER ledger_entry_post_fields BEFORE UPDATE ON ledger_journalentry
  FOR EACH ROW WHEN (OLD.posted_at IS NULL AND NEW.posted_at IS NOT NULL AND (
       NEW.organization_id <> OLD.organization_id OR NEW.entry_date <> OLD.entry_date OR NEW.kind <> OLD.kind
    OR NEW.total <> OLD.total OR NEW.line_count <> OLD.line_count
    OR NEW.reverses_id IS DISTINCT FROM OLD.reverses_id OR NEW.reference <> OLD.reference))
  EXECUTE FUNCTION ledger_entry_final();

-- Every row of an UPDATE that gets this far was unposted before it (ledger_entry_posted_final refuses the
-- statement otherwise), so the rows it leaves posted are exactly the ones it posts. (Joining the old rows in
-- as well made the planner, which knows nothing of a transition table's size, compare every pair.)
CREATE OR REPLACE FUNCTION ledger_entries_post_check() RETURNS trigger AS $$
DECLARE
  bad record;
BEGIN
  SELECT n.id, COALESCE(s.line_sum, 0) AS line_sum, COALESCE(s.debit_sum, 0) AS debit_sum,
         COALESCE(s.lines, 0) AS lines
    INTO bad
    FROM ledger_new_entries n
    LEFT JOIN LATERAL (
      SELECT SUM(l.amount) AS line_sum, SUM(CASE WHEN l.amount > 0 THEN l.amount ELSE 0 END) AS debit_sum,
             COUNT(*) AS lines
        FROM ledger_journalline l WHERE l.entry_id = n.id
    ) s ON true
   WHERE n.posted_at IS NOT NULL
     AND (COALESCE(s.line_sum, 0) <> 0 OR COALESCE(s.lines, 0) < 2 OR COALESCE(s.lines, 0) <> n.line_count
          OR COALESCE(s.debit_sum, 0) <> n.total)
   LIMIT 1;
  IF bad.id IS NOT NULL THEN
    IF bad.line_sum <> 0 THEN
      RAISE EXCEPTION 'journal entry %% does not balance (lines sum to %%)', bad.id, bad.line_sum;
    END IF;
    RAISE EXCEPTION 'journal entry %%: %% lines and debits of %% do not match the entry', bad.id, bad.lines, bad.debit_sum;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entries_post_check AFTER UPDATE ON ledger_journalentry
  REFERENCING NEW TABLE AS ledger_new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_post_check();
"""

PG_REVERSE = """
DROP TRIGGER IF EXISTS ledger_lines_insert_check ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_entry_no_delete ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_entry_posted_final ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_entry_post_fields ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_entries_post_check ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_lines_insert_check();
DROP FUNCTION IF EXISTS ledger_entry_final();
DROP FUNCTION IF EXISTS ledger_entries_post_check();
"""


def _row_triggers():
    return importlib.import_module("clinicdesk.ledger.migrations.0002_posted_entries_are_final")


def forward(apps, schema_editor):
    # The SQL doubles its percent signs: the statement passes through the driver's parameter formatting.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_REVERSE + "DROP TRIGGER IF EXISTS ledger_line_final ON ledger_journalline;")
        schema_editor.execute(_row_triggers().PG_FORWARD)


# (table, column) whose single-column index goes: (organization, account, date), (patient, account) and
# (organization, entry_date) lead with them; (item) was indexed twice.
REDUNDANT = [("ledger_journalline", "organization_id"), ("ledger_journalline", "patient_id"),
             ("ledger_journalentry", "organization_id")]


def drop_redundant_indexes(apps, schema_editor):
    # Dropped by name rather than with AlterField: SQLite would rebuild the lines table for it and lose 0002's
    # triggers on the way.
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table, column in [*REDUNDANT, ("ledger_journalline", "item_id")]:
            found = connection.introspection.get_constraints(cursor, table)
            names = sorted(name for name, info in found.items()
                           if info["index"] and not info["unique"] and not info["primary_key"]
                           and info["columns"] == [column])
            if column == "item_id":
                names = [name for name in names if name == "ledger_line_item"]
            for name in names:
                schema_editor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")


def restore_indexes(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    for table, column in REDUNDANT:
        schema_editor.execute(f"CREATE INDEX {quote(table + '_' + column + '_idx')} ON {quote(table)} ({quote(column)})")
    schema_editor.execute(f"CREATE INDEX {quote('ledger_line_item')} ON {quote('ledger_journalline')} ({quote('item_id')})")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_aging_index")]
    operations = [
        migrations.RunPython(forward, reverse),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_redundant_indexes, restore_indexes)],
            state_operations=[
                migrations.RemoveIndex(model_name="journalline", name="ledger_line_item"),
                migrations.AlterField(
                    model_name="journalline", name="organization",
                    field=models.ForeignKey(db_index=False, on_delete=models.deletion.PROTECT, related_name="+",
                                            to="core.organization"),
                ),
                migrations.AlterField(
                    model_name="journalline", name="patient",
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=models.deletion.PROTECT,
                                            related_name="+", to="patients.patient"),
                ),
                migrations.AlterField(
                    model_name="journalentry", name="organization",
                    field=models.ForeignKey(db_index=False, on_delete=models.deletion.PROTECT,
                                            related_name="journal_entries", to="core.organization"),
                ),
            ],
        ),
    ]
