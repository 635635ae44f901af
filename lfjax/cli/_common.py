"""Shared CLI plumbing: domain errors become one line on stderr and exit code 2; bugs keep their traceback."""

from __future__ import annotations

import functools
import sys

import typer

from lfjax.errors import LfjaxError


def guarded(fn):
    """Wraps a command so that a domain error (`LfjaxError`) prints `error: ...` in one line and exits 2.

    Only `LfjaxError` counts as a user mistake; readers, config loaders and output checks turn
    user-path OS errors into domain errors themselves. Anything else is a bug and propagates with
    its full traceback (exit code 1).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LfjaxError as exc:
            text = str(exc).strip()
            message = text.splitlines()[0] if text else type(exc).__name__
            print(f"error: {message}", file=sys.stderr)
            raise typer.Exit(code=2) from None

    return wrapper


def enable_compilation_cache() -> None:
    """Persistent XLA compilation cache (~/.cache/lfjax/xla, or $LFJAX_CACHE_DIR): repeated runs skip compiling."""
    import os

    import jax

    cache = os.environ.get("LFJAX_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "lfjax", "xla")
    try:
        os.makedirs(cache, exist_ok=True)
    except OSError:
        return  # a read-only home: run without the cache
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
