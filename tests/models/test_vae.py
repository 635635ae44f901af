"""The curve VAE and the combined network."""

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.models.posterior import VAEFlow
from lfjax.models.vae import VAE, vae_losses


def test_vae_shapes_and_kl_of_standard_normal_is_zero():
    vae = VAE(n_points=12, latent_dim=3, encoder_widths=(16,), decoder_widths=(16,))
    x = jax.random.normal(jax.random.key(0), (5, 12))
    params = vae.init(jax.random.key(1), x, key=jax.random.key(2))
    x_hat, mean, logvar = vae.apply(params, x, key=jax.random.key(3))
    assert x_hat.shape == (5, 12) and mean.shape == (5, 3) and logvar.shape == (5, 3)
    recon, kl = vae_losses(x, x_hat, jnp.zeros((5, 3)), jnp.zeros((5, 3)))
    np.testing.assert_allclose(kl, 0.0, atol=1e-7)
    np.testing.assert_allclose(recon, np.mean((np.asarray(x) - np.asarray(x_hat)) ** 2, -1), rtol=1e-6)


def test_flow_context_does_not_train_the_encoder():
    net = VAEFlow(n_points=8, latent_dim=2, encoder_widths=(8,), decoder_widths=(8,), embed_dim=4,
                  embed_widths=(8,), flow_layers=2, flow_bins=3, flow_widths=(8,))
    x = jax.random.normal(jax.random.key(0), (4, 8))
    u = jax.random.normal(jax.random.key(1), (4, 4))
    params = net.init(jax.random.key(2), x, u, key=jax.random.key(3))
    params = jax.tree.map(lambda p: p + 0.1, params)  # non-zero last layers
    grads = jax.jit(jax.grad(lambda p: jnp.sum(net.apply(p, u, x, method=net.log_prob))))(params)
    enc = grads["params"]["vae"]["encoder"]
    assert all(float(jnp.abs(g).max()) == 0.0 for g in jax.tree.leaves(enc))
    assert any(float(jnp.abs(g).max()) > 0.0 for g in jax.tree.leaves(grads["params"]["embed"]))
    samples = jax.jit(lambda p: net.apply(p, x, 7, key=jax.random.key(4), method=net.sample))(params)
    assert samples.shape == (4, 7, 4)
