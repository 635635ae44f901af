"""Shared CLI plumbing: user errors become one line on stderr and exit code 2."""

from __future__ import annotations

import functools
import sys

import typer

from lfjax.errors import UserInputError as UserError

#: Exceptions that describe bad user input (raised at the boundary, never bugs).
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, IsADirectoryError, PermissionError)


def guarded(fn):
    """Wraps a command so user errors print `error: ...` in one line and exit with code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"error: {message}", file=sys.stderr)
            raise typer.Exit(code=2) from None

    return wrapper


def enable_x64() -> None:
    """Switches JAX to float64 (at entry points only, never on import)."""
    import jax

    jax.config.update("jax_enable_x64", True)


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
