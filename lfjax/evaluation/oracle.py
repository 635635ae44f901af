"""Exact-posterior oracle and best-known least-squares optima on a fixed grid of the canonical wedge.

The grid is that of `inference.grid.wedge_grid` (D = k h, E = m h/3); its zero-field curves
(`inference.grid.de_curves`, float64: call inside `jax.enable_x64(True)`) do not depend on the
data, so they are simulated once and reused for every test curve (the per-curve work is the
closed-form linear solve of `likelihood.linear_fit`).
For one measured curve it gives, on the grid:

- the exact marginal posterior mode (the "oracle"): (f_m, chi_dia) integrated out under the
  model's Gaussian priors, known relative noise; the prior on (D, E) is uniform on the wedge, so
  the largest log evidence is the maximum a posteriori (D, E);
- the best profiled fit with chi_dia and f_m free (noise profiled): the best-known optimum that a
  least-squares fit with the errors free should reach;
- the best fit with chi_dia = 0, f_m = 1 fixed: the best-known optimum with the errors ignored.
Each comes with its log-likelihood on the scale of `refine.Solution.log_likelihood` (profiled
noise, `likelihood.log_likelihood_from_rss`), so refined solutions can be compared with it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lfjax.inference.grid import de_curves, wedge_grid
from lfjax.inference.likelihood import NoiseModel, linear_fit, log_likelihood_from_rss
from lfjax.physics.ions import Ion


@dataclasses.dataclass(frozen=True, eq=False)
class GridBank:
    """Grid points (M, 2) (D, E) in K and their noise-free chi T (M, n_T) in emu K/mol."""

    points_de: np.ndarray
    chi_t: np.ndarray
    temps_k: np.ndarray


def grid_bank(ion: Ion, temps_k, d_max_k: float = 15.0, step_k: float = 0.15) -> GridBank:
    """Simulates every grid point of the canonical wedge once (float64 must be on)."""
    d_axis, e_axis, inside = wedge_grid(d_max_k, step_k)
    dd, ee = np.meshgrid(d_axis, e_axis)
    pts = np.stack([dd[inside], ee[inside]], axis=-1)
    temps = np.asarray(temps_k, dtype=np.float64)
    return GridBank(points_de=pts, chi_t=de_curves(ion, temps, pts), temps_k=temps)


@dataclasses.dataclass(frozen=True)
class OracleResult:
    """Per-curve grid optima, (B, 2) (D, E) in K and (B,) log-likelihoods (profiled noise)."""

    posterior_mode_de: np.ndarray
    free_best_de: np.ndarray
    free_best_log_likelihood: np.ndarray
    fixed_best_de: np.ndarray
    fixed_best_log_likelihood: np.ndarray


def _fixed_rss(sims: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.sum((sims / y - 1.0) ** 2, axis=-1)


def oracle(bank: GridBank, chi_t_data, noise_rel: float, sigma_dia_emu_per_mol: float, sigma_m: float) -> OracleResult:
    """Grid optima for each of the (B, n_T) measured curves (see the module docstring).

    Args:
      bank: the simulated grid (`grid_bank`) on the curves' temperatures.
      chi_t_data: (B, n_T) measured chi T in emu K/mol (> 0).
      noise_rel, sigma_dia_emu_per_mol, sigma_m: the error model of the exact posterior.
    """
    data = np.atleast_2d(np.asarray(chi_t_data, np.float64))
    n = data.shape[1]
    prior = NoiseModel(noise_rel=noise_rel, sigma_dia_emu_per_mol=sigma_dia_emu_per_mol, sigma_m=sigma_m)
    out = {k: [] for k in ("post", "free", "free_ll", "fixed", "fixed_ll")}
    for y in data:
        post = linear_fit(bank.chi_t, bank.temps_k, y, prior)["log_likelihood"]
        free = linear_fit(bank.chi_t, bank.temps_k, y, NoiseModel())["log_likelihood"]
        fixed = log_likelihood_from_rss(_fixed_rss(bank.chi_t, y), n)
        out["post"].append(bank.points_de[np.nanargmax(post)])
        i_free, i_fixed = np.nanargmax(free), np.nanargmax(fixed)
        out["free"].append(bank.points_de[i_free])
        out["free_ll"].append(free[i_free])
        out["fixed"].append(bank.points_de[i_fixed])
        out["fixed_ll"].append(fixed[i_fixed])
    return OracleResult(
        posterior_mode_de=np.array(out["post"]), free_best_de=np.array(out["free"]),
        free_best_log_likelihood=np.array(out["free_ll"]), fixed_best_de=np.array(out["fixed"]),
        fixed_best_log_likelihood=np.array(out["fixed_ll"]),
    )
