"""A tiny model trained once per session, shared by the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "configs" / "tiny.toml"


@pytest.fixture(scope="session")
def tiny_config():
    from lfjax.training import config as cfg_lib

    return cfg_lib.load(TINY)


@pytest.fixture(scope="session")
def tiny_norm(tiny_config):
    from lfjax.data.normalise import fit_normalisation

    return fit_normalisation(tiny_config.data, tiny_config.model.fold_canonical)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_config, tiny_norm):
    """(workdir, result) of the tiny config trained for its 300 steps."""
    from lfjax.training.train import train_and_evaluate

    workdir = tmp_path_factory.mktemp("tiny_run")
    result = train_and_evaluate(tiny_config, workdir, norm=tiny_norm)
    return workdir, result
