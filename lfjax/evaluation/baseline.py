"""Least-squares baselines: single- and multi-start fits with the errors fixed or free.

Four variants on the same curves (the solver is `lsq.fit`; starts are uniform draws from the
canonical wedge of the prior, |D| <= d_max_k, 0 <= E <= |D|/3; the single start is the first of
the multi-start set):

- ``fixed_1``, ``fixed_<S>``: chi_dia = 0 and f_m = 1 fixed (the errors ignored, as most users fit);
- ``free_1``, ``free_<S>``: chi_dia and f_m fitted too (started at 0 and 1).

Success = reaching the best-known optimum of the same model: a log-likelihood (profiled noise)
within `tol_ll` of the best one known for the curve (the grid scan's best fit, or any fit of any
method that did better). Accuracy is against the truth, modulo the six equivalents
(`metrics.accuracy_summary`). Time per curve is steady-state wall time (compilation excluded:
the first batch is run once before timing), batched over curves.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from lfjax.evaluation import lsq
from lfjax.physics.ions import Ion
from lfjax.symmetry import sample_wedge


def random_starts(key, n_curves: int, n_starts: int, d_max_k: float) -> np.ndarray:
    """(n_curves, n_starts, 2) (D, E) in K, area-uniform on the canonical wedge (`symmetry.sample_wedge`)."""
    de = np.asarray(sample_wedge(key, n_curves * n_starts, d_max_k), np.float64)
    return de.reshape(n_curves, n_starts, 2)


def pad_rows(a: np.ndarray, size: int) -> np.ndarray:
    """`a` with its last row repeated up to `size` rows (one compiled batch shape)."""
    if a.shape[0] == size:
        return a
    return np.concatenate([a, np.repeat(a[-1:], size - a.shape[0], axis=0)])


def batched_fit(ion: Ion, temps_k, chi_t, starts_de, *, free_errors: bool, batch: int, n_iter: int = 60,
                start_chi_dia=None, start_f_m=None) -> tuple[dict[str, np.ndarray], float]:
    """`lsq.fit` over curves in fixed-size batches (one compiled shape).

    Returns:
      (the best solution per curve as `lsq.best_solution`, steady-state seconds per curve).
    """
    n = chi_t.shape[0]
    extra = {}
    chunks, elapsed = [], 0.0
    for i, lo in enumerate(range(0, n, batch)):
        sl = slice(lo, lo + batch)
        if start_chi_dia is not None:
            extra = {"start_chi_dia": pad_rows(start_chi_dia[sl], batch), "start_f_m": pad_rows(start_f_m[sl], batch)}
        args = (ion, temps_k, pad_rows(chi_t[sl], batch), pad_rows(starts_de[sl], batch))
        if i == 0:  # compile outside the timed region
            lsq.fit(*args, free_errors=free_errors, n_iter=n_iter, **extra)
        t0 = time.perf_counter()
        res = lsq.best_solution(lsq.fit(*args, free_errors=free_errors, n_iter=n_iter, **extra))
        elapsed += time.perf_counter() - t0
        chunks.append({k: v[: min(batch, n - lo)] for k, v in res.items()})
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}, elapsed / n


def run_baselines(
    ion: Ion, temps_k, chi_t, *, d_max_k: float, n_starts: int = 32, seed: int = 0, batch: int = 25,
    n_iter: int = 60,
) -> dict[str, dict]:
    """The four least-squares variants (module docstring) on (B, n_T) curves.

    Returns:
      name -> {"best": per-curve best solution (`lsq.best_solution`), "s_per_curve": float,
      "free_errors": bool, "n_starts": int}.
    """
    chi_t = np.asarray(chi_t, np.float64)
    starts = random_starts(jax.random.key(seed), chi_t.shape[0], n_starts, d_max_k)
    out = {}
    for free in (False, True):
        for s in (1, n_starts):
            best, sec = batched_fit(ion, temps_k, chi_t, starts[:, :s], free_errors=free, batch=batch, n_iter=n_iter)
            out[f"{'free' if free else 'fixed'}_{s}"] = {
                "best": best, "s_per_curve": sec, "free_errors": free, "n_starts": s,
            }
    return out


def success(log_likelihood, best_known, tol_ll: float = 0.5) -> np.ndarray:
    """(B,) bool: a fit's log-likelihood is within tol_ll of the best-known one for its curve."""
    return np.asarray(log_likelihood) >= np.asarray(best_known) - tol_ll
