"""`lfjax evaluate` end to end on a tiny model, and its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lfjax.cli.main import app
REPO = Path(__file__).resolve().parents[2]

runner = CliRunner()


def test_missing_model_is_one_line_and_exit_2(tmp_path):
    result = runner.invoke(app, ["evaluate", str(tmp_path / "nope"), "--n", "5"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error:") and len(result.output.strip().splitlines()) == 1


def test_bad_count_is_one_line_and_exit_2(tmp_path):
    result = runner.invoke(app, ["evaluate", str(tmp_path), "--n", "0"])
    assert result.exit_code == 2
    assert "--n must be > 0" in result.output


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from lfjax.training import config as cfg_lib
    from lfjax.training.train import train_and_evaluate

    workdir = tmp_path_factory.mktemp("tiny")
    cfg = cfg_lib.load(REPO / "configs" / "tiny.toml", ["train.steps=40", "data.norm_curves=2000"])
    train_and_evaluate(cfg, workdir)
    return workdir


def test_evaluate_writes_summary_with_the_keys(tiny_model, tmp_path):
    out = tmp_path / "eval"
    result = runner.invoke(app, ["evaluate", str(tiny_model), "--n", "12", "--samples", "100", "--refine-n", "6",
                                 "--ls-n", "6", "--starts", "4", "--batch", "6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    for key in ("n", "mode_hit_rate", "median_abs_dD_K", "median_abs_dE_K", "refined_median_abs_dD_K",
                "refined_median_abs_dE_K", "coverage_50", "coverage_90", "ood_rate", "oracle_hit_rate"):
        assert key in summary
    assert summary["n"] == 12
    assert 0 <= summary["coverage_50"] <= summary["coverage_90"] <= 1
    rows = summary["comparison"]["rows"]
    assert {"ls_fixed_1", "ls_fixed_4", "ls_free_1", "ls_free_4", "lfjax_refined", "lfjax_top_mode"} <= set(rows)
    assert all(0 <= rows[k]["success_rate"] <= 1 for k in rows if k.startswith("ls_"))
    for name in ("coverage.png", "errors.png", "comparison.md", "arrays.npz"):
        assert (out / name).is_file()
