"""Conditional normalising flow over standardised theta, built from distrax spline couplings.

Variables: u in R^4, the standardised theta = (D, E, chi_dia, f_m) (see `Normalisation`), and a
context c (the VAE latent mean, optionally with a learned curve embedding).

Forward (sampling), base -> data: v ~ N(0, I_4), u = f_L o ... o f_1 (v). Each f_l is a masked
coupling: with a binary mask m_l, the masked entries pass unchanged and the others are mapped
elementwise by a rational-quadratic spline (Durkan et al. 2019) whose bin widths, heights and knot
slopes come from a conditioner network g_l(m_l * y, c):
  f_l(y) = m_l * y + (1 - m_l) * RQS(y; g_l(m_l * y, c)).
The spline acts on [-R, R] and is the identity outside it.
Inverse (density), data -> base: v = f_1^-1 o ... o f_L^-1 (u), each spline inverted in closed
form (a quadratic per bin).
Log-det: log|det du/dv| = sum_l sum_{i not masked} log RQS'(y_i), the log-derivatives of the
splines; the inverse's log-det is its negative. log p(u | c) = log N(v; 0, I) - log|det du/dv|.

Each conditioner's last layer is zero-initialised; zero spline parameters give the identity
(distrax, boundary_slopes="identity"), so the untrained flow is the identity and p(u | c) = N(0, I).
"""

from __future__ import annotations

from collections.abc import Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from lfjax.models.vae import MLP


def coupling_masks(n_dims: int, n_layers: int) -> list[np.ndarray]:
    """Binary masks cycling through halves and interleavings, so every pair of variables couples."""
    half = np.arange(n_dims) < n_dims // 2
    odd = np.arange(n_dims) % 2 == 1
    ends = (np.arange(n_dims) == 0) | (np.arange(n_dims) == n_dims - 1)
    patterns = [half, ~half, odd, ~odd, ends, ~ends]
    return [patterns[i % len(patterns)] for i in range(n_layers)]


class ConditionalFlow(nn.Module):
    """p(u | c) for u in R^n_dims (see the module docstring for the maps).

    Attributes:
      n_dims: dimension of u (4).
      n_layers: coupling layers L.
      n_bins: spline bins per coupling.
      widths: conditioner hidden widths.
      bound: spline interval [-bound, bound] (identity outside).
    """

    n_dims: int = 4
    n_layers: int = 6
    n_bins: int = 8
    widths: Sequence[int] = (128, 128)
    bound: float = 5.0

    def setup(self):
        if self.n_dims < 2:
            raise ValueError(f"a coupling flow needs n_dims >= 2; got {self.n_dims}")
        self.conditioners = [
            MLP(self.widths, self.n_dims * (3 * self.n_bins + 1), zero_last=True) for _ in range(self.n_layers)
        ]

    def _bijector(self, context) -> distrax.Bijector:
        layers = []
        for cond, mask in zip(self.conditioners, coupling_masks(self.n_dims, self.n_layers)):

            def conditioner(y, cond=cond):
                ctx = jnp.broadcast_to(context, y.shape[:-1] + context.shape[-1:])
                params = cond(jnp.concatenate([y, ctx], axis=-1))
                return params.reshape(y.shape + (3 * self.n_bins + 1,))

            def spline(params):
                return distrax.RationalQuadraticSpline(params, -self.bound, self.bound, boundary_slopes="identity")

            layers.append(distrax.MaskedCoupling(mask=jnp.asarray(mask), conditioner=conditioner, bijector=spline))
        # distrax.Chain applies its last element first in the forward direction.
        return distrax.Chain(layers[::-1])

    def forward_and_log_det(self, v, context):
        """Base point v (..., n) -> u (..., n) and log|det du/dv| (...)."""
        return self._bijector(context).forward_and_log_det(v)

    def inverse_and_log_det(self, u, context):
        """u (..., n) -> base point v (..., n) and log|det dv/du| (...) = -log|det du/dv|."""
        return self._bijector(context).inverse_and_log_det(u)

    def log_prob(self, u, context):
        """log p(u | c) in nats, shape (...)."""
        v, log_det = self.inverse_and_log_det(u, context)
        base = -0.5 * jnp.sum(v**2, axis=-1) - 0.5 * self.n_dims * jnp.log(2 * jnp.pi)
        return base + log_det

    def sample(self, context, *, key):
        """One draw of u per context row: context (..., c) -> u (..., n)."""
        v = jax.random.normal(key, context.shape[:-1] + (self.n_dims,), context.dtype)
        return self.forward_and_log_det(v, context)[0]
