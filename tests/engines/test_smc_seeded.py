"""Tempered SMC seeded by the global fit's optima: the starting density and the path."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from _sim import simulate_curves

import lfjax
from lfjax.engines import likelihood as lk
from lfjax.engines import mixture as mk
from lfjax.engines.fit import _distinct_rows, run_fit
from lfjax.engines.sample import (
    REFERENCE_PROPOSAL_SHARE,
    SEED_WITHIN,
    _with_reference,
    fit_reference,
    fold_samples,
    run_sample_seeded,
    seeding_fit,
)
from lfjax.spec import model_spec

ION = lfjax.ion("Er3+")


def _de_set():
    curves = simulate_curves(ION, {"D": -8.0, "E": 0.5}, mh=False, n_t=12, chi_noise=0.003)
    return lk.build(curves, model_spec(ION, preset="DE"), wedge_d_max_k=15.0)


def test_fit_reference_is_a_normalised_density_of_its_draws(x64):
    problem, data = _de_set()
    fit = run_fit(problem, data, n_starts=8, seed=0)
    # "earlier draws": a cluster far from the fit's optimum, on the easy-plane side
    rng = np.random.default_rng(0)
    far = np.column_stack([6.0 + 0.2 * rng.normal(size=600), 1.0 + 0.1 * rng.normal(size=600),
                           1e-4 * rng.normal(size=600), 1 + 0.01 * rng.normal(size=600)])
    ref = fit_reference(problem, data, fit, 20000, seed=1, particles=far, defensive=0.2)
    assert ref.theta.shape == (20000, problem.n_theta)
    with jax.enable_x64(True):
        log_r = np.asarray(jax.vmap(lambda t: ref.log_r(problem, ref.params, t))(jax.numpy.asarray(ref.theta)))
        log_p = np.asarray(jax.vmap(lambda t: lk.log_prior(problem, t))(jax.numpy.asarray(ref.theta)))
    log_p = log_p - lk.log_prior_norm(problem)
    assert np.all(np.isfinite(log_r))
    # E_r[prior / r] = integral of the normalised prior = 1: draws and density belong together
    ratio = np.where(np.isfinite(log_p), np.exp(log_p - log_r), 0.0)
    assert abs(ratio.mean() - 1.0) < 4 * ratio.std() / np.sqrt(ratio.size) + 0.01, ratio.mean()
    # both sources hold particles: near the fit's optimum (its symmetry images folded onto it) and near the cluster
    best = fold_samples(problem, fit.solutions[0].theta[None])[0]
    near_fit = np.mean(np.abs(fold_samples(problem, ref.theta)[:, 0] - best[0]) < 1.5)
    near_far = np.all(np.abs(ref.theta[:, :2] - [6.0, 1.0]) < 1.0, axis=1).mean()
    assert near_fit > 0.05 and near_far > 0.2, (near_fit, near_far)


def test_seeded_path_reaches_the_posterior(x64):
    problem, data = _de_set()
    seeds = seeding_fit(problem, data, n_starts=8, seed=0)
    post = run_sample_seeded(problem, data, seeds, n_particles=128, n_mcmc=3, seed=0)
    folded = fold_samples(problem, post.samples)
    assert post.samples.shape == (128, 4)
    assert post.betas[-1] == 1.0 and np.all(np.diff(post.betas) > 0)
    assert np.mean(folded[:, 0] < 0) > 0.8  # a clear easy-axis curve, as SMC from the prior finds
    assert abs(np.median(folded[:, 0]) + 8.0) < 1.0
    assert all(s.dlogL >= -SEED_WITHIN for s in seeds.solutions)


def test_loose_copies_of_one_optimum_count_once():
    scale = np.array([1.0, 0.01])
    theta = np.array([[1.0, 0.005], [1.0 + 1e-5, 0.005 + 1e-7], [0.5, 0.005], [1.0, 0.006]])
    obj = np.array([3.0, 2.0, 5.0, 4.0])
    # row 0 is a loose copy of row 1 (the better); rows 2 and 3 are other basins
    assert _distinct_rows(theta, obj, scale).tolist() == [1, 3, 2]


def test_reference_proposals_refill_a_mode_the_particles_lost(x64):
    """Target: two unit Gaussians at x = -3 and +3 with equal mass; every particle starts at -3.
    The moves of the particles' own mixture never leave that mode; with the reference's components
    (one per mode) in the independence proposal the particles return to +3 with its half of the mass
    (without them, 8 % had crossed after 20 steps)."""
    import jax.numpy as jnp
    from blackjax.mcmc.random_walk import init as rw_init

    centres = np.array([[-3.0, 0.0], [3.0, 0.0]])
    logd = lambda t: jax.scipy.special.logsumexp(-0.5 * jnp.sum((t[None] - jnp.asarray(centres)) ** 2, -1))
    x = np.random.default_rng(0).standard_normal((400, 2)) + centres[0]
    eye = np.repeat(np.eye(2)[None], 2, 0)
    ref = mk.Reference(theta=x, params=(centres, 1.3 * eye, np.log([0.5, 0.5]), 0.0, 0.2))
    own = mk.fit_mixture(x, np.ones(len(x)), seed=0)
    joined = _with_reference(own, ref)
    assert np.exp(jax.scipy.special.logsumexp(jnp.asarray(joined.log_weights))) == pytest.approx(1.0)
    assert np.exp(np.logaddexp.reduce(joined.log_weights[-2:])) == pytest.approx(REFERENCE_PROPOSAL_SHARE)

    def run(mix):
        def one(key, xi):
            st = rw_init(jnp.asarray(xi), logd)
            for k in jax.random.split(key, 20):
                st, _ = mk.step(k, st, logd, *(jnp.asarray(a) for a in mix), jnp.asarray(1.0))
            return st.position
        return np.asarray(jax.vmap(one)(jax.random.split(jax.random.key(1), len(x)), x))

    assert np.mean(run(own)[:, 0] > 0) < 0.2  # a few cross by chance, far from half
    assert abs(np.mean(run(joined)[:, 0] > 0) - 0.5) < 0.1
