"""Distinct optima modulo the likelihood's symmetry group (the maps that keep every curve unchanged).

Candidate maps are the spec's powder group restricted to the measured directions
(`lfjax.physics.symmetry_maps.symmetry_maps(names, ion, directions)`), acting on the full
parameter vector (fixed values inserted); a map is kept only where it also leaves the fixed
parameters unchanged and the predictions of every curve equal at the best optimum (relative
1e-6): that is the group of the likelihood actually being fitted.

Two optima are the same when some image of one lies within `radius` (in units of the prior
half-widths) of the other, or within the better one's 1-sigma errors in every free parameter.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lfjax.engines import exported
from lfjax.engines import likelihood as lk
from lfjax.engines._batches import in_batches

RADIUS = 0.01
#: Parameter sets per jitted prediction call (`likelihood_maps`).
PREDICT_CHUNK = 16


def candidate_maps(problem: lk.Problem) -> np.ndarray:
    """(G, n, n) maps on the spec's full parameter vector, identity first."""
    from lfjax.physics.symmetry_maps import symmetry_maps

    dirs = [c.direction for c in problem.curves if c.direction != "powder"]
    return np.asarray(symmetry_maps(problem.spec.preset or problem.names, problem.ion, dirs or None), float)


def likelihood_maps(problem: lk.Problem, theta_best: np.ndarray, jdata) -> np.ndarray:
    """The candidate maps that leave the fixed parameters and all predictions unchanged at theta_best."""
    maps = candidate_maps(problem)
    full = np.asarray(lk.full_vector(problem, jnp.asarray(theta_best)))
    free_idx = [problem.names.index(n) for n in problem.free]
    fixed_idx = [i for i in range(len(problem.names)) if i not in free_idx]
    candidates, thetas = [], [np.array(theta_best, float)]
    for g in range(1, maps.shape[0]):
        image = maps[g] @ full
        if fixed_idx and not np.allclose(image[fixed_idx], full[fixed_idx], rtol=1e-9, atol=1e-12):
            continue
        theta = np.array(theta_best, float)
        theta[: problem.n_free] = image[free_idx]
        candidates.append(g)
        thetas.append(theta)
    if not candidates:
        return maps[:1]
    # every image in one jitted call (in fixed chunks: one compilation)
    preds = in_batches(lambda t: exported.call("likelihood.predict", lk.predict_batch, (problem,), t, jdata),
                       np.stack(thetas), PREDICT_CHUNK)
    keep = [0] + [g for k, g in enumerate(candidates, start=1)
                  if all(np.allclose(p[k], p[0], rtol=1e-6, atol=0) for p in preds)]
    return maps[keep]


def _images(problem, maps, theta) -> np.ndarray:
    """(G, n_free) images of the free parameters of theta."""
    full = np.asarray(lk.full_vector(problem, jnp.asarray(theta)))
    free_idx = [problem.names.index(n) for n in problem.free]
    return (maps @ full)[:, free_idx]


def distinct_optima(problem: lk.Problem, theta, obj, candidates, errors, jdata, radius: float = RADIUS) -> list[int]:
    """Indices among `candidates`, best objective first, one per optimum modulo the group."""
    if not candidates:
        return []
    order = sorted(candidates, key=lambda i: obj[i])
    k = problem.n_free
    if k == 0:
        return order[:1]
    maps = likelihood_maps(problem, theta[order[0]], jdata)
    scale = problem.theta_scale()[:k]
    kept: list[int] = []
    for i in order:
        imgs = _images(problem, maps, theta[i])
        same = False
        for j in kept:
            diff = np.abs(imgs - theta[j][:k])
            err = np.where(np.isfinite(errors[j][:k]), errors[j][:k], 0.0)
            if np.any(np.linalg.norm(diff / scale, axis=-1) < radius) or np.any(np.all(diff <= err, axis=-1)):
                same = True
                break
        if not same:
            kept.append(int(i))
    return kept
