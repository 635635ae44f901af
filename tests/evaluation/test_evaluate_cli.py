"""`lfjax evaluate` end to end on a tiny model, and its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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


def test_evaluate_summary_values_agree_with_its_arrays_and_figures(tiny_model, tmp_path):
    from lfjax.evaluation.metrics import TOL_DE_K
    from lfjax.evaluation.report import figures
    from lfjax.symmetry import de_group, errors, hits

    out = tmp_path / "eval"
    result = runner.invoke(app, ["evaluate", str(tiny_model), "--n", "12", "--samples", "100", "--refine-n", "6",
                                 "--ls-n", "6", "--starts", "4", "--batch", "6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    arrays = dict(np.load(out / "arrays.npz"))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["summary.json", "comparison.md", "arrays.npz", "coverage.png", "errors.png", "truth_vs_mode.png"])
    assert summary["n"] == 12 and arrays["truth_de"].shape == (12, 2) and arrays["refined_de"].shape == (6, 2)
    group, truth = de_group(), arrays["truth_de"]
    # every reported number is recomputed from the per-curve arrays
    assert summary["mode_hit_rate"] == pytest.approx(np.mean(hits(group, arrays["mode_de"], truth, TOL_DE_K)))
    assert summary["median_abs_dD_K"] == pytest.approx(np.median(errors(group, arrays["mode_de"], truth)[:, 0]))
    assert summary["oracle_hit_rate"] == pytest.approx(np.mean(hits(group, arrays["oracle_de"], truth, TOL_DE_K)))
    assert summary["refined_median_abs_dE_K"] == pytest.approx(
        np.median(errors(group, arrays["refined_de"], truth[:6])[:, 1]))
    assert summary["coverage_50"] == pytest.approx(np.mean(arrays["hpd_rank"] <= 0.5))
    assert summary["coverage_90"] == pytest.approx(np.mean(arrays["hpd_rank"] <= 0.9))
    assert summary["ood_rate"] == pytest.approx(np.mean(arrays["ood_flagged"]))
    assert 0 <= summary["coverage_50"] <= summary["coverage_90"] <= 1
    rows = summary["comparison"]["rows"]
    assert {"ls_fixed_1", "ls_fixed_4", "ls_free_1", "ls_free_4", "lfjax_refined", "lfjax_top_mode"} <= set(rows)
    assert rows["lfjax_refined"]["hit_rate"] == pytest.approx(np.mean(hits(group, arrays["refined_de"], truth[:6], TOL_DE_K)))
    for name in ("fixed_1", "free_4"):
        assert rows[f"ls_{name}"]["hit_rate"] == pytest.approx(np.mean(hits(group, arrays[f"ls_{name}_de"], truth[:6], TOL_DE_K)))
    assert all(0 <= rows[k]["success_rate"] <= 1 for k in rows if k.startswith("ls_"))
    table = (out / "comparison.md").read_text().splitlines()
    assert len(table) == 4 + len(rows) and table[2].startswith("| method | hit rate")
    # the figures, through their matplotlib objects
    figs = figures(summary, arrays)
    cov = figs["coverage.png"].axes[0]
    assert [line.get_label() for line in cov.lines] == ["ideal", "(D, E) HPD region", "χ_dia central interval",
                                                         "f_m central interval"]
    np.testing.assert_allclose(cov.lines[1].get_ydata(), summary["coverage_hpd_de"])
    assert cov.get_xlabel() == "nominal credible level" and cov.get_ylabel() == "empirical coverage"
    err_d, err_e = figs["errors.png"].axes
    methods = [line.get_label() for line in err_d.lines if not line.get_label().startswith("_")]
    assert methods[:3] == ["exact posterior (oracle)", "lfjax top mode", "lfjax + refinement"] and len(methods) == 7
    np.testing.assert_allclose(np.sort(err_d.lines[1].get_xdata()),
                               np.sort(errors(group, arrays["mode_de"][:6], truth[:6])[:, 0]))
    assert err_d.get_xscale() == "log" and err_e.get_xlabel() == "|ΔE| (K)"
    ax_d = figs["truth_vs_mode.png"].axes[0]
    assert ax_d.get_xlabel() == "true D (K)" and len(ax_d.collections[0].get_offsets()) == 12
