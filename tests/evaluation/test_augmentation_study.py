"""The augmentation study script in --quick mode (tiny models trained on the spot)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from typer.testing import CliRunner

from lfjax.evaluation.augmentation import NAMED_CURVES
from lfjax.symmetry import de_group, errors

REPO = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("augmentation_study", REPO / "benchmarks" / "augmentation_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_study_writes_tables_and_figures(tmp_path):
    import typer

    app = typer.Typer()
    app.command()(_script().main)
    out = tmp_path / "aug"
    result = CliRunner().invoke(app, ["--quick", "--out", str(out), "--n-random", "4", "--samples", "100"])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "augmentation.json").read_text())
    assert [r["sigma_dia"] for r in record["rows"]] == [0.0, 0.0005, 0.002, 0.005]
    assert {c["curve"] for c in record["rows"][0]["named"]} == {"axial", "rhombic"}
    assert record["rows"][0]["random"]["n"] == 4
    assert (out / "augmentation.md").read_text().count("| 0.005 |") == 3
    # the table's errors are those of its modes against the named truths, modulo the six maps
    for row in record["rows"]:
        for c in row["named"]:
            truth = np.array([NAMED_CURVES[c["curve"]][:2]])
            for kind in ("vae", "inn"):
                mode = np.array([[c[f"{kind}_mode_D_K"], c[f"{kind}_mode_E_K"]]])
                np.testing.assert_allclose(errors(de_group(), mode, truth)[0],
                                           [c[f"{kind}_abs_dD_K"], c[f"{kind}_abs_dE_K"]], atol=1e-9)
                assert 0 <= mode[0, 1] <= abs(mode[0, 0]) / 3 + 1e-6  # canonical modes
            assert 0 <= c["inn_hpd_rank"] <= 1 and c["inn_n_modes"] >= 1
        assert 0 <= row["random"]["hit_rate"] <= 1
    grid = mpimg.imread(out / "vae_grid.png")
    assert grid.ndim == 3 and grid.shape[1] > grid.shape[0]  # 2 named curves (rows) x 4 models (columns)
    for name in ("inn_grid.png", "figures/aug_0_axial_vae.png", "figures/aug_005_rhombic_inn.png"):
        assert mpimg.imread(out / name).ndim == 3


def test_reuse_without_models_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        _script().main(workdir_root=tmp_path, out=tmp_path / "o", steps=None, no_train=True, n_random=2,
                       samples=10, seed=0, quick=False)
