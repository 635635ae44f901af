"""Accuracy of a trained model on held-out prior curves: the posterior-mode hit rate.

For each held-out measurement (prior draw, error model, point noise, simulated on the model's
grid from a key disjoint from training), draw n posterior samples, fold them into the
canonical wedge 0 <= E <= |D|/3 with `canonical`, and take the sample of highest Gaussian-KDE
density (bandwidths in K) as the mode. A hit: |D_mode - D_true| <= tol_d_k and
|E_mode - E_true| <= tol_e_k with (D_true, E_true) the canonical truth.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.data.stream import make_batch
from lfjax.physics.equivalents import canonical

#: Seed of the held-out set (training uses keys split from train.seed; a different stream).
HELD_OUT_SEED = 987_654_321


@jax.jit
def _kde_mode(de, bandwidth):
    """de (B, n, 2) canonical samples -> (B, 2) the sample with the largest KDE density."""
    scaled = de / bandwidth
    d2 = jnp.sum((scaled[:, :, None, :] - scaled[:, None, :, :]) ** 2, axis=-1)
    density = jnp.sum(jnp.exp(-0.5 * d2), axis=-1)
    best = jnp.argmax(density, axis=-1)
    return jnp.take_along_axis(de, best[:, None, None], axis=1)[:, 0]


def posterior_mode_de(samples, bandwidth_k=(0.4, 0.25)) -> np.ndarray:
    """(B, n, >=2) posterior samples (D, E first, K) -> (B, 2) canonical KDE mode (K)."""
    samples = np.asarray(samples)
    de = np.asarray(canonical(samples[..., 0], samples[..., 1]), dtype=np.float32)
    return np.asarray(_kde_mode(de, jnp.asarray(bandwidth_k, jnp.float32)))


def held_out_set(model, n_curves: int, seed: int = HELD_OUT_SEED) -> dict[str, np.ndarray]:
    """n_curves simulated measurements from the model's own prior, error model and noise."""
    batch = make_batch(jax.random.key(seed), model.config.data, n_curves)
    return {"theta": np.asarray(batch["theta"]), "chi_t": np.asarray(batch["chi_t"])}


def hit_rate(
    model, n_curves: int = 500, n_samples: int = 1000, *, seed: int = HELD_OUT_SEED,
    tol_d_k: float = 1.5, tol_e_k: float = 1.0, chunk: int = 50,
) -> dict[str, object]:
    """Fraction of held-out curves whose posterior mode is within (tol_d_k, tol_e_k) of the truth.

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
        modes.append(posterior_mode_de(samples)[: min(chunk, n_curves - start)])
    mode = np.concatenate(modes)
    truth = np.asarray(canonical(data["theta"][:, 0], data["theta"][:, 1]))
    hits = (np.abs(mode[:, 0] - truth[:, 0]) <= tol_d_k) & (np.abs(mode[:, 1] - truth[:, 1]) <= tol_e_k)
    return {
        "hit_rate": float(hits.mean()), "hits": hits, "truth": truth, "mode": mode,
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
        "mode": "canonical fold, Gaussian-KDE argmax over the draws, bandwidth (0.4 K, 0.25 K)",
    }
