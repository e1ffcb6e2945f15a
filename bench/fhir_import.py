#!/usr/bin/env python
"""FHIR import: the ten Synthea bundles of ../shared/data/synthea imported by `import_fhir`'s `paths_import` into a
fresh SQLite database (var/bench/fhir-import.sqlite3, migrated untimed; CLINICDESK_SHARED_DATA overrides
../shared/data). Prints the seconds of the import and of a
second run (which must change nothing), and what was created, skipped and refused.

    .venv/bin/python bench/fhir_import.py

Target: the ten bundles in <= 30 s on SQLite. Never run as a test.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _engines import open_engine, run_per_engine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SYNTHEA = Path(os.environ.get("CLINICDESK_SHARED_DATA") or ROOT.parent / "shared" / "data") / "synthea"
SQLITE_PATH = ROOT / "var" / "bench" / "fhir-import.sqlite3"
ENGINES = {"sqlite": {"env": {"SQLITE_PATH": str(SQLITE_PATH)}}}
TARGET_S = 30.0


def main() -> int:
    if not SYNTHEA.is_dir():
        print(f"fhir_import: skipped, the Synthea bundles are not at {SYNTHEA}")
        return 0
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


def run_engine(engine: str, *, rebuild: bool) -> int:
    open_engine(engine, pg_url="", sqlite_path=SQLITE_PATH, rebuild=True)  # always a fresh database
    from django.core.management import call_command

    from clinicdesk.billing.models import Encounter, ServiceLine
    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Organization, User
    from clinicdesk.fhir.importing import ImportReport, paths_import
    from clinicdesk.insurance.models import Claim
    from clinicdesk.ledger.models import JournalEntry
    from clinicdesk.patients.models import Patient

    call_command("migrate", verbosity=0)
    org = Organization.objects.create(slug="fhir-bench", name="FHIR Import Bench Practice", mrn_prefix="FB")
    admin = User.objects.create(username="fhir-bench-admin", organization=org, role=Role.ADMINISTRATOR)
    files = sorted(SYNTHEA.glob("*.json"))

    def measure() -> tuple[float, float, list[ImportReport]]:
        started, cpu = time.perf_counter(), time.process_time()
        reports = paths_import(paths=[SYNTHEA], organization=org, actor=admin)
        return time.perf_counter() - started, time.process_time() - cpu, reports

    first_s, first_cpu, reports = measure()
    counts = Counter()
    for report in reports:
        counts.update({what: n for (action, what), n in report.counts.items() if action == "created"})
    refused = [r for r in reports if r.refused]
    rows = (f"{Patient.objects.count()} patients, {Encounter.objects.count()} encounters, "
            f"{ServiceLine.objects.count()} charges, {Claim.objects.count()} paid claims, "
            f"{JournalEntry.objects.count()} journal entries")
    second_s, _, again = measure()
    changed = sum(r.total("created") + r.total("updated") for r in again)
    print(f"\nfhir_import · SQLite · {len(files)} Synthea bundles "
          f"({sum(f.stat().st_size for f in files) / 1e6:.1f} MB, {sum(r.total('skipped') for r in reports):,} "
          f"resources skipped with a reason)")
    print(f"  first run   {first_s:6.1f} s wall, {first_cpu:5.1f} s CPU: {rows}")
    print("  created     " + ", ".join(f"{n} {what}" for what, n in sorted(counts.items())))
    print(f"  second run  {second_s:6.1f} s wall: {changed} records created or updated (0 expected)")
    if refused:
        print("  refused: " + "; ".join(f"{r.name}: {r.refused}" for r in refused))
    met = "met" if first_s <= TARGET_S and not refused and changed == 0 else "MISSED"
    print(f"  target <= {TARGET_S:.0f} s: {met} ({first_s:.1f} s)")
    return 0 if not refused and changed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
