"""Indexes for the patient type-ahead, one migration for both databases.

search_name now puts the last name first (see patients.search.search_fields), so existing rows are
recomputed before the indexes are built.

SQLite: an FTS5 table over search_name and search_phones (external content, kept in step by triggers,
so bulk inserts and raw SQL stay searchable), plus a (organization, search_name) index for last-name
prefix ranges.
PostgreSQL: a pg_trgm GIN index on ' ' || search_name for word-prefix LIKE anywhere in the name, a
tsvector GIN index for phone prefixes, plus a
(organization, search_name COLLATE "C") index for last-name prefix ranges read in order.
Both: (organization, UPPER(mrn)) for the case-insensitive exact MRN match.
"""

from django.db import migrations

SQLITE_FORWARD = [
    # Partial (merged records are never searched), so it covers the name walk: SQLite appends the rowid.
    """CREATE INDEX IF NOT EXISTS patient_org_search_name_idx
       ON patients_patient (organization_id, search_name) WHERE merged_into_id IS NULL""",
    "CREATE INDEX IF NOT EXISTS patient_org_mrn_upper_idx ON patients_patient (organization_id, UPPER(mrn))",
    """CREATE VIRTUAL TABLE IF NOT EXISTS patients_patient_fts USING fts5(
        search_name, search_phones,
        content='patients_patient', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', prefix='2 3'
    )""",
    """CREATE TRIGGER IF NOT EXISTS patients_patient_fts_insert AFTER INSERT ON patients_patient BEGIN
        INSERT INTO patients_patient_fts(rowid, search_name, search_phones)
        VALUES (new.id, new.search_name, new.search_phones);
    END""",
    """CREATE TRIGGER IF NOT EXISTS patients_patient_fts_delete AFTER DELETE ON patients_patient BEGIN
        INSERT INTO patients_patient_fts(patients_patient_fts, rowid, search_name, search_phones)
        VALUES ('delete', old.id, old.search_name, old.search_phones);
    END""",
    """CREATE TRIGGER IF NOT EXISTS patients_patient_fts_update
    AFTER UPDATE OF search_name, search_phones ON patients_patient BEGIN
        INSERT INTO patients_patient_fts(patients_patient_fts, rowid, search_name, search_phones)
        VALUES ('delete', old.id, old.search_name, old.search_phones);
        INSERT INTO patients_patient_fts(rowid, search_name, search_phones)
        VALUES (new.id, new.search_name, new.search_phones);
    END""",
    "INSERT INTO patients_patient_fts(patients_patient_fts) VALUES ('rebuild')",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS patients_patient_fts_update",
    "DROP TRIGGER IF EXISTS patients_patient_fts_delete",
    "DROP TRIGGER IF EXISTS patients_patient_fts_insert",
    "DROP TABLE IF EXISTS patients_patient_fts",
    "DROP INDEX IF EXISTS patient_org_mrn_upper_idx",
    "DROP INDEX IF EXISTS patient_org_search_name_idx",
]
PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # The leading blank makes "a word of the name starts with w" a single LIKE '% w%'.
    """CREATE INDEX IF NOT EXISTS patient_search_name_trgm_idx
       ON patients_patient USING gin ((' ' || search_name) gin_trgm_ops)""",
    # Phone digits make poor trigrams (ten symbols), so phones get a word index with prefix matching.
    """CREATE INDEX IF NOT EXISTS patient_search_phones_tsv_idx
       ON patients_patient USING gin (to_tsvector('simple', search_phones))""",
    # With id last, ORDER BY (search_name, id) is read straight from the index and LIMIT stops early;
    # partial, so that walking names in order is an index-only scan (merged records are never searched).
    """CREATE INDEX IF NOT EXISTS patient_org_search_name_idx
       ON patients_patient (organization_id, (search_name COLLATE "C"), id) WHERE merged_into_id IS NULL""",
    "CREATE INDEX IF NOT EXISTS patient_org_mrn_upper_idx ON patients_patient (organization_id, UPPER(mrn))",
]
PG_REVERSE = [
    "DROP INDEX IF EXISTS patient_org_mrn_upper_idx",
    "DROP INDEX IF EXISTS patient_org_search_name_idx",
    "DROP INDEX IF EXISTS patient_search_phones_tsv_idx",
    "DROP INDEX IF EXISTS patient_search_name_trgm_idx",
]


def recompute_search_columns(apps, schema_editor):
    from clinicdesk.patients.search import search_fields

    Patient = apps.get_model("patients", "Patient")
    last_id = 0
    while True:
        batch = list(Patient.objects.using(schema_editor.connection.alias).filter(id__gt=last_id).order_by("id")[:2000])
        if not batch:
            return
        for patient in batch:
            patient.search_name, patient.search_phones = search_fields(patient)
        Patient.objects.using(schema_editor.connection.alias).bulk_update(batch, ["search_name", "search_phones"])
        last_id = batch[-1].id


def forward(apps, schema_editor):
    statements = {"sqlite": SQLITE_FORWARD, "postgresql": PG_FORWARD}.get(schema_editor.connection.vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


def reverse(apps, schema_editor):
    statements = {"sqlite": SQLITE_REVERSE, "postgresql": PG_REVERSE}.get(schema_editor.connection.vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [
        migrations.RunPython(recompute_search_columns, migrations.RunPython.noop),
        migrations.RunPython(forward, reverse),
    ]
