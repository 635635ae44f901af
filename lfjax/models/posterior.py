"""The full network: VAE over curves plus a conditional flow over theta given the latent.

Context of the flow: [stop_gradient(latent mean), embedding(curve)]. The latent keeps the
paper's structure (a 3-d map of curves, used for the "VAE plot" and out-of-distribution checks).
Three latent dimensions cannot carry the four parameters plus the shape details that separate
nearby (D, E) at 0.3 % noise, so a learned embedding of the curve (an MLP trained only by the
flow's likelihood) is added to the context; `embed_dim = 0` conditions on the latent alone.
The stop-gradient keeps the VAE's latent shaped by its own loss only.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from lfjax.models.flow import ConditionalFlow
from lfjax.models.vae import MLP, VAE, vae_losses


class VAEFlow(nn.Module):
    """VAE + conditional flow. Inputs are the network input (curve features (n_points,), then the
    cut-off's position for models trained on cut curves) and theta standardised (n_theta,)."""

    n_points: int
    latent_dim: int = 3
    encoder_widths: Sequence[int] = (256, 256)
    decoder_widths: Sequence[int] = (256, 256)
    embed_dim: int = 32
    embed_widths: Sequence[int] = (256, 256)
    flow_layers: int = 6
    flow_bins: int = 8
    flow_widths: Sequence[int] = (128, 128)
    flow_range: float = 5.0
    n_theta: int = 4

    def setup(self):
        self.vae = VAE(self.n_points, self.latent_dim, self.encoder_widths, self.decoder_widths)
        self.embed = MLP(self.embed_widths, self.embed_dim) if self.embed_dim > 0 else None
        self.flow = ConditionalFlow(self.n_theta, self.flow_layers, self.flow_bins, self.flow_widths, self.flow_range)

    def encode(self, x):
        """Latent mean (..., d_z) of curve features x (..., n_T)."""
        return self.vae.encode(x)[0]

    def decode(self, z):
        """Curve features (..., n_T) of latent z (..., d_z)."""
        return self.vae.decode(z)

    def context(self, x):
        """Flow context (..., d_z + embed_dim) of curve features x."""
        z = jax.lax.stop_gradient(self.encode(x))
        return z if self.embed is None else jnp.concatenate([z, self.embed(x)], axis=-1)

    def log_prob(self, u, x):
        """log p(u | x), u standardised theta (..., n_theta), x features (..., n_points)."""
        return self.flow.log_prob(u, self.context(x))

    def sample(self, x, n: int, *, key):
        """(..., n, n_theta) standardised theta draws for curve features x (..., n_T)."""
        ctx = self.context(x)
        ctx = jnp.broadcast_to(ctx[..., None, :], ctx.shape[:-1] + (n, ctx.shape[-1]))
        return self.flow.sample(ctx, key=key)

    def __call__(self, x, u, *, key, mask=None):
        """Per-curve losses (reconstruction MSE, KL, flow negative log-likelihood), each (...,).

        x: network input (..., n_inputs), its first n_points entries the curve's features; mask:
        optional (..., n_points) measured points (the reconstruction loss counts only those).
        """
        x_hat, mean, logvar = self.vae(x, key=key)
        recon, kl = vae_losses(x[..., : self.n_points], x_hat, mean, logvar, mask)
        nll = -self.log_prob(u, x)
        return recon, kl, nll


def build(model_cfg, n_points: int, n_theta: int = 4) -> VAEFlow:
    """The network for a `ModelConfig`, an observation of n_points values and n_theta flow variables."""
    return VAEFlow(
        n_points=n_points, latent_dim=model_cfg.latent_dim, encoder_widths=tuple(model_cfg.encoder_widths),
        decoder_widths=tuple(model_cfg.decoder_widths), embed_dim=model_cfg.embed_dim,
        embed_widths=tuple(model_cfg.embed_widths), flow_layers=model_cfg.flow_layers,
        flow_bins=model_cfg.flow_bins, flow_widths=tuple(model_cfg.flow_widths), flow_range=model_cfg.flow_range, n_theta=n_theta,
    )
