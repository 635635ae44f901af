"""The augmentation study: models trained with different sigma_dia on named and random test curves.

Named test curves (docs/method.md): "axial" (feature-rich, D = -10 K, E = 0.5 K, a large diamagnetic
error chi_dia = +0.004 emu/mol) and "rhombic" (flat, D = 3 K, E = 0.9 K = 0.9 D/3, small
chi_dia = +0.0005 emu/mol), both with f_m = 1 and the model's point noise from a fixed key.
For each model and curve:

- VAE plot: the (D, E) of the `n_neighbours` bank curves nearest (Euclidean) to the curve's latent
  mean; their KDE top mode is the "VAE estimate";
- VAE-INN plot: `n_samples` posterior draws; their KDE top mode is the "VAE-INN estimate";
- errors of both estimates against the truth (modulo the six equivalents), the posterior's HPD
  rank of the truth, the number of posterior modes (`find_modes`), and the OOD scores.
Random curves: one common set drawn from the default prior (sigma_dia = 0.002 emu/mol, sigma_m =
0.02, 0.3 % noise), so that every model meets the same diamagnetic errors.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from lfjax.data.config import DataConfig
from lfjax.data.stream import observe, simulate_chi_t
from lfjax.evaluation.metrics import accuracy_summary, kde_mode_and_rank
from lfjax.evaluation.posterior_eval import posterior_draws
from lfjax.evaluation.run import test_curves
from lfjax.inference.posterior_modes import find_modes
from lfjax.symmetry import de_group, errors

#: (D [K], E [K], chi_dia [emu/mol], f_m) of the named test curves.
NAMED_CURVES = {
    "axial": (-10.0, 0.5, 0.004, 1.0),
    "rhombic": (3.0, 0.9, 0.0005, 1.0),
}
NOISE_SEED = 11


def named_curve(cfg: DataConfig, theta, seed: int = NOISE_SEED) -> np.ndarray:
    """(n_T,) measured chi T (emu K/mol) of theta = (D, E, chi_dia, f_m) on cfg's grid, with its noise."""
    theta = np.asarray(theta, np.float32)
    clean = simulate_chi_t(cfg, np.float32(theta[0]), np.float32(theta[1]))
    return np.asarray(observe(jax.random.key(seed), cfg, theta, clean), np.float64)


def latent_neighbours(model, chi_t, k: int) -> np.ndarray:
    """(k, 4) theta of the bank curves nearest in latent space to one curve (the "VAE plot" set)."""
    bank = model.latent_bank()
    z = model.encode(np.asarray(chi_t, np.float32)[None])[0]
    idx = np.argsort(np.sum((bank["z"] - z) ** 2, axis=1))[:k]
    return bank["theta"][idx]


@dataclasses.dataclass(frozen=True)
class NamedResult:
    """One model on one named curve: the plotted point sets and the numbers of the table."""

    neighbours_de: np.ndarray
    samples_de: np.ndarray
    row: dict


def study_named(model, name: str, *, n_samples: int = 1000, n_neighbours: int = 400, seed: int = 0,
                bandwidth_k: float = 0.4) -> NamedResult:
    """VAE and VAE-INN estimates for NAMED_CURVES[name] (see the module docstring)."""
    theta = np.asarray(NAMED_CURVES[name], np.float64)
    chi_t = named_curve(model.config.data, theta)
    truth = theta[None, :2]
    neigh = latent_neighbours(model, chi_t, n_neighbours)[:, :2]
    draws = model.sample(chi_t.astype(np.float32), n_samples, key=jax.random.key(seed))
    vae_mode, _ = kde_mode_and_rank(neigh[None], truth, bandwidth_k)
    inn_mode, rank = kde_mode_and_rank(draws[None, :, :2], truth, bandwidth_k)
    ood = model.ood_scores(chi_t.astype(np.float32)[None])
    modes = find_modes(draws[:, 0], draws[:, 1], bandwidth_k=bandwidth_k)
    err_vae, err_inn = errors(de_group(), vae_mode, truth)[0], errors(de_group(), inn_mode, truth)[0]
    row = {
        "curve": name, "vae_mode_D_K": float(vae_mode[0, 0]), "vae_mode_E_K": float(vae_mode[0, 1]),
        "vae_abs_dD_K": float(err_vae[0]), "vae_abs_dE_K": float(err_vae[1]),
        "inn_mode_D_K": float(inn_mode[0, 0]), "inn_mode_E_K": float(inn_mode[0, 1]),
        "inn_abs_dD_K": float(err_inn[0]), "inn_abs_dE_K": float(err_inn[1]),
        "inn_hpd_rank": float(rank[0]), "inn_n_modes": len(modes),
        "inn_median_chi_dia": float(np.median(draws[:, 2])),
        "latent_distance": float(ood["latent_distance"][0]), "ood_flagged": bool(ood["flagged"][0]),
    }
    return NamedResult(neighbours_de=neigh, samples_de=draws[:, :2], row=row)


def study_random(model, curves: dict[str, np.ndarray], *, n_samples: int = 1000, batch: int = 25,
                 seed: int = 0) -> dict:
    """Top-mode accuracy, HPD coverage and OOD rate of a model on common random curves."""
    post = posterior_draws(model, curves["chi_t"], curves["theta"], n_samples=n_samples, batch=batch,
                           key=jax.random.key(seed + 1))
    acc = accuracy_summary(post["mode_de"], curves["theta"][:, :2])
    ood = model.ood_scores(curves["chi_t"].astype(np.float32))
    return {
        "n": int(curves["chi_t"].shape[0]), "hit_rate": acc["hit_rate"],
        "median_abs_dD_K": acc["median_abs_dD_K"], "median_abs_dE_K": acc["median_abs_dE_K"],
        "coverage_50": float(np.mean(post["hpd_rank"] <= 0.5)), "coverage_90": float(np.mean(post["hpd_rank"] <= 0.9)),
        "ood_rate": float(np.mean(ood["flagged"])),
    }


def common_random_curves(n: int, seed: int, like: DataConfig) -> dict[str, np.ndarray]:
    """n curves from the default error model (sigma_dia 0.002, sigma_m 0.02, 0.3 % noise) on like's grid."""
    cfg = dataclasses.replace(like, sigma_dia_emu_per_mol=0.002, sigma_m=0.02, noise_rel=0.003)
    return test_curves(cfg, n, seed)
