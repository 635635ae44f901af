"""Shared test fixtures: float64 on request (a context manager; nothing flips the global flag)."""

from __future__ import annotations

from pathlib import Path

import jax
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()


@pytest.fixture
def x64():
    """Runs the test with float64 enabled."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def shared_dir() -> Path:
    """The project's shared/ folder beside the checkout (skips if absent)."""
    if not SHARED.is_dir():
        pytest.skip(f"shared/ not found at {SHARED}")
    return SHARED
