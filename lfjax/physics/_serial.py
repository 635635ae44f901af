"""Ordering of independent eigensolver calls inside one compiled function.

jaxlib 0.10's CPU LAPACK kernels split a batch into tasks on XLA's intra-op thread pool and wait
for them. When XLA runs two such kernels at once (independent calls, e.g. two curves of a set or the
real and complex field directions of a powder average), both can wait on the two pool threads
of a 2-core machine while their tasks wait for a free thread: the process hangs at 0 % CPU (seen
on a joint chi + M(H) fit). `after` makes one call's input depend on the other's output, so XLA
runs them in sequence; each still spreads its own batch over the pool. The dependency is a
product with zero (`lax.optimization_barrier` does not survive XLA:CPU's compilation); it adds
nothing to finite values, and a NaN or infinity in `deps` propagates into `value`, where it would
have reached the combined result anyway.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def after(value, *deps):
    """`value` (any pytree) that XLA can compute only once `deps` are computed."""
    leaves = [d for d in jax.tree_util.tree_leaves(deps) if jnp.size(d)]
    if not leaves:
        return value
    zero = 0.0 * sum(jnp.real(jnp.ravel(d)[0]) for d in leaves)

    def tie(x):
        x = jnp.asarray(x)
        return x + zero.astype(x.dtype) if jnp.issubdtype(x.dtype, jnp.inexact) else x

    return jax.tree_util.tree_map(tie, value)
