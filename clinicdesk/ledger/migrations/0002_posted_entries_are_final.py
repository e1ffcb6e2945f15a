"""The database keeps the books honest even against raw SQL.

An entry is inserted unposted with the total and line count its service expects, its lines are inserted, then
one UPDATE stamps `posted_at`. At that moment a trigger checks that the lines sum to zero and match the count and
total. After it, lines cannot be added, and neither the entry nor its lines can be changed. PostgreSQL also
refuses deletes (SQLite's test runner empties tables with DELETE, so there the application refuses them).
SQLite stores decimals as floating point, so its sums are compared to half a cent.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION ledger_line_insert_check() RETURNS trigger AS $$
BEGIN
  IF (SELECT posted_at FROM ledger_journalentry WHERE id = NEW.entry_id) IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry %% is posted: lines cannot be added', NEW.entry_id;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_line_insert_check BEFORE INSERT ON ledger_journalline
  FOR EACH ROW EXECUTE FUNCTION ledger_line_insert_check();

CREATE OR REPLACE FUNCTION ledger_line_final() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'journal lines are never changed: post a reversal';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_line_final BEFORE UPDATE OR DELETE ON ledger_journalline
  FOR EACH ROW EXECUTE FUNCTION ledger_line_final();

CREATE OR REPLACE FUNCTION ledger_entry_post_check() RETURNS trigger AS $$
DECLARE
  line_sum numeric; debit_sum numeric; lines integer;
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'journal entries are never deleted: post a reversal';
  END IF;
  IF OLD.posted_at IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry %% is posted and cannot be changed: post a reversal', OLD.id;
  END IF;
  IF NEW.posted_at IS NULL THEN
    RETURN NEW;
  END IF;
  IF NEW.organization_id <> OLD.organization_id OR NEW.entry_date <> OLD.entry_date OR NEW.kind <> OLD.kind
     OR NEW.total <> OLD.total OR NEW.line_count <> OLD.line_count
     OR NEW.reverses_id IS DISTINCT FROM OLD.reverses_id OR NEW.reference <> OLD.reference THEN
    RAISE EXCEPTION 'journal entry %%: only posted_at changes when it is posted', OLD.id;
  END IF;
  SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END), 0), COUNT(*)
    INTO line_sum, debit_sum, lines FROM ledger_journalline WHERE entry_id = NEW.id;
  IF line_sum <> 0 THEN
    RAISE EXCEPTION 'journal entry %% does not balance (lines sum to %%)', NEW.id, line_sum;
  END IF;
  IF lines < 2 OR lines <> NEW.line_count OR debit_sum <> NEW.total THEN
    RAISE EXCEPTION 'journal entry %%: %% lines and debits of %% do not match the entry', NEW.id, lines, debit_sum;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entry_post_check BEFORE UPDATE OR DELETE ON ledger_journalentry
  FOR EACH ROW EXECUTE FUNCTION ledger_entry_post_check();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS ledger_line_insert_check ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_line_final ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_entry_post_check ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_line_insert_check();
DROP FUNCTION IF EXISTS ledger_line_final();
DROP FUNCTION IF EXISTS ledger_entry_post_check();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER ledger_line_insert_check BEFORE INSERT ON ledger_journalline
       WHEN (SELECT posted_at FROM ledger_journalentry WHERE id = NEW.entry_id) IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'journal entry is posted: lines cannot be added'); END;""",
    """CREATE TRIGGER ledger_line_final BEFORE UPDATE ON ledger_journalline
       BEGIN SELECT RAISE(ABORT, 'journal lines are never changed: post a reversal'); END;""",
    """CREATE TRIGGER ledger_entry_posted_final BEFORE UPDATE ON ledger_journalentry
       WHEN OLD.posted_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'journal entry is posted and cannot be changed: post a reversal'); END;""",
    """CREATE TRIGGER ledger_entry_post_check BEFORE UPDATE ON ledger_journalentry
       WHEN OLD.posted_at IS NULL AND NEW.posted_at IS NOT NULL
       BEGIN
         SELECT RAISE(ABORT, 'journal entry: only posted_at changes when it is posted')
           WHERE NEW.organization_id <> OLD.organization_id OR NEW.entry_date <> OLD.entry_date
              OR NEW.kind <> OLD.kind OR NEW.total <> OLD.total OR NEW.line_count <> OLD.line_count
              OR NEW.reverses_id IS NOT OLD.reverses_id OR NEW.reference <> OLD.reference;
         SELECT RAISE(ABORT, 'journal entry does not balance')
           WHERE ABS((SELECT COALESCE(SUM(amount), 0) FROM ledger_journalline WHERE entry_id = NEW.id)) >= 0.005;
         SELECT RAISE(ABORT, 'journal entry lines do not match the entry')
           WHERE (SELECT COUNT(*) FROM ledger_journalline WHERE entry_id = NEW.id) NOT IN (NEW.line_count)
              OR (SELECT COUNT(*) FROM ledger_journalline WHERE entry_id = NEW.id) < 2
              OR ABS((SELECT COALESCE(SUM(amount), 0) FROM ledger_journalline WHERE entry_id = NEW.id AND amount > 0)
                     - NEW.total) >= 0.005;
       END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS ledger_line_insert_check;",
    "DROP TRIGGER IF EXISTS ledger_line_final;",
    "DROP TRIGGER IF EXISTS ledger_entry_posted_final;",
    "DROP TRIGGER IF EXISTS ledger_entry_post_check;",
]


def forward(apps, schema_editor):
    # PG_FORWARD doubles its percent signs: the statement passes through the driver's parameter formatting.
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)
    elif vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
