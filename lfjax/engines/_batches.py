"""Rows of a parameter array through a jitted batch function in fixed-size, padded batches."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def in_batches(fn, theta, size: int, progress=None) -> list[np.ndarray]:
    """fn over rows of theta (n, p) in batches of `size`, the last padded with row 0 (one compilation).

    Args:
      fn: (size, p) array -> tuple of arrays with leading axis size.
      progress: optional callable(done, total) after each batch.

    Returns:
      one numpy array per output of fn, with leading axis n.
    """
    theta = np.asarray(theta, float)
    n = theta.shape[0]
    pad = (-n) % size
    padded = np.concatenate([theta, np.repeat(theta[:1], pad, axis=0)]) if pad else theta
    outs = []
    for i in range(0, padded.shape[0], size):
        outs.append(fn(jnp.asarray(padded[i:i + size])))
        if progress is not None:
            progress(min(i + size, n), n)
    return [np.concatenate([np.asarray(o[k]) for o in outs])[:n] for k in range(len(outs[0]))]
