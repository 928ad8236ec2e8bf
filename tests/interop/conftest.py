"""The vectors folder every interop test reads (R-PROF-40, R-RP-3): skipped when missing,
failed instead when ``SMKI_REQUIRE_VECTORS=1`` (test_vectors' docstring)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.test_vectors import REQUIRED, VECTORS


@pytest.fixture(scope="module")
def vectors() -> Path:
    if not VECTORS.is_dir():
        if REQUIRED:
            pytest.fail(f"SMKI_REQUIRE_VECTORS=1 but {VECTORS} is missing")
        pytest.skip(f"GBCS vectors not available at {VECTORS}")
    return VECTORS
