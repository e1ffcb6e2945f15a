"""Parallel test workers (pytest-xdist, `make test` runs several): each worker gets its own files and its own
Redis database, so that no test sees another worker's media, clearinghouse drop folder or task queue.

Loaded with `-p tests.parallel_workers` (pyproject addopts) before Django reads its settings, which is why this is
a plugin and not conftest.py: settings take VAR_DIR from the environment when they are first imported. Each
worker's database is already its own: pytest-django adds the worker id to the test database's name.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _worker_number(worker: str) -> int:
    return int(worker.removeprefix("gw"))


def _redis_url_for(url: str, number: int) -> str:
    """The Redis database counted down from the configured one (15, 14, 13 ...) for worker 0, 1, 2 ..."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    database = base - number if base - number >= 0 else base + number
    return urlunsplit(parts._replace(path=f"/{database}"))


if WORKER:
    number = _worker_number(WORKER)
    var_dir = Path(os.environ.get("CLINICDESK_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
    os.environ["CLINICDESK_VAR_DIR"] = str(var_dir / f"test-{WORKER}")
    if os.environ.get("REDIS_TEST_URL"):
        os.environ["REDIS_TEST_URL"] = _redis_url_for(os.environ["REDIS_TEST_URL"], number)
