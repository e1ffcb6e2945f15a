"""What the benchmark scripts share: one child process per database engine, the benchmark databases, percentiles.

Django reads its database settings once at start-up, so each engine is measured in its own process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess  # noqa: S404  (runs the benchmark script itself)
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_per_engine(script: str, engines: dict[str, dict], run_engine: Callable[..., int], description: str) -> int:
    """The command line of a benchmark: `--engine NAME|all`, `--rebuild`; runs `run_engine` in one child per engine."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--engine", choices=[*engines, "all"], default="all")
    parser.add_argument("--rebuild", action="store_true", help="drop the benchmark database and build it again")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_engine(args.engine, rebuild=args.rebuild)
    failed = 0
    for engine in engines if args.engine == "all" else [args.engine]:
        env = {**os.environ, **engines[engine]["env"], "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "config.settings"}
        if engine == "sqlite":
            env.pop("DATABASE_URL", None)
        command = [sys.executable, script, "--child", "--engine", engine] + (["--rebuild"] if args.rebuild else [])
        failed |= subprocess.call(command, env=env, cwd=ROOT)  # noqa: S603  (our own script)
    return failed


def open_engine(engine: str, *, pg_url: str, sqlite_path: Path, rebuild: bool) -> None:
    """In the child: make sure the benchmark database exists (fresh with `rebuild`), then start Django."""
    if engine == "postgresql":
        ensure_pg_database(pg_url, rebuild=rebuild)
    elif rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_pg_database(url: str, *, rebuild: bool) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            print(f"creating database {name}", flush=True)
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (inclusive method), the same definition in every benchmark."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(pct) - 1]


def fmt(values: list[float]) -> str:
    """p50, p95 and max, right-aligned in 8 columns each."""
    return f"{percentile(values, 50):>8.1f}{percentile(values, 95):>8.1f}{max(values):>8.1f}"
