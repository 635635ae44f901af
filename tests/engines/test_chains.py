"""Metropolis chains at the posterior (`lfjax.engines.chains`)."""

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.engines import chains


def test_chains_recover_a_correlated_gaussian_from_dispersed_starts():
    cov = np.array([[1.0, 0.95, 0.0], [0.95, 1.0, 0.0], [0.0, 0.0, 1e-4]])
    prec = jnp.asarray(np.linalg.inv(cov))
    mean = np.array([1.0, -2.0, 0.01])

    def logdensity(x):
        r = x - mean
        return -0.5 * r @ prec @ r

    starts = mean + np.random.default_rng(0).normal(size=(32, 3)) * np.sqrt(np.diag(cov)) * 3
    with jax.enable_x64(True):
        ch = chains.refine(logdensity, starts, jax.random.key(0), n_adapt=1000, n_keep=2000, thin=5)
    assert ch.samples.shape == (32 * 400, 3)
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_array_less(np.abs(ch.samples.mean(0) - mean) / sd, 0.1)
    np.testing.assert_allclose(np.cov(ch.samples.T) / np.outer(sd, sd), cov / np.outer(sd, sd), atol=0.1)
    assert 0.1 < ch.acceptance < 0.5
    assert np.all(ch.rhat < 1.05) and np.all(ch.ess > 500)


def test_rhat_flags_chains_in_separate_places():
    rng = np.random.default_rng(1)
    mixed = rng.normal(size=(8, 500, 2))
    rhat, ess = chains.split_rhat_ess(mixed)
    assert np.all(np.abs(rhat - 1) < 0.02) and np.all(ess > 2000)
    apart = mixed + np.arange(8)[:, None, None] * 3.0
    rhat, _ = chains.split_rhat_ess(apart)
    assert np.all(rhat > 2)
