"""Global fit of simulated joint sets: the best objective is no worse than the truth's."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _sim import simulate_curves

import lfjax
from lfjax.engines import fit
from lfjax.engines import likelihood as lk
from lfjax.spec import model_spec

ION = lfjax.ion("Er3+")


def truth_objective(problem, data, theta, sigmas):
    with jax.enable_x64(True):
        return float(jnp.sum(lk.weighted_residuals(problem, jnp.asarray(theta), lk.to_jax(data), jnp.asarray(sigmas)) ** 2))


def test_errors_from_jacobian_linear_model():
    rng = np.random.default_rng(0)
    jac = rng.normal(size=(50, 3))
    expected = np.sqrt(np.diag(np.linalg.inv(jac.T @ jac)))
    np.testing.assert_allclose(fit.errors_from_jacobian(jac, 40.0), expected, rtol=1e-12)  # s^2 = max(1, 40/47)
    np.testing.assert_allclose(fit.errors_from_jacobian(jac, 94.0), expected * np.sqrt(2.0), rtol=1e-12)


def test_de_fit_reaches_truth_objective_and_lists_images_once():
    spec = model_spec(ION, preset="DE")
    curves = simulate_curves(ION, {"D": -6.0, "E": 0.8}, mh=False, n_t=20, chi_noise=0.003)
    problem, data = lk.build(curves, spec, wedge_d_max_k=15.0)
    result = fit.run_fit(problem, data, n_starts=16, seed=0)
    best = result.solutions[0]
    assert best.objective <= truth_objective(problem, data, [-6.0, 0.8, 0.001, 1.01], result.sigmas) + 1e-6
    canon = np.asarray(lfjax.canonical(best.theta[0], best.theta[1]))
    assert abs(canon[0] + 6.0) < 0.5  # D is determined; E ~ 0.8 K is not at 0.3 % noise (PHYSICS.md)
    # no two listed solutions are images of each other
    for i, a in enumerate(result.solutions):
        for b in result.solutions[:i]:
            ca = np.asarray(lfjax.canonical(a.theta[0], a.theta[1]))
            cb = np.asarray(lfjax.canonical(b.theta[0], b.theta[1]))
            assert np.linalg.norm(ca - cb) > 1e-3
    assert all(s.dlogL >= -2.0 for s in result.solutions)
    assert np.all(np.isfinite(best.errors[2:])) and np.all(best.errors[2:] > 0)  # chi_dia, f_m determined
    assert np.isnan(best.errors[1]) or best.errors[1] > 0.1  # E at the E = 0 edge is not


@pytest.mark.slow
@pytest.mark.parametrize("preset, truth, noise", [
    ("axial", {"B20": -0.6, "B40": 0.003, "B60": -2e-5}, 0.003),
    ("D3d", {"B20": -0.32, "B40": -0.0046, "B43": -0.164, "B60": 3.66e-5, "B63": -8.8e-5, "B66": 3.8e-4}, 0.01),
])
def test_joint_fit_no_worse_than_truth(preset, truth, noise):
    spec = model_spec(ION, preset=preset)
    curves = simulate_curves(ION, truth, noise=noise, n_t=25, n_h=10, chi_noise=noise, mh_noise=noise)
    problem, data = lk.build(curves, spec)
    result = fit.run_fit(problem, data, n_starts=32, seed=1)
    theta_true = [truth[n] for n in spec.names] + [0.001, 1.01]
    assert result.solutions[0].objective <= truth_objective(problem, data, theta_true, result.sigmas) + 1e-6


def test_fit_stays_in_the_prior_box_and_settles_on_the_bound_the_data_push_it_to():
    """Data from B20 beyond the prior box: the optimum lies on the box's bound, not outside it."""
    truth = {"B20": -1.0, "B40": 0.002, "B60": -1e-5}
    curves = simulate_curves(ION, truth, noise=0.003, n_t=20, mh=False, chi_noise=0.003)
    spec = model_spec(ION, preset="axial", ranges={"B20": (-0.5, 0.5), "B40": (-0.01, 0.01), "B60": (-1e-4, 1e-4)})
    problem, data = lk.build(curves, spec)
    result = fit.run_fit(problem, data, n_starts=8, seed=0)
    best = result.solutions[0].theta
    for (lo, hi), value in zip(problem.ranges, best[: problem.n_free]):
        assert lo <= value <= hi
    # no worse than an independent bounded least squares (scipy, trust-region reflective) from 6 starts
    from scipy.optimize import least_squares

    sigmas = jnp.asarray(result.sigmas)
    with jax.enable_x64(True):
        jd = lk.to_jax(data)
        res = jax.jit(lambda t: lk.weighted_residuals(problem, t, jd, sigmas))
        lo = [r[0] for r in problem.ranges] + [-np.inf, -np.inf]
        hi = [r[1] for r in problem.ranges] + [np.inf, np.inf]
        scale = problem.theta_scale()
        rng = np.random.default_rng(0)
        ref = min(2 * least_squares(lambda u: np.asarray(res(jnp.asarray(u * scale))), x0 / scale, bounds=(
            np.asarray(lo) / scale, np.asarray(hi) / scale), x_scale=1.0).cost
            for x0 in [np.r_[rng.uniform(lo[:3], hi[:3]), 0.0, 1.0] for _ in range(6)])
    assert result.solutions[0].objective <= ref * (1 + 1e-6) + 1e-6
    # with the truth inside the box the fit reaches its objective, as without the bound map
    wide = model_spec(ION, preset="axial", ranges={"B20": (-2.0, 2.0), "B40": (-0.01, 0.01), "B60": (-1e-4, 1e-4)})
    problem_w, data_w = lk.build(curves, wide)
    result_w = fit.run_fit(problem_w, data_w, n_starts=8, seed=0)
    theta_true = [truth[n] for n in wide.names] + [0.001, 1.01]
    assert result_w.solutions[0].objective <= truth_objective(problem_w, data_w, theta_true, result_w.sigmas) + 1e-6


def test_jacobian_mode_is_forward_for_axial_zero_field_chi_and_matches_central_differences():
    curves = simulate_curves(ION, {"B20": -0.6, "B40": 0.003, "B60": -2e-5}, n_t=12, n_h=6)
    axial, data = lk.build(curves, model_spec(ION, preset="axial"))
    assert fit.jacobian_mode(axial) == "forward"  # zero-field chi of an axial model: no eigensolver
    assert fit.jacobian_mode(lk.build(curves, model_spec(ION, preset="D3d"))[0]) == "fd"
    assert fit.jacobian_mode(lk.build(curves[1:], model_spec(ION, preset="D3d"))[0]) == "forward"  # M(H) only
    with jax.enable_x64(True):
        theta = jnp.asarray([-0.5, 0.0025, -1.5e-5, 0.0012, 1.0])
        sigmas = jnp.asarray([0.003, 0.003])
        jd = lk.to_jax(data)

        def res(t):
            return lk.weighted_residuals(axial, t, jd, sigmas)

        forward = np.asarray(jax.jacfwd(res)(theta))
        central = np.asarray(jax.jacfwd(fit.fd_jvp(lambda t, _: res(t), step=1e-9))(theta, None))
    scale = np.abs(forward).max(axis=0)
    assert np.all(np.isfinite(forward)) and np.max(np.abs(forward - central) / scale) < 1e-4
