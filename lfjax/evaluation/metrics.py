"""Accuracy and calibration metrics for (D, E) estimates and posterior samples (K).

Accuracy modulo the six equivalents: an estimate (D, E) is compared with the truth through
whichever of its six equivalents lies nearest (Euclidean, K) to the canonical truth; the errors
|dD|, |dE| are that equivalent's. A hit: some equivalent of the estimate lies within
|dD| <= tol_d_k and |dE| <= tol_e_k of the truth (on the canonical wedge this identifies
(D, |D|/3) with (-D, |D|/3), where the sign of D is meaningless).

Calibration by highest-posterior-density (HPD) ranks: for posterior draws theta_1..n of one curve
and its truth theta*, with a density estimate p (a Gaussian KDE of the draws, modulo the six
equivalents, leave-one-out at the draws), the rank

    q = #{i : p(theta_i) > p(theta*)} / n

is the smallest level whose HPD region contains theta*. If the draws come from the exact
posterior and theta* from the prior that generated the data, theta* is itself a posterior draw,
so q ~ Uniform(0, 1) for any fixed density estimate (any bandwidth): the empirical coverage
mean(q <= alpha) equals alpha. A too-narrow posterior gives q near 1 (under-coverage), a too-wide
one q near 0 (over-coverage).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.physics.equivalents import canonical, equivalents

#: Hit box of docs/physics.md ("within 1.5 K in D and 1.0 K in E").
TOL_D_K = 1.5
TOL_E_K = 1.0
#: Nominal credible levels of the coverage curve.
LEVELS = np.round(np.arange(0.05, 0.951, 0.05), 2)


def de_errors(estimate_de, truth_de) -> np.ndarray:
    """|dD|, |dE| (K) of estimates against truths modulo the six equivalents.

    Args:
      estimate_de, truth_de: (..., 2) (D, E) in K, any equivalents.

    Returns:
      (..., 2) absolute errors of the estimate's equivalent nearest to the canonical truth.
    """
    truth = np.asarray(canonical(*np.moveaxis(np.asarray(truth_de, np.float64), -1, 0)))
    eq = np.asarray(equivalents(*np.moveaxis(np.asarray(estimate_de, np.float64), -1, 0)))  # (..., 6, 2)
    diff = np.abs(eq - truth[..., None, :])
    nearest = np.argmin(np.sum(diff**2, axis=-1), axis=-1)
    return np.take_along_axis(diff, nearest[..., None, None], axis=-2)[..., 0, :]


def hits(estimate_de, truth_de, tol_d_k: float = TOL_D_K, tol_e_k: float = TOL_E_K) -> np.ndarray:
    """(...) bool: some equivalent of the estimate is within (tol_d_k, tol_e_k) K of the truth."""
    truth = np.asarray(canonical(*np.moveaxis(np.asarray(truth_de, np.float64), -1, 0)))
    eq = np.asarray(equivalents(*np.moveaxis(np.asarray(estimate_de, np.float64), -1, 0)))
    diff = np.abs(eq - truth[..., None, :])
    return np.any((diff[..., 0] <= tol_d_k) & (diff[..., 1] <= tol_e_k), axis=-1)


def accuracy_summary(estimate_de, truth_de, prefix: str = "") -> dict[str, float]:
    """Hit rate and median / 90th-percentile |dD|, |dE| (K) of (B, 2) estimates; NaN rows skipped."""
    est = np.asarray(estimate_de, np.float64)
    ok = np.all(np.isfinite(est), axis=-1)
    err = de_errors(est[ok], np.asarray(truth_de)[ok])
    return {
        f"{prefix}n": int(ok.sum()),
        f"{prefix}hit_rate": float(np.mean(hits(est[ok], np.asarray(truth_de)[ok]))) if ok.any() else float("nan"),
        f"{prefix}median_abs_dD_K": float(np.median(err[:, 0])) if ok.any() else float("nan"),
        f"{prefix}median_abs_dE_K": float(np.median(err[:, 1])) if ok.any() else float("nan"),
        f"{prefix}p90_abs_dD_K": float(np.percentile(err[:, 0], 90)) if ok.any() else float("nan"),
        f"{prefix}p90_abs_dE_K": float(np.percentile(err[:, 1], 90)) if ok.any() else float("nan"),
    }


def _fold_jnp(de):
    return canonical(de[..., 0], de[..., 1])


def _kde_one(samples_de, truth_de, bandwidth_k):
    """Leave-one-out KDE at the folded samples (n,) and at the truth (), modulo equivalents."""
    pts = _fold_jnp(samples_de)
    eq = equivalents(pts[:, 0], pts[:, 1])  # (n, 6, 2)
    d2 = jnp.min(jnp.sum((eq[:, :, None, :] - pts[None, None, :, :]) ** 2, axis=-1), axis=1)  # (n, n)
    kernel = jnp.exp(-0.5 * d2 / bandwidth_k**2)
    dens = jnp.sum(kernel, axis=1) - 1.0
    eq_t = equivalents(truth_de[0], truth_de[1])  # (6, 2)
    d2_t = jnp.min(jnp.sum((eq_t[:, None, :] - pts[None, :, :]) ** 2, axis=-1), axis=0)
    dens_t = jnp.sum(jnp.exp(-0.5 * d2_t / bandwidth_k**2))
    return pts, dens, dens_t


@jax.jit
def _kde_batch(samples_de, truth_de, bandwidth_k):
    return jax.lax.map(lambda a: _kde_one(a[0], a[1], bandwidth_k), (samples_de, truth_de))


def kde_mode_and_rank(samples_de, truth_de, bandwidth_k: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """Top mode and HPD rank of batched posterior draws.

    Args:
      samples_de: (B, n, 2) posterior (D, E) draws in K (any equivalents).
      truth_de: (B, 2) true (D, E) in K.
      bandwidth_k: Gaussian kernel width in K (that of `posterior_modes.find_modes`).

    Returns:
      mode (B, 2): canonical draw of highest kernel density (the densest quick-shift root of
      `find_modes` with the same bandwidth); rank (B,): HPD rank q of the truth (module docstring).
    """
    s = jnp.asarray(samples_de, jnp.float32)
    t = jnp.asarray(truth_de, jnp.float32)
    pts, dens, dens_t = _kde_batch(s, t, jnp.float32(bandwidth_k))
    pts, dens, dens_t = np.asarray(pts), np.asarray(dens), np.asarray(dens_t)
    mode = np.take_along_axis(pts, np.argmax(dens, axis=1)[:, None, None], axis=1)[:, 0]
    rank = np.mean(dens > dens_t[:, None], axis=1)
    return mode.astype(np.float64), rank


def coverage_curve(ranks, levels=LEVELS) -> np.ndarray:
    """Empirical coverage mean(rank <= level) at each nominal level (HPD or central ranks)."""
    ranks = np.asarray(ranks, np.float64)
    return np.array([float(np.mean(ranks <= a)) for a in np.asarray(levels)])


def central_ranks(samples, truth) -> np.ndarray:
    """Ranks for central credible intervals of a scalar: |2 F(truth) - 1| with F the draws' ECDF.

    samples (B, n), truth (B,). The central level-alpha interval covers the truth iff the rank
    is <= alpha; uniform on [0, 1] for an exact posterior (same argument as for HPD ranks).
    """
    s = np.asarray(samples, np.float64)
    t = np.asarray(truth, np.float64)
    below = np.mean(s < t[:, None], axis=1)
    return np.abs(2 * below - 1)
