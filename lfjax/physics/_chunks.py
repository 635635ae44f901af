"""Memory-bounded evaluation of a batched function: lax.map over chunks of the flattened batch."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

#: Default bound on the temporaries of one chunk, in bytes.
DEFAULT_BUDGET_BYTES = 256 * 1024**2


def chunk_size(n: int, bytes_per_item: float, budget_bytes: float = DEFAULT_BUDGET_BYTES) -> int:
    """Items per chunk so that one chunk's temporaries stay within `budget_bytes`."""
    return int(max(1, min(n, budget_bytes // max(bytes_per_item, 1.0))))


def map_chunked(fn, args: tuple, bytes_per_item: float, budget_bytes: float = DEFAULT_BUDGET_BYTES):
    """fn(*args) for arrays with a common leading axis n, evaluated `chunk_size` items at a time.

    Args:
      fn: pure function of arrays (chunk, ...) -> array (chunk, ...), row-independent.
      args: arrays with one leading batch axis of length n.
      bytes_per_item: estimate of fn's temporaries per item (bytes).
      budget_bytes: bound on one chunk's temporaries.

    Returns:
      fn's output for all n rows. Below one chunk this is a plain call; above, the batch is padded
      to whole chunks of equal size (repeating the last row; fewer than one row per chunk) and mapped with `jax.lax.map`, so peak memory is
      the inputs, the outputs and one chunk's temporaries.
    """
    n = args[0].shape[0]
    chunk = chunk_size(n, bytes_per_item, budget_bytes)
    if chunk >= n:
        return fn(*args)
    n_chunks = math.ceil(n / chunk)
    chunk = math.ceil(n / n_chunks)  # even chunks: at most n_chunks - 1 padded rows
    pad = n_chunks * chunk - n

    def split(a):
        if pad:
            a = jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)])
        return a.reshape((n_chunks, chunk) + a.shape[1:])

    out = jax.lax.map(lambda xs: fn(*xs), tuple(split(a) for a in args))
    return out.reshape((n_chunks * chunk,) + out.shape[2:])[:n]
