"""Partitioned nested sampling (`lfjax.engines.regions`) on targets with known evidence and shares."""

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.engines import regions

D = 4
MU = 4.0
SIGMA = 0.3
SHARE_A = 0.7


def _two_modes():
    mu_a = jnp.zeros(D).at[0].set(-MU)
    mu_b = jnp.zeros(D).at[0].set(MU)
    norm = -D * jnp.log(SIGMA * jnp.sqrt(2 * jnp.pi))

    def log_l(x):
        a = jnp.log(SHARE_A) - 0.5 * jnp.sum((x - mu_a) ** 2) / SIGMA**2
        b = jnp.log(1 - SHARE_A) - 0.5 * jnp.sum((x - mu_b) ** 2) / SIGMA**2
        return jnp.logaddexp(a, b) + norm

    def log_prior(x):
        return jnp.where(jnp.all(jnp.abs(x) <= 10.0), -D * jnp.log(20.0), -jnp.inf)

    def draw(key, n):
        return jax.random.uniform(key, (n, D), minval=-10.0, maxval=10.0)

    return log_prior, log_l, draw, -D * np.log(20.0)  # the likelihood integrates to 1


def test_cut_needs_an_empty_gap():
    rng = np.random.default_rng(0)
    assert regions.find_cut(rng.normal(size=(100, 6)), rng) is None
    assert regions.find_cut(rng.uniform(size=(100, 6)), rng) is None
    blobs = np.concatenate([rng.normal(size=(70, 6)), rng.normal(size=(30, 6)) + np.r_[12.0, np.zeros(5)]])
    w, c, side, _ = regions.find_cut(blobs, rng)
    assert side.sum() in (30, 70) and np.array_equal(side[:70], np.full(70, side[0]))
    assert not side[0] == side[-1]


def test_regions_keep_both_modes_and_the_evidence():
    """Two separated modes of mass 0.7 and 0.3: the run cuts them apart; evidence and shares hold."""
    log_prior, log_l, draw, exact = _two_modes()
    with jax.enable_x64(True):
        for seed in range(3):
            run = regions.run_regions(log_prior, log_l, draw, jax.random.key(seed), n_live=60, n_inner=2 * D,
                                      max_regions=4)
            w = np.exp(run.log_weight)
            share = w[run.positions[:, 0] < 0].sum()
            assert run.n_regions >= 3  # the whole box, then each side of a cut
            assert abs(run.log_z.mean() - exact) < 4 * run.log_z.std() + 0.3
            assert 0.35 < share < 0.95
            assert np.isclose(w.sum(), 1.0) and np.isclose(run.region_share.sum(), 1.0)


def test_bounds_restrict_the_run():
    """With the half-space x0 <= 0 as bounds, only mode a is seen; its evidence is 0.7 of the whole
    relative to the half box (prior volume 1/2): log Z = log(0.7) + log 2 + exact."""
    log_prior, log_l, draw, exact = _two_modes()

    def draw_half(key, n):
        x = draw(key, n)
        return x.at[:, 0].set(-jnp.abs(x[:, 0]))

    a = np.zeros((1, D))
    a[0, 0] = 1.0
    with jax.enable_x64(True):
        run = regions.run_regions(log_prior, log_l, draw_half, jax.random.key(5), n_live=60, n_inner=2 * D,
                                  max_regions=1, bounds=(a, np.zeros(1)))
    assert np.all(run.positions[:, 0] <= 0)
    assert abs(run.log_z.mean() - (np.log(SHARE_A) + np.log(2) + exact)) < 4 * run.log_z.std() + 0.3
