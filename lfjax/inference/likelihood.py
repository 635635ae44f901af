"""Likelihood of a chi T curve under the error model, linear parameters solved in closed form.

Residuals are relative: r_i = (chiT_model_i - chiT_data_i) / chiT_data_i, with the error model
chiT_model = f_m chiT_sim + chi_dia T (docs/physics.md), i.e. chi_exp = f_m chi + chi_dia per point.
Given chiT_sim the model is linear in beta = (f_m, chi_dia): r = A beta - 1 with
A_i = (chiT_sim_i, T_i) / chiT_data_i. Three likelihoods of the relative residuals
(constants that do not depend on the parameters, such as sum log chiT_data, are dropped):
  - profiled noise (noise_rel None): sigma^2 = RSS / n,  log L = -(n/2) (log(2 pi RSS / n) + 1);
  - known relative noise sigma:  log L = -RSS / (2 sigma^2) - (n/2) log(2 pi sigma^2);
  - known sigma and Gaussian priors f_m ~ N(1, sigma_m^2), chi_dia ~ N(0, sigma_dia^2): the exact
    marginal likelihood (evidence) with beta integrated out, with P = L0 + A^T A / sigma^2,
    m = P^-1 (L0 mu0 + A^T 1 / sigma^2):
    log Z = -(n/2) log(2 pi sigma^2) + (1/2) log det L0 - (1/2) log det P
            - (1/2) (n / sigma^2 + mu0^T L0 mu0 - m^T P m).
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class NoiseModel:
    """How residuals are scored.

    Attributes:
      noise_rel: relative point noise sigma (e.g. 0.003), or None to profile it (sigma^2 = RSS/n).
      sigma_dia_emu_per_mol: prior width of chi_dia (emu/mol), or None for no prior.
      sigma_m: prior width of f_m around 1, or None for no prior.
    """

    noise_rel: float | None = None
    sigma_dia_emu_per_mol: float | None = None
    sigma_m: float | None = None

    def __post_init__(self):
        has_prior = self.sigma_dia_emu_per_mol is not None or self.sigma_m is not None
        if has_prior and (self.sigma_dia_emu_per_mol is None or self.sigma_m is None):
            raise ValueError("priors need both sigma_dia and sigma_m")
        if has_prior and self.noise_rel is None:
            raise ValueError("the marginal posterior with priors needs a known relative noise (noise_rel)")
        for name in ("noise_rel", "sigma_dia_emu_per_mol", "sigma_m"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0; got {value}")

    @property
    def has_prior(self) -> bool:
        return self.sigma_m is not None


def log_likelihood_from_rss(rss, n: int, noise_rel: float | None = None):
    """log L of relative residuals with residual sum of squares `rss` over `n` points."""
    rss = np.asarray(rss, dtype=float)
    if noise_rel is None:
        return -(n / 2) * (np.log(2 * np.pi * rss / n) + 1)
    return -rss / (2 * noise_rel**2) - (n / 2) * np.log(2 * np.pi * noise_rel**2)


def linear_fit(chi_t_sim, temps_k, chi_t_data, noise: NoiseModel = NoiseModel()):
    """Best (f_m, chi_dia) for each simulated curve and the curve's log-likelihood.

    Args:
      chi_t_sim: (..., n) simulated chi T in emu K/mol (f_m = 1, chi_dia = 0).
      temps_k, chi_t_data: (n,) temperatures in K and measured chi T in emu K/mol.
      noise: the likelihood (see the module docstring).

    Returns:
      dict of (...)-shaped arrays: f_m, chi_dia (emu/mol; posterior means with priors), rss (at
      those values), log_likelihood (log evidence with priors).
    """
    sim = np.asarray(chi_t_sim, dtype=float)
    y = np.asarray(chi_t_data, dtype=float)
    a = np.stack([sim / y, np.broadcast_to(np.asarray(temps_k, dtype=float) / y, sim.shape)], axis=-1)
    gram = np.einsum("...ni,...nj->...ij", a, a)
    rhs = a.sum(axis=-2)
    n = y.size
    if noise.has_prior:
        s2 = noise.noise_rel**2
        prec0 = np.diag([1 / noise.sigma_m**2, 1 / noise.sigma_dia_emu_per_mol**2])
        mu0 = np.array([1.0, 0.0])
        prec = prec0 + gram / s2
        beta = np.linalg.solve(prec, (prec0 @ mu0 + rhs / s2)[..., None])[..., 0]
        quad = n / s2 + mu0 @ prec0 @ mu0 - np.einsum("...i,...ij,...j->...", beta, prec, beta)
        log_l = (-(n / 2) * np.log(2 * np.pi * s2) + 0.5 * np.linalg.slogdet(prec0)[1]
                 - 0.5 * np.linalg.slogdet(prec)[1] - 0.5 * quad)
    else:
        beta = np.linalg.solve(gram, rhs[..., None])[..., 0]
    resid = np.einsum("...ni,...i->...n", a, beta) - 1.0
    rss = np.sum(resid**2, axis=-1)
    if not noise.has_prior:
        log_l = log_likelihood_from_rss(rss, n, noise.noise_rel)
    return {"f_m": beta[..., 0], "chi_dia": beta[..., 1], "rss": rss, "log_likelihood": log_l}
