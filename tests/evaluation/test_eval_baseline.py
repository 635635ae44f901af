"""Least-squares baselines and the grid oracle on curves with known optima."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.evaluation import baseline, lsq
from lfjax.evaluation.oracle import grid_bank, oracle
from lfjax.physics import chi_t_powder_de, ion

#: the LS solver and the oracle run in float64 (`evaluate` switches it on itself)
pytestmark = pytest.mark.usefixtures("x64")
ER = ion("Er3+")
TEMPS = np.geomspace(1.8, 300, 32)


def _curve(d, e, chi_dia=0.0, f_m=1.0):
    with jax.enable_x64(True):
        sim = np.asarray(chi_t_powder_de(ER, d, e, jnp.asarray(TEMPS), dtype=jnp.float64))
    return f_m * sim + chi_dia * TEMPS


def test_random_starts_lie_in_the_canonical_wedge():
    s = baseline.random_starts(jax.random.key(0), 50, 8, 15.0)
    assert s.shape == (50, 8, 2)
    assert np.all(np.abs(s[..., 0]) <= 15) and np.all((s[..., 1] >= 0) & (s[..., 1] <= np.abs(s[..., 0]) / 3))


def test_multistart_ls_with_free_errors_recovers_an_easy_curve():
    y = _curve(-8.0, 1.0, chi_dia=0.001, f_m=1.02)[None]
    starts = baseline.random_starts(jax.random.key(1), 1, 8, 15.0)
    best = lsq.best_solution(lsq.fit(ER, TEMPS, y, starts, free_errors=True))
    np.testing.assert_allclose(best["de"][0], [-8.0, 1.0], atol=1e-3)
    assert best["chi_dia"][0] == pytest.approx(0.001, abs=1e-6)
    assert best["f_m"][0] == pytest.approx(1.02, abs=1e-5)
    assert best["rss"][0] < 1e-12


def test_fixed_errors_fit_is_biased_by_a_diamagnetic_error():
    y = _curve(-8.0, 1.0, chi_dia=0.004)[None]
    starts = baseline.random_starts(jax.random.key(2), 1, 8, 15.0)
    fixed = lsq.best_solution(lsq.fit(ER, TEMPS, y, starts, free_errors=False))
    free = lsq.best_solution(lsq.fit(ER, TEMPS, y, starts, free_errors=True))
    assert fixed["rss"][0] > 1e3 * free["rss"][0]
    assert np.allclose(free["de"][0], [-8.0, 1.0], atol=1e-3)


def test_success_is_relative_to_the_best_known_log_likelihood():
    assert baseline.success([10.0, 9.6, 9.4], [10.0, 10.0, 10.0], tol_ll=0.5).tolist() == [True, True, False]


def test_oracle_finds_the_grid_point_of_a_noise_free_curve():
    bank = grid_bank(ER, TEMPS, d_max_k=12.0, step_k=0.5)
    truth = np.array([[-6.0, 1.0], [4.5, 0.5]])
    y = np.stack([_curve(*truth[0], chi_dia=0.001, f_m=0.99), _curve(*truth[1])])
    res = oracle(bank, y, noise_rel=0.003, sigma_dia_emu_per_mol=0.002, sigma_m=0.02)
    np.testing.assert_allclose(res.posterior_mode_de, truth, atol=1e-9)
    np.testing.assert_allclose(res.free_best_de, truth, atol=1e-9)
    np.testing.assert_allclose(res.fixed_best_de[1], truth[1], atol=1e-9)
    assert res.fixed_best_log_likelihood[0] < res.free_best_log_likelihood[0]


def test_batched_lm_agrees_with_inference_refine():
    from lfjax.inference.refine import Problem, refine

    rng = np.random.default_rng(4)
    y = _curve(-5.0, 1.2, chi_dia=0.0015, f_m=1.01) * (1 + 0.003 * rng.normal(size=TEMPS.size))
    starts = baseline.random_starts(jax.random.key(5), 1, 8, 15.0)
    mine = lsq.best_solution(lsq.fit(ER, TEMPS, y[None], starts, free_errors=True))
    with jax.enable_x64(True):
        sols = refine(Problem(ER, ("D", "E", "chi_dia", "f_m")), TEMPS, y, np.zeros_like(TEMPS),
                      starts[0])
    assert mine["rss"][0] == pytest.approx(sols[0].rss, rel=1e-4)
    np.testing.assert_allclose(mine["de"][0], [sols[0].values["D"], sols[0].values["E"]], atol=1e-3)
