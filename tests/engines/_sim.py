"""Simulated measurement sets with known truth for the engine tests."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import lfjax
from lfjax.io.curves import Curve


def simulate_curves(ion, params, *, chi_dia=0.001, f_m=1.01, noise=0.003, seed=0, mh=True, n_t=30, n_h=12,
                    chi_noise=None, mh_noise=None, lam=0.0):
    """A powder chi(T) at 0 Oe (and an M(H) at 2 K): values with the error model and relative noise."""
    rng = np.random.default_rng(seed)
    temps = np.geomspace(2.0, 300.0, n_t)
    fields = np.linspace(2000.0, 50000.0, n_h)
    with jax.enable_x64(True):
        chi = np.asarray(lfjax.chi(ion, params, jnp.asarray(temps), 0.0, mean_field=lam))
        m = np.asarray(lfjax.magnetization(ion, params, jnp.full(n_h, 2.0), jnp.asarray(fields), mean_field=lam))
    y_chi = (f_m * chi + chi_dia) * (1 + noise * rng.standard_normal(n_t))
    curves = [Curve(kind="chi", temps_k=temps, fields_oe=np.zeros(n_t), values=y_chi, label="chi", noise=chi_noise)]
    if mh:
        y_m = (f_m * m + chi_dia * fields / 5584.939) * (1 + noise * rng.standard_normal(n_h))
        curves.append(Curve(kind="mh", temps_k=np.full(n_h, 2.0), fields_oe=fields, values=y_m, label="mh", noise=mh_noise))
    return curves
