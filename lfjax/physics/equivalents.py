"""The six (D, E) sets that give one powder curve, and the canonical representative.

With the tensor diag(-D/3 + E, -D/3 - E, 2D/3), relabelling the axes gives
(D, E), (D, -E), ((3E - D)/2, +-(D + E)/2), ((-3E - D)/2, +-(D - E)/2).
Canonical: 0 <= E <= |D| / 3 (the z axis is the most distinct one).

Both functions work on numpy arrays (returning numpy, no JAX dispatch) and on JAX arrays or
tracers (returning JAX arrays, usable under jit, vmap and grad).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _namespace(*arrays):
    return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


def equivalents(d, e):
    """Returns the six equivalent (D, E) pairs, shape (..., 6, 2), the input pair first."""
    xp = _namespace(d, e)
    d, e = xp.broadcast_arrays(xp.asarray(d), xp.asarray(e))
    ds = xp.stack([d, d, (3 * e - d) / 2, (3 * e - d) / 2, (-3 * e - d) / 2, (-3 * e - d) / 2], axis=-1)
    es = xp.stack([e, -e, (d + e) / 2, -(d + e) / 2, (d - e) / 2, -(d - e) / 2], axis=-1)
    return xp.stack([ds, es], axis=-1)


def canonical(d, e):
    """Returns the equivalent with 0 <= E <= |D| / 3, shape (..., 2).

    The z axis is chosen as the principal axis whose eigenvalue lies farthest from the
    other two's mean; among the six sets it is the one with the largest |D|.
    """
    xp = _namespace(d, e)
    eq = equivalents(d, e)
    best = xp.argmax(xp.abs(eq[..., 0]) - 1e-12 * eq[..., 1], axis=-1)  # tie: prefer E >= 0
    pick = xp.take_along_axis(eq, best[..., None, None], axis=-2)[..., 0, :]
    return xp.stack([pick[..., 0], xp.abs(pick[..., 1])], axis=-1)
