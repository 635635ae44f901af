"""The strict held-out hit rate, with stand-in models whose posteriors are known."""

from __future__ import annotations

from types import SimpleNamespace

import jax
import numpy as np

from lfjax.data.config import DataConfig
from lfjax.evaluation.heldout import held_out_set, hit_rate
from lfjax.symmetry import de_group, fold, random_image


class _KnownPosterior:
    """Draws (D, E) around the true parameters of each held-out curve (+ shift_k in D), symmetrised."""

    def __init__(self, n_curves: int, shift_k: float = 0.0):
        self.config = SimpleNamespace(data=DataConfig(n_temps=8, noise_rel=0.0))
        self.known = held_out_set(self, n_curves)
        self.shift_k = shift_k

    def sample_batch(self, chi_t, n, *, key):
        idx = [int(np.argmin(np.abs(self.known["chi_t"] - row).sum(axis=1))) for row in np.asarray(chi_t)]
        theta = fold(de_group(), self.known["theta"][idx, :2]) + np.array([self.shift_k, 0.0])
        k_noise, k_map = jax.random.split(key)
        draws = theta[:, None, :] + 0.05 * np.asarray(jax.random.normal(k_noise, (len(idx), n, 2)))
        draws = np.asarray(random_image(de_group(), k_map, draws))
        return np.concatenate([draws, np.zeros((len(idx), n, 1)), np.ones((len(idx), n, 1))], axis=-1)


def test_a_posterior_at_the_truth_hits_and_a_shifted_one_misses():
    exact = hit_rate(_KnownPosterior(30), n_curves=30, n_samples=200, chunk=8)
    assert exact["mode"].shape == (30, 2) and exact["n_curves"] == 30
    assert np.all(exact["truth"][:, 1] <= np.abs(exact["truth"][:, 0]) / 3 + 1e-9)  # canonical truths
    # the mode is the densest canonical draw: within a few kernel widths of the truth, except where the
    # strict rule separates (D, |D|/3) from (-D, |D|/3)
    near_edge = np.abs(exact["truth"][:, 1] - np.abs(exact["truth"][:, 0]) / 3) < 0.2
    assert np.all(exact["hits"][~near_edge]) and exact["hit_rate"] >= 0.8
    shifted = hit_rate(_KnownPosterior(30, shift_k=3.0), n_curves=30, n_samples=200, chunk=8)
    assert shifted["hit_rate"] < 0.3  # 3 K off in D is outside the 1.5 K box (unless folding maps it back)
