#!/usr/bin/env python
"""Back up the demo practice and restore it into a new empty database; prints how long each took.

    .venv/bin/python bench/backup_restore.py [--engine sqlite|postgresql] [--patients 250] [--rebuild]

The demo practice (`manage.py seed_demo`) lives in its own database: on SQLite `var/bench/backup-demo/`, on
PostgreSQL `BENCH_DEMO_DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_demo), built on
the first run. Every command runs as the operator runs it (`manage.py backup`, `manage.py restore`, each a new
process), so the times include starting Django. The restored database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-backup-key-not-for-real-backups"


def manage(*args: str, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,  # noqa: S603
                          text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True)  # noqa: S603, S607


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--patients", type=int, default=250)
    parser.add_argument("--rebuild", action="store_true", help="Build the demo database again.")
    args = parser.parse_args()

    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SQLITE_PATH", "MEDIA_ROOT", "REDIS_URL"}}
    base["BACKUP_KEY"] = KEY
    bench_dir = ROOT / "var" / "bench" / f"backup-demo-{args.engine}"
    source = {**base, "CLINICDESK_VAR_DIR": str(bench_dir), "MEDIA_ROOT": str(bench_dir / "media")}
    if args.engine == "postgresql":
        url = os.environ.get("BENCH_DEMO_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_demo")
        source["DATABASE_URL"] = url
        name = urlsplit(url).path.strip("/")
        if args.rebuild:
            psql(with_database(url, "postgres"), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(bench_dir, ignore_errors=True)
        fresh = subprocess.run(["psql", url, "-qAtc", "SELECT 1"], capture_output=True, check=False).returncode != 0  # noqa: S603, S607
        if fresh:
            psql(with_database(url, "postgres"), f'CREATE DATABASE "{name}"')
    else:
        source["SQLITE_PATH"] = str(bench_dir / "demo.sqlite3")
        if args.rebuild:
            shutil.rmtree(bench_dir, ignore_errors=True)
        fresh = not (bench_dir / "demo.sqlite3").exists()
    bench_dir.mkdir(parents=True, exist_ok=True)
    if fresh:
        print(f"Building the demo practice ({args.patients} patients) on {args.engine} ...", flush=True)
        manage("migrate", "--noinput", env=source)
        seconds, _ = manage("seed_demo", "--patients", str(args.patients), env=source)
        print(f"  built in {seconds:.0f}s")

    with tempfile.TemporaryDirectory(prefix="clinicdesk-bench-backup-") as scratch:
        scratch = Path(scratch)
        backup_wall, out = manage("backup", str(scratch), env=source)
        print(out.strip())
        backup_file = next(scratch.glob("*.cdbackup"))
        target = {**base, "CLINICDESK_VAR_DIR": str(scratch / "restored"), "MEDIA_ROOT": str(scratch / "restored-media")}
        (scratch / "restored").mkdir()
        restored_name = None
        if args.engine == "postgresql":
            restored_name = f"clinicdesk_bench_restore_{uuid.uuid4().hex[:8]}"
            psql(with_database(url, "postgres"), f'CREATE DATABASE "{restored_name}"')
            target["DATABASE_URL"] = with_database(url, restored_name)
        else:
            target["SQLITE_PATH"] = str(scratch / "restored" / "clinicdesk.sqlite3")
        try:
            restore_wall, out = manage("restore", str(backup_file), env=target)
        finally:
            if restored_name:
                psql(with_database(url, "postgres"), f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')
        print(out.strip())
        inside = re.search(r"Restore complete in ([0-9.]+)s", out)
        print(f"\n{args.engine}: backup file {backup_file.stat().st_size / 1e6:.1f} MB; "
              f"backup command {backup_wall:.1f}s wall; restore command {restore_wall:.1f}s wall, "
              f"of which the restore and its checks {inside.group(1) if inside else '?'}s "
              f"(the rest is starting Django)")


if __name__ == "__main__":
    main()
