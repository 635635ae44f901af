"""VAE over normalised chi T curves: curve features (n_T,) -> latent (d_z,) -> curve features.

Encoder: MLP -> (mean, log variance) of a diagonal Gaussian q(z | x). Decoder: MLP z -> x_hat.
The encoder's input may be longer than the curve (a cut-off's position, `lfjax.data.cut`); the
decoder returns the n_T curve points. Loss per curve: mean squared reconstruction error over the
n_T points (those measured, for a cut curve) + kl_weight * KL(q || N(0, I)),
with KL = 1/2 sum(mean^2 + var - log var - 1). Inputs are the standardised features of the
min-max normalised curve (`Normalisation.features`), so every point has unit prior spread.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class MLP(nn.Module):
    """Dense layers with GELU between them; the last layer is linear.

    Attributes:
      widths: hidden widths.
      out: output size.
      zero_last: zero-initialise the last layer (output 0 at init).
    """

    widths: Sequence[int]
    out: int
    zero_last: bool = False

    @nn.compact
    def __call__(self, h):
        for w in self.widths:
            h = nn.gelu(nn.Dense(w)(h))
        init = nn.initializers.zeros if self.zero_last else nn.initializers.lecun_normal()
        return nn.Dense(self.out, kernel_init=init)(h)


class VAE(nn.Module):
    """Variational autoencoder of curve features.

    Attributes:
      n_points: curve length n_T.
      latent_dim: d_z.
      encoder_widths, decoder_widths: hidden widths.
    """

    n_points: int
    latent_dim: int = 3
    encoder_widths: Sequence[int] = (256, 256)
    decoder_widths: Sequence[int] = (256, 256)

    def setup(self):
        self.encoder = MLP(self.encoder_widths, 2 * self.latent_dim)
        self.decoder = MLP(self.decoder_widths, self.n_points)

    def encode(self, x):
        """(..., n_T) features -> mean (..., d_z), log variance (..., d_z)."""
        out = self.encoder(x)
        return out[..., : self.latent_dim], jnp.clip(out[..., self.latent_dim :], -12.0, 6.0)

    def decode(self, z):
        """(..., d_z) latent -> (..., n_T) reconstructed features."""
        return self.decoder(z)

    def __call__(self, x, *, key):
        """Returns (x_hat, mean, logvar) with z = mean + exp(logvar / 2) eps, eps ~ N(0, I)."""
        mean, logvar = self.encode(x)
        z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(key, mean.shape, mean.dtype)
        return self.decode(z), mean, logvar


def vae_losses(x, x_hat, mean, logvar, mask=None):
    """Per-curve reconstruction MSE (...,) over the points where `mask` (..., n_T) is True (all
    without a mask) and KL divergence to N(0, I) (...,), in nats."""
    if mask is None:
        recon = jnp.mean((x - x_hat) ** 2, axis=-1)
    else:
        w = mask.astype(x.dtype)
        recon = jnp.sum(w * (x - x_hat) ** 2, axis=-1) / jnp.maximum(jnp.sum(w, axis=-1), 1.0)
    kl = 0.5 * jnp.sum(mean**2 + jnp.exp(logvar) - logvar - 1.0, axis=-1)
    return recon, kl
