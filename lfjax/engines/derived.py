"""What bulk data measure of a ligand field, per theta: its level scheme and ground g-values.

Sets of Stevens parameters far apart (the pockets of a D3d posterior with M(H), the symmetry
images) can share the levels and the ground doublet that χ(T) and M(H) see. `derived` gives, for
a batch of theta, the excited levels (one energy per Kramers doublet, or every level for a
non-Kramers ion; K above the ground level) and the principal g-values of the two lowest states
(`physics.levels`), both invariant under the likelihood's symmetry group (no folding needed).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.engines import likelihood as lk
from lfjax.physics.levels import levels_and_g

#: Excited levels (doublets for a Kramers ion) summarised by `quantities`.
N_LEVELS = 3


def level_names(problem: lk.Problem, n: int = N_LEVELS) -> tuple[str, ...]:
    unit = "doublet" if problem.ion.kramers else "level"
    return tuple(f"E{i}_{unit}_k" for i in range(1, n + 1))


G_NAMES = ("g1", "g2", "g3")


def derived(problem: lk.Problem, thetas) -> tuple[np.ndarray, np.ndarray]:
    """(levels (m, n_levels) K, one per Kramers doublet, ground first at 0; g-values (m, 3) ascending)."""
    with jax.enable_x64(True):
        t = jnp.asarray(np.atleast_2d(np.asarray(thetas, float)))
        params = problem.spec.stevens_params(jax.vmap(lambda x: lk.full_vector(problem, x))(t))
        e, g = (np.asarray(a) for a in levels_and_g(problem.ion, params, dtype=jnp.float64))
    if problem.ion.kramers:
        e = e[:, ::2]
    return e, g


def quantities(problem: lk.Problem, thetas) -> tuple[tuple[str, ...], np.ndarray]:
    """Names and values (m, N_LEVELS + 3) of the first excited levels and the ground g-values."""
    e, g = derived(problem, thetas)
    n = min(N_LEVELS, e.shape[1] - 1)
    return level_names(problem, n) + G_NAMES, np.concatenate([e[:, 1:n + 1], g], axis=1)


def summary(problem: lk.Problem, thetas) -> dict:
    """{name: {mean, sd, q05, q50, q95}} of `quantities` over posterior draws."""
    return summarise(*quantities(problem, thetas))


def summarise(names, values) -> dict:
    """{name: {mean, sd, q05, q50, q95}} of `quantities`' values (m, n) already computed."""
    q = np.quantile(values, [0.05, 0.5, 0.95], axis=0)
    return {n: {"mean": float(values[:, i].mean()), "sd": float(values[:, i].std()), "q05": float(q[0, i]),
                "q50": float(q[1, i]), "q95": float(q[2, i])} for i, n in enumerate(names)}
