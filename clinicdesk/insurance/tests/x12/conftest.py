"""The X12 sample files of ../shared/data, for the readers' tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings


def x12_data_dir() -> Path:
    """../shared/data/x12 beside the checkout (CLINICDESK_SHARED_DATA overrides ../shared/data)."""
    base = os.environ.get("CLINICDESK_SHARED_DATA") or Path(settings.BASE_DIR).parent / "shared" / "data"
    return Path(base) / "x12"


def sample_params(*patterns: str) -> list:
    """pytest params of the sample files matching the glob patterns; one skipped param when the data is absent."""
    root = x12_data_dir()
    if not root.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"X12 samples not found at {root}"))]
    paths = sorted({path for pattern in patterns for path in root.glob(pattern)})
    return [pytest.param(path, id=str(path.relative_to(root))) for path in paths]


@pytest.fixture
def x12_data() -> Path:
    root = x12_data_dir()
    if not root.is_dir():
        pytest.skip(f"X12 samples not found at {root} (present in CI and developer checkouts only)")
    return root
