"""The SMC's Metropolis kernel: mixture fit, invariance of the target, moves between modes."""

import jax
import jax.numpy as jnp
import numpy as np
from blackjax.mcmc.random_walk import init as rw_init

from lfjax.engines import mixture as mk

MODE_A, MODE_B = np.array([-4.0, 0.0]), np.array([4.0, 1.0])
WEIGHT_A = 0.3


def _bimodal_logpdf(x):
    """Two well-separated Gaussians (sd 0.3 and 0.5 x 0.2), weights 0.3 and 0.7."""
    la = jnp.log(WEIGHT_A) - 0.5 * jnp.sum(((x - MODE_A) / 0.3) ** 2) - 2 * jnp.log(0.3)
    lb = jnp.log(1 - WEIGHT_A) - 0.5 * jnp.sum(((x - MODE_B) / jnp.array([0.5, 0.2])) ** 2) - jnp.log(0.1)
    return jnp.logaddexp(la, lb)


def test_fit_mixture_finds_both_clusters_and_pads():
    rng = np.random.default_rng(0)
    pts = np.concatenate([MODE_A + 0.3 * rng.normal(size=(300, 2)), MODE_B + 0.3 * rng.normal(size=(700, 2))])
    mix = mk.fit_mixture(pts, np.ones(1000), seed=1)
    assert mix.means.shape == (mk.MAX_COMPONENTS + 1, 2) and mix.chols.shape == (mk.MAX_COMPONENTS + 1, 2, 2)
    w = np.exp(mix.log_weights)
    assert abs(w.sum() - 1) < 1e-12
    # every used component but the defensive one sits in one cluster; their weights add up per cluster
    used = np.flatnonzero(w > 0)[:-1]
    near_a = [k for k in used if np.linalg.norm(mix.means[k] - MODE_A) < 1.5]
    near_b = [k for k in used if np.linalg.norm(mix.means[k] - MODE_B) < 1.5]
    assert len(near_a) + len(near_b) == len(used)
    assert abs(w[near_a].sum() - 0.9 * 0.3) < 0.03 and abs(w[near_b].sum() - 0.9 * 0.7) < 0.03


def test_kernel_moves_particles_between_modes_to_the_right_weights():
    """All chains start in mode A; after 30 steps the share in A is the target's 0.3.

    A random walk scaled to either mode could not cross the gap of ~25 standard deviations; the
    independence move can, and the Metropolis-Hastings ratio makes the shares right.
    """
    rng = np.random.default_rng(2)
    # the mixture is fitted to particles of both modes (as in SMC, where tempering found them),
    # with the wrong weights: the kernel must correct them
    seen = np.concatenate([MODE_A + 0.3 * rng.normal(size=(500, 2)), MODE_B + 0.3 * rng.normal(size=(500, 2))])
    mix_np = mk.fit_mixture(seen, np.ones(1000), seed=3)
    start_np = MODE_A + 0.3 * rng.normal(size=(2000, 2))

    def chain(key, x0):
        state = rw_init(x0, _bimodal_logpdf)

        def body(s, k):
            s, info = mk.step(k, s, _bimodal_logpdf, mix.means, mix.chols, mix.log_weights, 1.0)
            return s, info.independence_acceptance

        s, acc = jax.lax.scan(body, state, jax.random.split(key, 30))
        return s.position, acc.mean()

    with jax.enable_x64(True):
        mix = mk.Mixture(*(jnp.asarray(a) for a in mix_np))
        pos, acc = jax.vmap(chain)(jax.random.split(jax.random.key(0), 2000), jnp.asarray(start_np))
    pos = np.asarray(pos)
    share_a = np.mean(pos[:, 0] < 0)
    assert abs(share_a - WEIGHT_A) < 0.04, share_a
    in_b = pos[pos[:, 0] > 0]
    np.testing.assert_allclose(in_b.mean(0), MODE_B, atol=0.06)
    np.testing.assert_allclose(in_b.std(0), [0.5, 0.2], rtol=0.1)
    assert float(np.mean(np.asarray(acc))) > 0.2
