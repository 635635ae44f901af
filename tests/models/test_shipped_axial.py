"""The shipped axial models load by name, sample (B20, B40, B60, chi_dia, f_m) and carry their evaluation."""

import json
from pathlib import Path

import numpy as np

import lfjax
import pytest

from lfjax.models.trained import load_model, shipped_model_path, shipped_models
from lfjax.training import config as cfg_lib

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name, ion", [("er3_axial", "Er3+"), ("dy3_axial", "Dy3+")])
def test_shipped_axial_model(name, ion):
    assert name in shipped_models()
    model = load_model(name)
    assert model.ion.name == ion and model.theta_names == ("B20", "B40", "B60", "chi_dia", "f_m")
    # trained with the committed config
    assert cfg_lib.load(shipped_model_path(name) / "config.toml") == cfg_lib.load(REPO / "configs" / f"{name}.toml")
    assert not (next((shipped_model_path(name) / "checkpoints").iterdir()) / "opt_state").exists()
    # a free-ion-like curve (tiny ligand field): chi T near 11.48 (Er) / 14.17 (Dy) emu K/mol at 300 K
    chi_t = np.asarray(lfjax.chi_t_powder(model.ion, {"B20": -2.0, "B40": 0.005, "B60": 1e-4}, model.temps_k))
    draws = model.sample(chi_t, 400, key=0)
    assert draws.shape == (400, 5) and np.all(np.isfinite(draws))
    assert abs(np.median(draws[:, 4]) - 1.0) < 0.05 and abs(np.median(draws[:, 3])) < 0.004
    summary = json.loads((shipped_model_path(name) / "evaluation" / "summary.json").read_text())
    assert summary["n"] == 300
    assert abs(summary["coverage_50"] - 0.5) <= 0.05 and abs(summary["coverage_90"] - 0.9) <= 0.05
    training = json.loads((shipped_model_path(name) / "training.json").read_text())
    assert training["wall_s"] <= 1800 and training["steps"] == cfg_lib.load(REPO / "configs" / f"{name}.toml").train.steps
