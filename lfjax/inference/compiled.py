"""Precision and compilation rules of the inference layer.

Precision: refinement, the grid and the evaluation references run in float64. Public entry points
(`run_fit`, `run_infer`, `evaluation.evaluate`) run inside one `jax.enable_x64(True)` context
(`float64_entry`); the functions below them check that it is on (`require_x64`) instead of
switching it themselves. Nothing flips the global flag.

Compilation: every jitted hot path is a module-level function whose Python body calls
`count_trace(name)`, so tests can check that repeated calls on same-shaped data trace once.
The refinement and grid solvers are called through `engines.exported.call`: inside
`exported.export_cache(folder)` (as `lfjax infer` runs) they are saved as `jax.export` modules
and later runs read them instead of tracing (no `count_trace` then).
"""

from __future__ import annotations

import collections
import functools

import jax

from lfjax.engines.exported import x64_enabled as x64_enabled

#: Python traces per jitted function name (incremented while tracing, never at run time).
TRACES: collections.Counter[str] = collections.Counter()


def count_trace(name: str) -> None:
    """Records one trace of `name` (call it in the body of a jitted function)."""
    TRACES[name] += 1


def require_x64(what: str) -> None:
    """Raises RuntimeError unless float64 is on: a programming error, not bad input."""
    if not x64_enabled():
        raise RuntimeError(
            f"{what} runs in float64 but JAX is in float32; call it inside `with jax.enable_x64(True):` "
            "(the entry points run_fit, run_infer and evaluate do this themselves)"
        )


def float64_entry(fn):
    """Runs `fn` inside one `jax.enable_x64(True)` context: the precision rule of an entry point."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapper
