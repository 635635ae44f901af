"""Evaluation for any model: HPD ranks on exact Gaussian posteriors, and a tiny axial model end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lfjax.cli.main import app
from lfjax.evaluation.general import evaluate_any, hpd_ranks, scaled_group
from lfjax.symmetry import SymmetryGroup, de_group

REPO = Path(__file__).resolve().parents[2]


def _gaussian_case(sd_draws: float, n_curves=300, n_draws=400, seed=0):
    """Posterior N(mu, I) per curve, truth drawn from it; draws with sd `sd_draws` (1 = exact)."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(n_curves, 3)) * 5
    truth = mu + rng.normal(size=mu.shape)
    draws = mu[:, None, :] + sd_draws * rng.normal(size=(n_curves, n_draws, 3))
    return draws, truth


def test_hpd_ranks_are_uniform_for_the_exact_posterior_and_not_for_a_narrow_one():
    group = SymmetryGroup(maps=np.eye(3)[None])
    draws, truth = _gaussian_case(1.0)
    ranks = hpd_ranks(group, draws, truth)
    assert abs(np.mean(ranks <= 0.5) - 0.5) < 0.08 and abs(np.mean(ranks <= 0.9) - 0.9) < 0.05
    narrow, truth = _gaussian_case(0.4)
    ranks = hpd_ranks(group, narrow, truth)
    assert np.mean(ranks <= 0.9) < 0.5  # a posterior 2.5x too narrow covers far less than it claims
    wide, truth = _gaussian_case(2.0)
    assert np.mean(hpd_ranks(group, wide, truth) <= 0.5) > 0.8


def test_scaled_group_is_a_group_in_standardised_coordinates():
    sd = np.array([3.0, 0.5, 0.002, 0.02])
    g = scaled_group(de_group(), sd, 4)
    theta = np.array([2.0, 0.3, 1e-3, 1.01])
    u = theta / sd
    for m_raw, m_std in zip(de_group().maps, g.maps):
        np.testing.assert_allclose(m_std @ u * sd, np.r_[m_raw @ theta[:2], theta[2:]], rtol=1e-12)


@pytest.fixture(scope="module")
def tiny_axial(tmp_path_factory):
    from lfjax.training import config as cfg_lib
    from lfjax.training.train import train_and_evaluate

    workdir = tmp_path_factory.mktemp("tiny_axial")
    cfg = cfg_lib.load(REPO / "configs" / "tiny_axial.toml", ["train.steps=60", "data.norm_curves=2000"])
    train_and_evaluate(cfg, workdir)
    return workdir


class _Narrow:
    """The model with every posterior shrunk by `factor` about its median (a deliberately overconfident posterior)."""

    def __init__(self, model, factor):
        self._model, self._factor = model, factor

    def __getattr__(self, name):
        return getattr(self._model, name)

    def sample_batch(self, chi_t, n, *, key, t_cut_k=None):
        draws = self._model.sample_batch(chi_t, n, key=key, t_cut_k=t_cut_k)
        med = np.median(draws, axis=1, keepdims=True)
        return med + self._factor * (draws - med)


def test_evaluate_any_gives_coverages_that_respond_to_a_narrow_posterior(tiny_axial):
    from lfjax.models.trained import load_model

    model = load_model(tiny_axial)
    summary, arrays = evaluate_any(model, n=60, n_samples=200, batch=30)
    names = ("B20", "B40", "B60", "chi_dia", "f_m")
    assert summary["parameters"] == list(names)
    for key in ("coverage_50", "coverage_90", "coverage_all_50", "coverage_all_90", "ood_rate"):
        assert 0.0 <= summary[key] <= 1.0
    assert summary["coverage_50"] <= summary["coverage_90"]
    assert summary["coverage_50"] == pytest.approx(np.mean(arrays["hpd_rank_model"] <= 0.5))
    assert all(summary["contraction"][n]["median"] > 0 for n in names)
    narrow, _ = evaluate_any(_Narrow(model, 0.2), n=60, n_samples=200, batch=30)
    assert narrow["coverage_90"] < summary["coverage_90"] - 0.3
    for n in names:
        assert narrow["contraction"][n]["median"] == pytest.approx(0.2 * summary["contraction"][n]["median"], rel=0.05)


def test_evaluate_any_on_cut_curves_feeds_the_cut_to_the_network(tiny_cut_model):
    whole, w_arrays = evaluate_any(tiny_cut_model, n=20, n_samples=100, batch=20)
    cut, c_arrays = evaluate_any(tiny_cut_model, n=20, n_samples=100, batch=20, t_cut_k=15.0)
    assert whole["t_cut_k"] is None and cut["t_cut_k"] == 15.0
    np.testing.assert_array_equal(w_arrays["theta"], c_arrays["theta"])  # the same test curves
    assert not np.allclose(w_arrays["posterior_median"], c_arrays["posterior_median"])  # seen differently
    assert 0.0 <= cut["coverage_50"] <= cut["coverage_90"] <= 1.0


def test_cli_evaluate_cut_needs_a_model_trained_on_cuts(tiny_axial, tmp_path):
    result = CliRunner().invoke(app, ["evaluate", str(tiny_axial), "--n", "20", "--cut-k", "12",
                                      "--out", str(tmp_path / "eval")])
    assert result.exit_code == 2 and "t_cut_max_k" in result.output
    assert not (tmp_path / "eval").exists()


def test_cli_evaluate_writes_the_general_summary_and_figures(tiny_axial, tmp_path):
    out = tmp_path / "eval"
    result = CliRunner().invoke(app, ["evaluate", str(tiny_axial), "--n", "20", "--samples", "100", "--batch", "10",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 20 and summary["model_parameters"] == ["B20", "B40", "B60"]
    for name in ("coverage.png", "contraction.png", "truth_vs_median.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "HPD coverage 50/90 %" in result.output
