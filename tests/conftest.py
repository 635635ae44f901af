"""Shared test fixtures: float64 on request (a context manager; nothing flips the global flag)."""

from __future__ import annotations

import os
from pathlib import Path

# The same XLA CPU setting as the `lfjax` command (lfjax/cli/main.py), before JAX starts.
if "xla_cpu_enable_concurrency_optimized_scheduler" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_concurrency_optimized_scheduler=false").strip()

import jax  # noqa: E402
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
