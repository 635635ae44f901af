"""The set likelihood against an independent numpy assembly of the error model."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _sim import simulate_curves

import lfjax
from lfjax.engines import likelihood as lk
from lfjax.errors import UserInputError
from lfjax.spec import model_spec

ION = lfjax.ion("Er3+")


def test_weighted_residuals_match_numpy(x64):
    spec = model_spec(ION, preset="axial")
    curves = simulate_curves(ION, {"B20": -0.5, "B40": 0.002, "B60": 1e-5}, n_t=8, n_h=5)
    problem, data = lk.build(curves, spec, fixed={"B60": 1e-5}, mean_field=False, noise=0.01)
    theta = jnp.asarray([-0.4, 0.0015, 0.0005, 0.98])
    res = np.asarray(lk.weighted_residuals(problem, theta, lk.to_jax(data), jnp.asarray([0.01, 0.02])))
    params = {"B20": -0.4, "B40": 0.0015, "B60": 1e-5}
    chi = np.asarray(lfjax.chi(ION, params, jnp.asarray(curves[0].temps_k), 0.0))
    m = np.asarray(lfjax.magnetization(ION, params, jnp.asarray(curves[1].temps_k), jnp.asarray(curves[1].fields_oe)))
    y0, y1 = curves[0].values, curves[1].values
    r0 = (0.98 * chi + 0.0005 - y0) / np.abs(y0) / 0.01
    w1 = np.maximum(np.abs(y1), 0.05 * np.abs(y1).max())
    r1 = (0.98 * m + 0.0005 * curves[1].fields_oe / 5584.939 - y1) / w1 / 0.02
    priors = [0.0005 / 0.002, (0.98 - 1) / 0.02]
    np.testing.assert_allclose(res, np.concatenate([r0, r1, priors]), rtol=1e-9, atol=1e-12)
    assert problem.theta_names == ("B20", "B40", "chi_dia_emu_per_mol", "f_m")


def test_profiled_nuisances_are_the_least_squares_optimum(x64):
    """Closed-form (chi_dia, f_m) equal numpy's linear least squares on the full residuals, with
    the mean field on; the profiled objective is then the minimum over the pair."""
    spec = model_spec(ION, preset="axial")
    curves = simulate_curves(ION, {"B20": -0.5, "B40": 0.002, "B60": 1e-5}, n_t=8, n_h=5)
    problem, data = lk.build(curves, spec, mean_field=True, noise=0.01)
    jdata, sigmas = lk.to_jax(data), jnp.asarray([0.01, 0.02])
    theta = jnp.asarray([-0.45, 0.0021, 1.2e-5, 0.7, 0.3, 0.05])  # nuisance entries are ignored
    res, full = lk.profiled_residuals(problem, theta, jdata, sigmas)

    def residual(pair):
        return np.asarray(lk.weighted_residuals(problem, theta.at[3].set(pair[0]).at[4].set(pair[1]), jdata, sigmas))

    base = residual((0.0, 0.0))  # affine in the pair: r(pair) = base + A pair
    a = np.stack([residual((1.0, 0.0)) - base, residual((0.0, 1.0)) - base], axis=1)
    pair = np.linalg.lstsq(a, -base, rcond=None)[0]
    np.testing.assert_allclose(np.asarray(full[3:5]), pair, rtol=1e-8)
    np.testing.assert_allclose(np.asarray(full)[[0, 1, 2, 5]], np.asarray(theta)[[0, 1, 2, 5]])
    np.testing.assert_allclose(np.asarray(res), residual(pair), rtol=1e-8, atol=1e-10)
    objective = float(np.sum(np.asarray(res) ** 2))
    for step in ((1e-4, 0.0), (0.0, 1e-3), (-1e-4, -1e-3)):
        assert objective < float(np.sum(residual(pair + np.asarray(step)) ** 2))


@pytest.mark.parametrize("mean_field", [False, True])
def test_integrated_nuisances_equal_the_quadrature_of_the_likelihood(x64, mean_field):
    """log of the integral of L over (chi_dia, f_m) under their normalised prior, and the pair's
    conditional mean and covariance, against a 2-D quadrature of `log_likelihood` (lambda held)."""
    spec = model_spec(ION, preset="axial")
    curves = simulate_curves(ION, {"B20": -0.5, "B40": 0.002, "B60": 1e-5}, n_t=8, n_h=5, noise=0.01,
                             chi_noise=0.01, mh_noise=0.02)
    problem, data = lk.build(curves, spec, mean_field=mean_field)
    assert lk.nuisances_integrable(problem)
    jdata = lk.to_jax(data)
    theta = jnp.asarray([-0.47, 0.0019, 1.1e-5, 0.3, 0.7] + ([0.05] if mean_field else []))
    log_l, mean, cov = lk.integrated_nuisances(problem, theta, jdata)
    sd = np.sqrt(np.diag(np.asarray(cov)))
    g = [np.asarray(mean)[i] + sd[i] * np.linspace(-9, 9, 91) for i in range(2)]
    pairs = np.stack(np.meshgrid(*g, indexing="ij"), axis=-1).reshape(-1, 2)
    thetas = jnp.asarray(np.repeat(np.asarray(theta)[None], len(pairs), 0)).at[:, 3:5].set(pairs)
    ll = np.asarray(jax.vmap(lambda t: lk.log_likelihood(problem, t, jdata))(thetas))
    s_dia, s_m = problem.priors.sigma_dia_emu_per_mol, problem.priors.sigma_m
    lp = -0.5 * (pairs[:, 0] / s_dia) ** 2 - 0.5 * ((pairs[:, 1] - 1) / s_m) ** 2 - np.log(2 * np.pi * s_dia * s_m)
    lw = ll + lp
    cell = (g[0][1] - g[0][0]) * (g[1][1] - g[1][0])
    assert float(log_l) == pytest.approx(np.log(np.sum(np.exp(lw - lw.max()))) + lw.max() + np.log(cell), abs=1e-6)
    w = np.exp(lw - lw.max())
    w /= w.sum()
    quad_mean = w @ pairs
    quad_cov = (pairs - quad_mean).T @ ((pairs - quad_mean) * w[:, None])
    np.testing.assert_allclose(np.asarray(mean), quad_mean, rtol=1e-7)
    np.testing.assert_allclose(np.asarray(cov), quad_cov, rtol=1e-5)
    # the pair is ignored on input, and a curve without a noise level rules the closed form out
    moved = theta.at[3].set(-0.2).at[4].set(1.4)
    assert float(lk.integrated_nuisances(problem, moved, jdata)[0]) == pytest.approx(float(log_l), rel=1e-12)
    problem_unknown, _ = lk.build(simulate_curves(ION, {"B20": -0.5}, n_t=8, n_h=5, chi_noise=0.01), spec)
    assert not lk.nuisances_integrable(problem_unknown)


def test_unknown_noise_is_integrated_and_prior_has_support(x64):
    spec = model_spec(ION, preset="DE")
    curves = simulate_curves(ION, {"D": -5.0, "E": 1.0}, mh=False, n_t=10)
    problem, data = lk.build(curves, spec, wedge_d_max_k=15.0)
    jdata = lk.to_jax(data)
    theta = jnp.asarray([-5.0, 1.0, 0.001, 1.01])
    rss = float(np.sum(np.asarray(lk.relative_residuals(problem, theta, jdata)[0]) ** 2))
    assert float(lk.log_likelihood(problem, theta, jdata)) == pytest.approx(-0.5 * 10 * np.log(rss), rel=1e-12)
    # the six (D, E) images of a wedge point are inside the prior; |D| > 15 K is not
    assert np.isfinite(float(lk.log_prior(problem, jnp.asarray([(3 * 1.0 + 5.0) / 2, (-5 + 1) / 2, 0.0, 1.0]))))
    assert float(lk.log_prior(problem, jnp.asarray([16.0, 0.0, 0.0, 1.0]))) == -np.inf
    draws = np.asarray(lk.draw_prior(problem, jax.random.key(0), 2000))
    canon = np.asarray(lfjax.canonical(draws[:, 0], draws[:, 1]))
    assert np.abs(canon[:, 0]).max() <= 15.0 + 1e-9
    assert 0.4 < np.mean(canon[:, 0] < 0) < 0.6  # the wedge is symmetric in the sign of D


def test_with_noise_conditions_each_curve_on_its_level(x64):
    spec = model_spec(ION, preset="axial")
    curves = simulate_curves(ION, {"B20": -1.0, "B40": 1e-3, "B60": 1e-5}, n_t=10, n_h=6)
    problem, data = lk.build(curves, spec)
    assert all(c.noise is None for c in problem.curves)
    given = lk.with_noise(problem, [0.004, 0.01])
    assert [c.noise for c in given.curves] == [0.004, 0.01] and given.names == problem.names
    jdata = lk.to_jax(data)
    theta = jnp.asarray([-0.9, 1e-3, 1e-5, 0.001, 1.01])
    r = [np.asarray(x) for x in lk.relative_residuals(given, theta, jdata)]
    expected = sum(-0.5 * np.sum(ri**2) / s**2 - ri.size * np.log(s) for ri, s in zip(r, (0.004, 0.01)))
    assert float(lk.log_likelihood(given, theta, jdata)) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="one positive noise level per curve"):
        lk.with_noise(problem, [0.004])
    with pytest.raises(ValueError, match="one positive noise level per curve"):
        lk.with_noise(problem, [0.004, 0.0])


def test_fix_of_unknown_name_is_refused():
    spec = model_spec(ION, preset="axial")
    with pytest.raises(UserInputError, match="B22"):
        lk.build(simulate_curves(ION, {"B20": -0.5}, mh=False, n_t=5), spec, fixed={"B22": 1.0})
