"""The strict posterior-mode hit rate of a trained model on held-out prior curves.

For each held-out measurement (prior draw, error model, point noise, simulated on the model's
grid from a key disjoint from training), draw n posterior samples and take the canonical draw of
highest kernel density (`metrics.kde_modes`, bandwidths 0.4 K in D and 0.25 K in E, modulo the
six equivalents) as the mode. A strict hit (`symmetry.hits(..., strict=True)`): the canonical
mode lies within tol_d_k in D and tol_e_k in E of the canonical truth, so a mode at (D, |D|/3)
does not match a truth at (-D, |D|/3) although the two are equivalent. `lfjax evaluate` reports
the non-strict hit rate (`metrics.accuracy_summary`).
"""

from __future__ import annotations

import jax
import numpy as np

from lfjax.data.stream import make_batch
from lfjax.evaluation.metrics import kde_modes
from lfjax.symmetry import de_group, fold, hits

#: Seed of the held-out set (training uses keys split from train.seed; a different stream).
HELD_OUT_SEED = 987_654_321
#: Kernel widths (K) of the mode, in D and E.
BANDWIDTH_K = (0.4, 0.25)


def held_out_set(model, n_curves: int, seed: int = HELD_OUT_SEED) -> dict[str, np.ndarray]:
    """n_curves simulated measurements from the model's own prior, error model and noise."""
    batch = make_batch(jax.random.key(seed), model.config.data, n_curves)
    return {"theta": np.asarray(batch["theta"]), "chi_t": np.asarray(batch["chi_t"])}


def hit_rate(
    model, n_curves: int = 500, n_samples: int = 1000, *, seed: int = HELD_OUT_SEED,
    tol_d_k: float = 1.5, tol_e_k: float = 1.0, chunk: int = 50,
) -> dict[str, object]:
    """Fraction of held-out curves whose canonical posterior mode is within (tol_d_k, tol_e_k) of the truth.

    Returns:
      dict with "hit_rate" (float), "hits" (n_curves,) bool, "truth" and "mode" (n_curves, 2)
      canonical (D, E) in K, and the settings used.
    """
    data = held_out_set(model, n_curves, seed)
    key = jax.random.key(seed + 1)
    modes = []
    for i, start in enumerate(range(0, n_curves, chunk)):
        block = data["chi_t"][start : start + chunk]
        if block.shape[0] < chunk:  # keep one compiled shape
            block = np.concatenate([block, np.repeat(block[-1:], chunk - block.shape[0], 0)])
        samples = model.sample_batch(block, n_samples, key=jax.random.fold_in(key, i))
        modes.append(kde_modes(samples[..., :2], BANDWIDTH_K)[: min(chunk, n_curves - start)])
    mode = np.concatenate(modes)
    truth = fold(de_group(), np.asarray(data["theta"][:, :2], np.float64))
    hit = hits(de_group(), mode, truth, (tol_d_k, tol_e_k), strict=True)
    return {
        "hit_rate": float(hit.mean()), "hits": hit, "truth": truth, "mode": mode,
        "n_curves": n_curves, "n_samples": n_samples, "tol_d_k": tol_d_k, "tol_e_k": tol_e_k, "seed": seed,
    }


def evaluation_record(result: dict[str, object]) -> dict[str, object]:
    """JSON-able summary of a `hit_rate` result (hit rate, median absolute errors in K, settings)."""
    err = np.abs(np.asarray(result["mode"]) - np.asarray(result["truth"]))
    return {
        "hit_rate": result["hit_rate"],
        "median_abs_error_d_k": float(np.median(err[:, 0])),
        "median_abs_error_e_k": float(np.median(err[:, 1])),
        **{k: result[k] for k in ("n_curves", "n_samples", "tol_d_k", "tol_e_k", "seed")},
        "mode": "canonical fold, Gaussian-KDE argmax over the draws modulo the six maps, bandwidth (0.4 K, 0.25 K)",
    }
