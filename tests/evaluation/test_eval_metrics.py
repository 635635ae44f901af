"""Accuracy and calibration metrics on synthetic posteriors with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from lfjax.evaluation.metrics import (
    TOL_DE_K,
    accuracy_summary,
    central_ranks,
    coverage_curve,
    kde_mode_and_rank,
)
from lfjax.inference.posterior_modes import find_modes
from lfjax.physics import equivalents
from lfjax.symmetry import de_group, errors


def de_errors(estimate, truth):
    return errors(de_group(), np.asarray(estimate, float), np.asarray(truth, float))


def hits(estimate, truth, strict=False):
    from lfjax.symmetry import hits as group_hits

    return group_hits(de_group(), np.asarray(estimate, float), np.asarray(truth, float), TOL_DE_K, strict=strict)


def test_every_equivalent_of_the_truth_has_zero_error_and_hits():
    truth = np.array([-7.0, 1.5])
    eq = np.asarray(equivalents(*truth))
    np.testing.assert_allclose(de_errors(eq, np.repeat(truth[None], 6, 0)), 0, atol=1e-12)
    assert hits(eq, np.repeat(truth[None], 6, 0)).all()


def test_wedge_edge_identifies_the_sign_of_d():
    # (6, 2) and (-6, 2) are equivalents: E = |D|/3 makes the sign of D meaningless.
    np.testing.assert_allclose(de_errors(np.array([[-6.0, 2.0]]), np.array([[6.0, 2.0]])), 0, atol=1e-12)


def test_hit_box_is_1p5_k_in_d_and_1_k_in_e():
    truth = np.array([[-10.0, 1.0]] * 4)
    est = np.array([[-8.6, 1.9], [-8.4, 1.0], [-10.0, 2.1], [-11.4, 0.1]])
    assert hits(est, truth).tolist() == [True, False, False, True]
    # strict: the canonical estimate itself must match; (6, 2) vs (-6, 2) is then a miss
    assert hits(np.array([[-6.0, 2.0]]), np.array([[6.0, 2.0]])).tolist() == [True]
    assert hits(np.array([[-6.0, 2.0]]), np.array([[6.0, 2.0]]), strict=True).tolist() == [False]
    summary = accuracy_summary(est, truth)
    assert summary["hit_rate"] == 0.5
    assert summary["median_abs_dD_K"] == pytest.approx(np.median([1.4, 1.6, 0.0, 1.4]))


def test_nan_estimates_are_left_out():
    s = accuracy_summary(np.array([[np.nan, np.nan], [-5.0, 1.0]]), np.array([[-5.0, 1.0], [-5.0, 1.0]]))
    assert s["n"] == 1 and s["hit_rate"] == 1.0


def _gaussian_posteriors(rng, n_curves, n_draws, width_k, draw_width_k):
    """Posteriors N(mu, width^2) inside the wedge, truth ~ the same law, draws with draw_width."""
    mu = np.stack([rng.uniform(-13, -9, n_curves), rng.uniform(1.2, 1.8, n_curves)], -1)
    truth = mu + width_k * rng.normal(size=mu.shape)
    draws = mu[:, None] + draw_width_k * rng.normal(size=(n_curves, n_draws, 2))
    return draws, truth


def test_calibrated_gaussian_posterior_covers_at_the_nominal_levels():
    draws, truth = _gaussian_posteriors(np.random.default_rng(0), 300, 400, 0.3, 0.3)
    _, rank = kde_mode_and_rank(draws, truth)
    cov = coverage_curve(rank, [0.5, 0.9])
    assert abs(cov[0] - 0.5) < 0.08 and abs(cov[1] - 0.9) < 0.05


def test_too_narrow_posterior_undercovers_and_too_wide_overcovers():
    rng = np.random.default_rng(1)
    narrow, truth = _gaussian_posteriors(rng, 300, 400, 0.3, 0.12)
    _, rank = kde_mode_and_rank(narrow, truth)
    assert coverage_curve(rank, [0.9])[0] < 0.6
    wide, truth = _gaussian_posteriors(rng, 300, 400, 0.3, 0.9)
    _, rank = kde_mode_and_rank(wide, truth)
    assert coverage_curve(rank, [0.5])[0] > 0.8


def test_central_ranks_are_uniform_for_a_calibrated_scalar_posterior():
    rng = np.random.default_rng(2)
    mu = rng.normal(size=2000)
    truth = mu + rng.normal(size=2000)
    draws = mu[:, None] + rng.normal(size=(2000, 300))
    cov = coverage_curve(central_ranks(draws, truth), [0.5, 0.9])
    assert abs(cov[0] - 0.5) < 0.05 and abs(cov[1] - 0.9) < 0.03
    assert coverage_curve(central_ranks(0.3 * draws + 0.7 * mu[:, None], truth), [0.9])[0] < 0.5


def test_kde_top_mode_is_the_densest_find_modes_root():
    rng = np.random.default_rng(3)
    big = np.array([-9.0, 2.0]) + 0.3 * rng.normal(size=(300, 2))
    small = np.array([5.0, 0.5]) + 0.3 * rng.normal(size=(100, 2))
    draws = np.concatenate([small, big])
    mode, _ = kde_mode_and_rank(draws[None], np.array([[-9.0, 2.0]]))
    top = find_modes(draws[:, 0], draws[:, 1])[0]
    np.testing.assert_allclose(mode[0], [top.d_k, top.e_k], atol=1e-4)
    assert de_errors(mode, np.array([[-9.0, 2.0]]))[0].max() < 0.3
