"""The six (D, E) sets that give one powder curve, and the canonical representative.

With the tensor diag(-D/3 + E, -D/3 - E, 2D/3), relabelling the axes gives
(D, E), (D, -E), ((3E - D)/2, +-(D + E)/2), ((-3E - D)/2, +-(D - E)/2).
Canonical: 0 <= E <= |D| / 3 (the z axis is the most distinct one).
"""

from __future__ import annotations

import jax.numpy as jnp


def equivalents(d, e) -> jnp.ndarray:
    """Returns the six equivalent (D, E) pairs, shape (..., 6, 2), the input pair first."""
    d, e = jnp.broadcast_arrays(jnp.asarray(d), jnp.asarray(e))
    ds = jnp.stack([d, d, (3 * e - d) / 2, (3 * e - d) / 2, (-3 * e - d) / 2, (-3 * e - d) / 2], axis=-1)
    es = jnp.stack([e, -e, (d + e) / 2, -(d + e) / 2, (d - e) / 2, -(d - e) / 2], axis=-1)
    return jnp.stack([ds, es], axis=-1)


def canonical(d, e) -> jnp.ndarray:
    """Returns the equivalent with 0 <= E <= |D| / 3, shape (..., 2).

    The z axis is chosen as the principal axis whose eigenvalue lies farthest from the
    other two's mean; among the six sets it is the one with the largest |D|.
    """
    eq = equivalents(d, e)
    best = jnp.argmax(jnp.abs(eq[..., 0]) - 1e-12 * eq[..., 1], axis=-1)  # tie: prefer E >= 0
    pick = jnp.take_along_axis(eq, best[..., None, None], axis=-2)[..., 0, :]
    return jnp.stack([pick[..., 0], jnp.abs(pick[..., 1])], axis=-1)
