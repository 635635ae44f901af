"""The conditional spline flow: round trips, log-determinants, identity at initialisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.models.flow import ConditionalFlow, coupling_masks


def _flow_and_params(perturb: float):
    flow = ConditionalFlow(n_dims=4, n_layers=3, n_bins=6, widths=(16,), bound=4.0)
    u = jnp.zeros((2, 4))
    ctx = jnp.zeros((2, 3))
    params = flow.init(jax.random.key(0), u, ctx, method=flow.log_prob)
    # move away from the zero-initialised identity so the round trip is non-trivial
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    leaves = [x + perturb * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)]
    return flow, jax.tree.unflatten(tree, leaves)


@pytest.mark.parametrize("use_jit", [False, True])
def test_round_trip_and_log_dets(use_jit):
    flow, params = _flow_and_params(0.1)
    u = 1.5 * jax.random.normal(jax.random.key(2), (16, 4))
    ctx = jax.random.normal(jax.random.key(3), (16, 3))
    fwd = lambda p, v, c: flow.apply(p, v, c, method=flow.forward_and_log_det)
    inv = lambda p, x, c: flow.apply(p, x, c, method=flow.inverse_and_log_det)
    if use_jit:
        fwd, inv = jax.jit(fwd), jax.jit(inv)
    x, ld_fwd = fwd(params, u, ctx)
    back, ld_inv = inv(params, x, ctx)
    assert float(jnp.max(jnp.abs(x - u))) > 0.05  # not the identity
    np.testing.assert_allclose(back, u, atol=2e-4)
    np.testing.assert_allclose(ld_fwd, -ld_inv, atol=2e-4)


def test_log_det_matches_jacobian():
    flow, params = _flow_and_params(0.1)
    v = jnp.array([0.3, -1.2, 0.7, 2.0])
    ctx = jnp.array([0.1, -0.4, 0.9])
    f = lambda v: flow.apply(params, v, ctx, method=flow.forward_and_log_det)[0]
    jac = jax.jacfwd(f)(v)
    _, log_det = flow.apply(params, v, ctx, method=flow.forward_and_log_det)
    np.testing.assert_allclose(log_det, np.linalg.slogdet(np.asarray(jac))[1], atol=1e-4)


def test_zero_initialised_flow_is_the_identity():
    flow = ConditionalFlow(n_dims=4, n_layers=3, n_bins=5, widths=(8,))
    u = jax.random.normal(jax.random.key(4), (10, 4))
    ctx = jax.random.normal(jax.random.key(5), (10, 2))
    params = flow.init(jax.random.key(6), u, ctx, method=flow.log_prob)
    x, log_det = flow.apply(params, u, ctx, method=flow.forward_and_log_det)
    np.testing.assert_allclose(x, u, atol=1e-6)
    np.testing.assert_allclose(log_det, 0.0, atol=1e-6)
    expected = -0.5 * np.sum(np.asarray(u) ** 2, -1) - 2 * np.log(2 * np.pi)
    np.testing.assert_allclose(flow.apply(params, u, ctx, method=flow.log_prob), expected, rtol=1e-5)


def test_density_integrates_to_one_in_two_dimensions():
    flow = ConditionalFlow(n_dims=2, n_layers=2, n_bins=4, widths=(8,), bound=3.0)
    params = flow.init(jax.random.key(7), jnp.zeros((1, 2)), jnp.zeros((1, 1)), method=flow.log_prob)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(8), len(leaves))
    params = jax.tree.unflatten(tree, [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)])
    g = np.linspace(-8, 8, 641)
    grid = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    log_prob = jax.jit(lambda p, u, c: flow.apply(p, u, c, method=flow.log_prob))
    logp = log_prob(params, jnp.asarray(grid), jnp.full((grid.shape[0], 1), 0.5))
    assert float(np.ptp(np.asarray(logp)[np.abs(grid).max(1) < 2])) > 0.5  # not a plain Gaussian
    total = float(np.exp(np.asarray(logp, np.float64)).sum() * (g[1] - g[0]) ** 2)
    assert abs(total - 1) < 1e-3


def test_masks_couple_every_pair():
    masks = coupling_masks(4, 6)
    for i in range(4):
        for j in range(4):
            if i != j:
                assert any(m[i] and not m[j] for m in masks)
