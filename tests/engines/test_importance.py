"""Importance sampling around the fit's optima: proposal density, adaptation, and the posterior."""

from __future__ import annotations

import numpy as np
import pytest
from _sim import simulate_curves
from scipy import stats

import lfjax
from lfjax.engines import fit, importance
from lfjax.engines import likelihood as lk
from lfjax.engines.sample import fold_samples, run_sample
from lfjax.spec import model_spec

ION = lfjax.ion("Er3+")


def _mixture(rng, k=3, d=4):
    means = rng.normal(size=(k, d))
    chols = np.stack([np.linalg.cholesky(np.cov(rng.normal(size=(d, 3 * d)))) for _ in range(k)])
    return importance.Mixture(np.log(rng.uniform(0.2, 1.0, k)), means, chols)


def test_mixture_density_is_the_weighted_student_t_sum():
    rng = np.random.default_rng(0)
    mix = _mixture(rng)
    x = rng.normal(size=(50, 4))
    p = np.exp(mix.log_weights) / np.exp(mix.log_weights).sum()
    expected = sum(p[j] * stats.multivariate_t(loc=mix.means[j], shape=mix.chols[j] @ mix.chols[j].T,
                                                df=importance.DOF).pdf(x) for j in range(3))
    np.testing.assert_allclose(mix.log_density(x), np.log(expected), rtol=1e-10)


def test_mixture_draws_follow_the_density():
    rng = np.random.default_rng(1)
    mix = importance.Mixture(np.log([0.25, 0.75]), np.array([[-3.0], [2.0]]), np.array([[[0.5]], [[1.0]]]))
    x = mix.draw(rng, 40000)[:, 0]
    for q in (-4.0, -3.0, -0.5, 1.0, 2.0, 4.0):
        cdf = 0.25 * stats.t.cdf((q + 3.0) / 0.5, importance.DOF) + 0.75 * stats.t.cdf(q - 2.0, importance.DOF)
        assert abs(np.mean(x < q) - cdf) < 0.01, (q, np.mean(x < q), cdf)


def test_adapt_takes_the_weighted_moments():
    rng = np.random.default_rng(2)
    one = importance.Mixture(np.zeros(1), np.zeros((1, 2)), np.eye(2)[None])
    x = one.draw(rng, 20000)
    # importance weights target / proposal, target N((1, .5), .25 I)
    w = np.exp(-0.5 * np.sum((x - np.array([1.0, 0.5])) ** 2 / 0.25, axis=1) - one.log_density(x))
    w = w / w.sum()
    new = importance._adapt(one, x, w)
    mean = w @ x
    np.testing.assert_allclose(new.means[0], mean, rtol=1e-12)
    np.testing.assert_allclose(new.chols[0] @ new.chols[0].T / importance.INFLATE, (x - mean).T @ ((x - mean) * w[:, None]),
                               rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(mean, [1.0, 0.5], atol=0.03)
    two = importance.Mixture(np.log([0.5, 0.5]), np.array([[-1.0, 0.0], [1.0, 0.0]]), np.stack([np.eye(2)] * 2))
    x = two.draw(rng, 20000)
    w = np.exp(-0.5 * np.sum((x - np.array([1.5, 0.5])) ** 2 / 0.25, axis=1) - two.log_density(x))
    new = importance._adapt(two, x, w / w.sum())
    assert new.log_weights[1] - new.log_weights[0] > np.log(4)  # the mass moves to the component near the target


def _axial_problem(seed=0):
    spec = model_spec(ION, preset="axial")
    truth = {"B20": -0.6, "B40": 0.003, "B60": -2e-5}
    curves = simulate_curves(ION, truth, n_t=10, n_h=5, seed=seed, chi_noise=0.01, mh_noise=0.01, noise=0.01)
    return lk.build(curves, spec)


def test_importance_posterior_around_the_fit(x64):
    problem, data = _axial_problem()
    result = fit.run_fit(problem, data, n_starts=8, seed=0, noise_passes=0)
    post = importance.run_importance(problem, data, result, n_draws=256, max_rounds=2, seed=0)
    assert post.samples.shape == (256, problem.n_theta)
    assert np.all(np.isfinite(post.log_likelihood))
    assert 0 < post.ess[-1] <= 1 and 0 < post.ess_pooled <= 256 * len(post.ess)
    lo = np.array([r[0] for r in problem.ranges])
    hi = np.array([r[1] for r in problem.ranges])
    assert np.all((post.samples[:, :3] >= lo) & (post.samples[:, :3] <= hi))
    best = result.solutions[0].theta
    sd = post.samples.std(0)
    assert np.all(np.abs(post.samples.mean(0) - best) <= 3 * sd + 1e-12)  # posterior sits at the optimum


@pytest.mark.slow
def test_importance_agrees_with_smc():
    problem, data = _axial_problem(seed=3)
    result = fit.run_fit(problem, data, n_starts=16, seed=0)
    post = importance.run_importance(problem, data, result, n_draws=3000, seed=0)
    smc = run_sample(problem, data, n_particles=2000, n_mcmc=10, seed=0)
    a, b = fold_samples(problem, post.samples), fold_samples(problem, smc.samples)
    sd = b.std(0)
    assert np.all(np.abs(a.mean(0) - b.mean(0)) <= 0.2 * sd), (a.mean(0), b.mean(0), sd)
    assert np.all(np.abs(a.std(0) / sd - 1) <= 0.3), (a.std(0), sd)


def test_rounds_are_pooled_by_their_ess():
    """A bad round (one dominant draw) barely moves the pooled sample; the pool's ESS is reported."""
    rng = np.random.default_rng(0)
    good_x = rng.normal(0.0, 1.0, (400, 1))
    bad_x = rng.normal(5.0, 0.1, (400, 1))
    good_w = np.full(400, 1 / 400)
    bad_w = np.zeros(400)
    bad_w[0] = 1.0
    rounds = [(good_x, np.zeros(400), good_w, 400.0, 0.0), (bad_x, np.zeros(400), bad_w, 1.0, -3.0)]
    samples, _, w, ess, log_z = importance._pool(rounds, rng, 800)
    assert abs(samples.mean()) < 0.2  # the good round dominates: share 400/401
    assert w.sum() == pytest.approx(1.0) and ess == pytest.approx(1 / np.sum(w**2))
    assert 390 < ess < 401
    assert log_z == pytest.approx(np.log(400 / 401 + np.exp(-3.0) / 401))


def test_a_fit_without_optima_is_a_clear_model_error(x64):
    import dataclasses

    from lfjax.errors import ModelMismatchError

    curves = simulate_curves(lfjax.ion("Er3+"), {"D": -5.0, "E": 0.5}, mh=False, n_t=8, chi_noise=0.003)
    problem, data = lk.build(curves, model_spec(lfjax.ion("Er3+"), preset="DE"), wedge_d_max_k=15.0)
    empty = dataclasses.replace(fit.run_fit(problem, data, n_starts=2, seed=0), solutions=())
    with pytest.raises(ModelMismatchError, match="no optimum"):
        importance.polished(problem, empty, lk.to_jax(data))
