"""lfjax on many curves: posterior draws, top mode, HPD ranks, and refinement from the modes.

Per curve: `model.sample_batch` draws n posterior samples (curves batched); the top mode and the
HPD rank of the truth come from `metrics.kde_mode_and_rank`; refinement is the shipped one of
`lfjax infer` (`inference.refine.refine`, chi_dia and f_m free, zero field) started from the (D, E)
of the up to `max_starts` densest modes of `posterior_modes.find_modes`.
Times are steady-state wall seconds per curve (the first batch or curve is run once, untimed, to
compile). Refinement runs in float64: call it inside `jax.enable_x64(True)` (`evaluate` does).
"""

from __future__ import annotations

import time

import jax
import numpy as np

from lfjax.evaluation.baseline import pad_rows
from lfjax.evaluation.metrics import central_ranks, kde_mode_and_rank
from lfjax.inference.posterior_modes import find_modes
from lfjax.inference.refine import Problem, refine

#: Refinement starts per curve (the densest posterior modes).
MAX_STARTS = 4


def posterior_draws(model, chi_t, theta_true, *, n_samples: int, batch: int, key, bandwidth_k: float = 0.4,
                    keep_samples: int = 0) -> dict[str, np.ndarray]:
    """Posterior statistics of (B, n_T) curves with known truths theta_true (B, 4).

    Returns:
      dict: "mode_de" (B, 2) canonical top mode (K); "hpd_rank" (B,); "rank_chi_dia", "rank_f_m"
      (B,) central-interval ranks; "median_chi_dia", "median_f_m" (B,); "samples" (keep_samples,
      n_samples, 4) draws of the first curves; "s_per_curve_sample", "s_per_curve_kde" (floats).
    """
    chi_t = np.asarray(chi_t, np.float32)
    n = chi_t.shape[0]
    parts: dict[str, list] = {k: [] for k in ("mode_de", "hpd_rank", "rank_chi_dia", "rank_f_m",
                                               "median_chi_dia", "median_f_m", "samples")}
    t_sample = t_kde = 0.0
    for i, lo in enumerate(range(0, n, batch)):
        m = min(batch, n - lo)
        block = pad_rows(chi_t[lo:lo + batch], batch)
        truth = pad_rows(np.asarray(theta_true[lo:lo + batch]), batch)
        k = jax.random.fold_in(key, i)
        if i == 0:  # compile outside the timed region
            kde_mode_and_rank(model.sample_batch(block, n_samples, key=k)[..., :2], truth[:, :2], bandwidth_k)
        t0 = time.perf_counter()
        draws = model.sample_batch(block, n_samples, key=k)
        t1 = time.perf_counter()
        mode, rank = kde_mode_and_rank(draws[..., :2], truth[:, :2], bandwidth_k)
        t2 = time.perf_counter()
        t_sample += t1 - t0
        t_kde += t2 - t1
        parts["mode_de"].append(mode[:m])
        parts["hpd_rank"].append(rank[:m])
        parts["rank_chi_dia"].append(central_ranks(draws[:m, :, 2], truth[:m, 2]))
        parts["rank_f_m"].append(central_ranks(draws[:m, :, 3], truth[:m, 3]))
        parts["median_chi_dia"].append(np.median(draws[:m, :, 2], axis=1))
        parts["median_f_m"].append(np.median(draws[:m, :, 3], axis=1))
        if lo < keep_samples:
            parts["samples"].append(draws[: min(m, keep_samples - lo)])
    out = {k: np.concatenate(v) if v else np.zeros((0, n_samples, 4)) for k, v in parts.items()}
    out["s_per_curve_sample"] = t_sample / n
    out["s_per_curve_kde"] = t_kde / n
    return out


def mode_starts(
    samples, max_starts: int = MAX_STARTS, bandwidth_k: float = 0.4, max_points: int = 1000
) -> tuple[np.ndarray, float]:
    """(B, max_starts, 2) refinement starts from each curve's densest posterior modes.

    Curves with fewer modes repeat their densest one. Returns the starts and seconds per curve.
    """
    samples = np.asarray(samples)
    t0 = time.perf_counter()
    starts = np.zeros((samples.shape[0], max_starts, 2))
    for b, s in enumerate(samples):
        modes = find_modes(s[:, 0], s[:, 1], bandwidth_k=bandwidth_k, max_points=max_points)[:max_starts]
        pts = np.array([[m.d_k, m.e_k] for m in modes]) if modes else s[:1, :2]
        starts[b] = pad_rows(pts, max_starts)
    return starts, (time.perf_counter() - t0) / max(samples.shape[0], 1)


def refine_from_modes(model, chi_t, samples, *, max_starts: int = MAX_STARTS, bandwidth_k: float = 0.4,
                      merge_k: float = 0.5) -> dict[str, np.ndarray | float]:
    """The refinement of `lfjax infer` (`refine.refine`, errors free) from the posterior modes of each curve.

    Args:
      model: the trained model (ion, temps_k).
      chi_t: (B, n_T) zero-field curves (emu K/mol); samples: (B, n, 4) their posterior draws.

    Returns:
      the best solution per curve: "de" (B, 2) canonical (D, E) in K, "chi_dia" (B,) emu/mol,
      "f_m", "rss", "log_likelihood" (B,), plus "s_per_curve_modes" and "s_per_curve_refine".
    """
    samples = np.asarray(samples)
    chi_t = np.asarray(chi_t, np.float64)
    starts, s_modes = mode_starts(samples, max_starts, bandwidth_k)
    problem = Problem(model.ion, ("D", "E", "chi_dia", "f_m"))
    temps = np.asarray(model.temps_k, np.float64)
    zero_field = np.zeros_like(temps)
    if len(chi_t):  # compile outside the timed region
        refine(problem, temps, chi_t[0], zero_field, starts[0], merge_k=merge_k)
    out: dict[str, list] = {k: [] for k in ("de", "chi_dia", "f_m", "rss", "log_likelihood")}
    t0 = time.perf_counter()
    for y, start in zip(chi_t, starts):
        best = refine(problem, temps, y, zero_field, start, merge_k=merge_k)[0]
        out["de"].append([best.values["D"], best.values["E"]])
        out["chi_dia"].append(best.values["chi_dia"])
        out["f_m"].append(best.values["f_m"])
        out["rss"].append(best.rss)
        out["log_likelihood"].append(best.log_likelihood)
    elapsed = time.perf_counter() - t0
    result: dict[str, np.ndarray | float] = {k: np.asarray(v, np.float64) for k, v in out.items()}
    result["de"] = np.asarray(out["de"], np.float64).reshape(-1, 2)
    result["s_per_curve_modes"] = s_modes
    result["s_per_curve_refine"] = elapsed / max(len(chi_t), 1)
    return result
