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


@pytest.fixture(scope="session")
def tiny_cut_model(tmp_path_factory):
    """A tiny axial model trained a few steps on curves cut off below up to 20 K (`lfjax.data.cut`)."""
    from lfjax.models.trained import load_model
    from lfjax.training import config as cfg_lib
    from lfjax.training.train import train_and_evaluate

    config = cfg_lib.load(REPO / "configs" / "tiny_axial.toml",
                          ["train.steps=6", "train.log_every=2", "train.checkpoint_every=6", "data.norm_curves=1000",
                           "data.t_cut_max_k=20.0"])
    workdir = tmp_path_factory.mktemp("cut")
    train_and_evaluate(config, workdir)
    return load_model(workdir)


@pytest.fixture(autouse=True, scope="module")
def _fresh_compilation_caches():
    """Drop JAX's compiled programs after each test module: the suite compiles thousands of them
    (samplers build jitted closures per run), and the whole suite in one process otherwise ends
    with XLA's CPU compiler crashing on an ordinary compile late in the run."""
    yield
    jax.clear_caches()
