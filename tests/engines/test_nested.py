"""Nested sampling against a posterior and evidence known in closed form, and on a (D, E) curve."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from _sim import simulate_curves

import lfjax
from lfjax.engines import likelihood as lk
from lfjax.engines.nested import run_nested
from lfjax.engines.sample import fold_samples
from lfjax.spec import model_spec

ION = lfjax.ion("Er3+")


def _exact_linear_gaussian(problem, data):
    """Posterior (mean, cov) and log evidence of (chi_dia, f_m) with the ligand field fixed and the
    noise known: the model f_m s_i + chi_dia is linear and the priors Gaussian."""
    (curve,), (d,) = problem.curves, data
    with jax.enable_x64(True):
        s = np.asarray(lk.predict(problem, np.array([0.0, 1.0]), lk.to_jax(data))[0])
    scale = 1.0 / (d["weight"] * curve.noise)
    a = np.column_stack([scale, s * scale])
    b = d["values"] * scale
    mu0 = np.array([0.0, 1.0])
    p0 = np.diag([problem.priors.sigma_dia_emu_per_mol**2, problem.priors.sigma_m**2])
    cov = np.linalg.inv(np.linalg.inv(p0) + a.T @ a)
    mean = cov @ (np.linalg.inv(p0) @ mu0 + a.T @ b)
    n = b.size
    c = np.eye(n) + a @ p0 @ a.T
    r = b - a @ mu0
    log_n = -0.5 * r @ np.linalg.solve(c, r) - 0.5 * np.linalg.slogdet(c)[1] - 0.5 * n * np.log(2 * np.pi)
    log_z = -n * np.log(curve.noise) + 0.5 * n * np.log(2 * np.pi) + log_n  # log L as `lk.log_likelihood` writes it
    return mean, cov, log_z


def test_nested_matches_the_closed_form_posterior_and_evidence():
    curves = simulate_curves(ION, {"B20": -1.0}, mh=False, n_t=10, chi_noise=0.01, noise=0.01, seed=2)
    spec = model_spec(ION, preset="axial")
    problem, data = lk.build(curves, spec, fixed={name: (-1.0 if name == "B20" else 0.0) for name in spec.names})
    assert problem.n_theta == 2
    mean, cov, log_z = _exact_linear_gaussian(problem, data)
    post = run_nested(problem, data, n_live=200, n_draws=4000, seed=0)
    sd = np.sqrt(np.diag(cov))
    assert abs(post.log_evidence - log_z) <= max(3 * post.log_evidence_sd, 0.3), (post.log_evidence, log_z)
    assert 0 < post.log_evidence_sd < 0.5
    assert np.all(np.abs(post.samples.mean(0) - mean) <= 0.15 * sd), (post.samples.mean(0), mean, sd)
    assert np.all(np.abs(post.samples.std(0) / sd - 1) <= 0.15), (post.samples.std(0), sd)
    assert post.samples.shape == (4000, 2) and post.ess > 500


def test_integrated_nuisances_give_the_same_posterior_and_evidence():
    """Sampling B20 with (chi_dia, f_m) integrated out in closed form, then drawn from their
    conditional, against sampling all three: one posterior, one evidence."""
    curves = simulate_curves(ION, {"B20": -1.0}, mh=False, n_t=10, chi_noise=0.01, noise=0.01, seed=4)
    spec = model_spec(ION, preset="axial")
    problem, data = lk.build(curves, spec, fixed={"B40": 0.0, "B60": 0.0})
    assert problem.n_theta == 3
    full = run_nested(problem, data, n_live=200, n_draws=4000, seed=0, integrate_nuisances=False)
    reduced = run_nested(problem, data, n_live=200, n_draws=4000, seed=1)
    assert reduced.integrated_nuisances and not full.integrated_nuisances
    assert abs(full.log_evidence - reduced.log_evidence) <= 3 * np.hypot(full.log_evidence_sd, reduced.log_evidence_sd)
    sd = full.samples.std(0)
    assert np.all(np.abs(reduced.samples.mean(0) - full.samples.mean(0)) <= 0.2 * sd)
    assert np.all(np.abs(reduced.samples.std(0) / sd - 1) <= 0.2)
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        ll = np.asarray(jax.vmap(lambda t: lk.log_likelihood(problem, t, jdata))(reduced.samples[:20]))
    np.testing.assert_allclose(reduced.log_likelihood[:20], ll, rtol=1e-10)
    unknown, data_unknown = lk.build(simulate_curves(ION, {"B20": -1.0}, mh=False, n_t=10), spec)
    with pytest.raises(ValueError, match="noise level"):
        run_nested(unknown, data_unknown, n_live=20, integrate_nuisances=True)


def test_nested_finds_the_sign_of_d_on_an_easy_axis_curve():
    curves = simulate_curves(ION, {"D": -8.0, "E": 0.5}, mh=False, n_t=12, chi_noise=0.003)
    problem, data = lk.build(curves, model_spec(ION, preset="DE"), wedge_d_max_k=15.0)
    post = run_nested(problem, data, n_live=100, n_draws=500, seed=1)
    folded = fold_samples(problem, post.samples)
    assert np.mean(folded[:, 0] < 0) > 0.8
    assert np.all(np.isfinite(post.log_likelihood)) and np.isfinite(post.log_evidence)
    assert 0 < post.log_z_history.size <= post.n_iterations and np.all(np.diff(post.log_z_history) >= -1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("truth, seed", [((-6.0, 1.0), 0), ((4.5, 1.4), 3)])
def test_nested_matches_exact_grid_posterior(truth, seed):
    """The criterion the SMC route meets (`test_smc_sample`), for the nested route."""
    from test_smc_sample import assert_matches_grid, grid_posterior, smc_posterior

    curves = simulate_curves(ION, {"D": truth[0], "E": truth[1]}, mh=False, n_t=30, seed=seed, chi_noise=0.003)
    problem, data = lk.build(curves, model_spec(ION, preset="DE"), wedge_d_max_k=15.0)
    post = run_nested(problem, data, n_live=400, n_draws=4000, seed=seed)
    assert_matches_grid(grid_posterior(curves[0]), smc_posterior(fold_samples(problem, post.samples)))


def test_canonical_region_of_the_d3d_group_and_unfolded_draws():
    """D3d powder chi(T): the likelihood keeps B43, B63 -> -B43, -B63, so the run samples one half of
    the box (one half-space) and returns each draw as one of its two images."""
    from lfjax.engines.nested import canonical_region

    spec = model_spec(ION, preset="D3d")
    curves = simulate_curves(ION, {"B20": -1.0, "B40": 0.005, "B43": 0.1}, mh=False, n_t=8, chi_noise=0.01)
    problem, data = lk.build(curves, spec)
    target = lk.sampled_target(problem)
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        region = canonical_region(problem, target, jdata)
        x = np.asarray(region.draw(target.draw_prior)(jax.random.key(3), 500))
    assert region.group.n_maps == 2 and region.A.shape == (1, target.keep.size)
    flip = [problem.theta_names.index(n) for n in ("B43", "B63")]
    moved = np.flatnonzero(region.A[0])
    assert set(moved) == set(flip)  # the half-space involves the flipped entries only
    assert np.all(x @ region.A[0] <= 0) and np.all((x * np.where(np.isin(np.arange(x.shape[1]), flip), -1, 1))
                                                 @ region.A[0] >= 0)
    post = run_nested(problem, data, n_live=40, n_draws=400, seed=2, chain_steps=300, n_chains=16)
    share = np.mean(post.samples @ np.r_[region.A[0], 0.0, 0.0] <= 0)
    assert 0.35 < share < 0.65  # both images, in equal measure
    assert post.chains["n_chains"] == 16 and len(post.chains["rhat"]) == target.keep.size
