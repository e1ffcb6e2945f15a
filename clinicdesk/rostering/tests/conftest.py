"""The Curtois & Qu benchmark files of ../shared/data, for the reader's and the benchmark command's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings


def curtois_dir() -> Path:
    """../shared/data/rostering/curtois beside the checkout (CLINICDESK_SHARED_DATA overrides ../shared/data)."""
    base = os.environ.get("CLINICDESK_SHARED_DATA") or Path(settings.BASE_DIR).parent / "shared" / "data"
    return Path(base) / "rostering" / "curtois"


@pytest.fixture
def curtois() -> Path:
    root = curtois_dir()
    if not (root / "Instance1.txt").is_file():
        pytest.skip(f"Curtois & Qu instances not found at {root} (present in CI and developer checkouts only)")
    return root
