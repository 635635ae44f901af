"""Jitted solvers saved as serialised `jax.export` modules, so that later runs skip Python tracing.

The persistent XLA cache (`lfjax.cli._common.enable_compilation_cache`) skips compiling, but every
run still traces the jitted functions in Python, and tracing the batched optimistix solvers takes
seconds. Inside `export_cache(folder)` the functions called through `call` are instead:

1. looked up in this process (one entry per function, static arguments and input avals);
2. else read from `folder/<name>-<key>.jaxexport` and deserialised (`jax.export.deserialize`);
3. else traced once with `jax.export.export`, written atomically (temporary file + rename) and used.

The key hashes the function name, the static arguments' reprs, the flattened input avals (shape,
dtype, weak type), the float64 flag, the backend, the versions of Python, jax, jaxlib and the
solver libraries, and the contents of every lfjax source file, so a changed lfjax or jax never
reads an old file. A file that is unreadable, truncated, from another key or whose avals disagree
is ignored (one log line per process, logger `lfjax`) and replaced by a fresh export; where exporting is
impossible (no `flatbuffers`, an unexportable op) the plain jitted function runs. Outside
`export_cache`, or with folder None, `call` is exactly the jitted function. Exports are traced
with jaxlib's eigensolvers (`physics._host_eigh.disabled`: host callbacks cannot be serialised),
so an exported function computes the same StableHLO as the jitted one traced that way: results
are bit-identical to it (tested), and equal to the host-thread path to rounding.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import importlib.metadata
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from lfjax.physics import _host_eigh

LOG = logging.getLogger("lfjax")
#: File suffix and the first line of every file (format version of this module).
SUFFIX = ".jaxexport"
MAGIC = b"lfjax-jax-export-v1\n"
#: Saved solvers unused for this long are deleted when a new one is written (old lfjax or jax versions).
PRUNE_AFTER_S = 30 * 86400
#: Libraries whose version changes what a traced solver computes.
_LIBRARIES = ("jax", "jaxlib", "equinox", "lineax", "optimistix", "numpy")

_FOLDER: contextvars.ContextVar[Path | None] = contextvars.ContextVar("lfjax_export_folder", default=None)
#: In-process table: (folder, key) -> callable (the exported function, or the jitted one where export failed).
_LOADED: dict[tuple[str, str], Callable] = {}
#: Unreadable files are reported once per process (then rebuilt silently).
_WARNED: list[bool] = [False]


def x64_enabled() -> bool:
    """True inside `jax.enable_x64(True)` (or with the global flag on)."""
    return jax.dtypes.canonicalize_dtype(jnp.float64) == jnp.float64


def default_folder() -> Path:
    """`exported/` in the persistent compilation cache folder ($LFJAX_CACHE_DIR, else ~/.cache/lfjax/xla)."""
    base = os.environ.get("LFJAX_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "lfjax", "xla")
    return Path(base) / "exported"


@contextlib.contextmanager
def export_cache(folder: str | os.PathLike | None):
    """Within this context, `call` keeps exported functions in `folder` (None: plain jit calls)."""
    token = _FOLDER.set(None if folder is None else Path(folder))
    try:
        yield
    finally:
        _FOLDER.reset(token)


def forget() -> None:
    """Empties the in-process table: the next `call` reads its file again, as a new process would."""
    _LOADED.clear()


def call(name: str, fn: Callable, statics: tuple, *args) -> Any:
    """`fn(*statics, *args)`, served from an exported module when `export_cache` is on.

    Args:
      name: a stable name of `fn` (part of the file name; letters, digits, '.', '_', '-').
      fn: a jitted function whose leading arguments `statics` are static (hashable, with a
        deterministic repr) and whose remaining arguments are pytrees of arrays.
      statics: the static arguments.
      args: the array arguments (any pytree; flattened before export).
    """
    folder = _FOLDER.get()
    if folder is None:
        return fn(*statics, *args)
    flat, tree = jax.tree.flatten(args)
    flat = [jnp.asarray(x) for x in flat]
    key = cache_key(name, statics, tree, flat)
    runner = _LOADED.get((str(folder), key))
    if runner is None:
        runner = _load_or_export(folder, name, key, fn, statics, tree, flat)
        _LOADED[str(folder), key] = runner
    return runner(*flat)


def save(folder: str | os.PathLike, name: str, fn: Callable, statics: tuple, *args) -> Path | None:
    """Exports `fn(*statics, *args)` into `folder` without running it; the file's path, or None."""
    flat, tree = jax.tree.flatten(args)
    flat = [jnp.asarray(x) for x in flat]
    key = cache_key(name, statics, tree, flat)
    exp = _export(name, fn, statics, tree, flat)
    if exp is None:
        return None
    path = file_path(Path(folder), name, key)
    _write(path, key, exp)
    return path if path.is_file() else None


def cache_key(name: str, statics: tuple, tree, flat: list) -> str:
    """Hex digest naming one (function, static arguments, input avals, environment)."""
    avals = [(tuple(x.shape), str(x.dtype), bool(getattr(x, "weak_type", False))) for x in flat]
    text = repr((name, statics, str(tree), avals, x64_enabled(), jax.default_backend(), _environment()))
    return hashlib.sha256(text.encode()).hexdigest()


def file_path(folder: Path, name: str, key: str) -> Path:
    """Where the export of `name` under `key` is kept."""
    return folder / f"{name}-{key[:40]}{SUFFIX}"


@functools.lru_cache(maxsize=1)
def _environment() -> str:
    """Versions of Python and the solver libraries and a digest of every lfjax source file."""
    versions = []
    for lib in _LIBRARIES:
        try:
            versions.append(f"{lib}={importlib.metadata.version(lib)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{lib}=?")
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return f"{sys.version_info[:3]} {' '.join(versions)} lfjax-src={digest.hexdigest()}"


def _load_or_export(folder: Path, name: str, key: str, fn, statics, tree, flat) -> Callable:
    path = file_path(folder, name, key)
    exp = _read(path, key, flat)
    if exp is None:
        exp = _export(name, fn, statics, tree, flat)
        if exp is None:
            return lambda *xs: fn(*statics, *jax.tree.unflatten(tree, xs))
        _write(path, key, exp)
    return jax.jit(exp.call)


def _read(path: Path, key: str, flat: list):
    """The Exported stored at `path` for `key`, or None (missing; bad files logged and ignored)."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        _warn_once(f"cannot read the saved solver {path} ({exc})")
        return None
    header = MAGIC + key.encode() + b"\n"
    try:
        if not blob.startswith(header):
            raise ValueError("wrong header")
        exp = jax.export.deserialize(bytearray(blob[len(header):]))
        got = [(tuple(a.shape), str(a.dtype)) for a in exp.in_avals]
        if got != [(tuple(x.shape), str(x.dtype)) for x in flat]:
            raise ValueError(f"input shapes {got} differ")
        if time.time() - path.stat().st_mtime > 86400:
            os.utime(path)  # in use: kept by `_prune`
    except Exception as exc:  # noqa: BLE001 - any unreadable file is rebuilt, never fatal
        _warn_once(f"the saved solver {path.name} is unreadable ({type(exc).__name__}: {str(exc)[:80]})")
        return None
    return exp


def _warn_once(text: str) -> None:
    """One log line per process (logger `lfjax`, stderr when logging is not configured)."""
    if not _WARNED[0]:
        _WARNED[0] = True
        LOG.warning("%s; saved solvers that cannot be read are traced and saved again", text)
    else:
        LOG.debug("%s", text)


def _export(name: str, fn, statics, tree, flat: list):
    """`jax.export` of fn with `statics` bound over the flat arrays; None where exporting fails."""

    # traced afresh (not from fn's jit cache) with jaxlib's eigensolvers: host callbacks
    # (`physics._host_eigh`) cannot be serialised
    raw = getattr(fn, "__wrapped__", fn)

    def flat_fn(*xs):
        return raw(*statics, *jax.tree.unflatten(tree, xs))

    flat_fn.__name__ = name.replace(".", "_").replace("-", "_")
    try:
        # lapack custom calls are fine: the key pins jaxlib, so no cross-version stability is needed
        checks = [jax.export.DisabledSafetyCheck.custom_call("ALL")]
        with _host_eigh.disabled():
            return jax.export.export(jax.jit(flat_fn), disabled_checks=checks)(*flat)
    except Exception as exc:  # noqa: BLE001 - fall back to the traced function
        LOG.debug("lfjax: %s cannot be exported (%s: %s); using jit", name, type(exc).__name__, exc)
        return None


def _write(path: Path, key: str, exp) -> None:
    """Writes `exp` to `path` atomically; a read-only or missing folder only costs the saving."""
    try:
        blob = bytes(exp.serialize())
    except Exception as exc:  # noqa: BLE001 - e.g. flatbuffers missing: run without saving
        LOG.debug("lfjax: cannot serialise %s (%s)", path.name, exc)
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(MAGIC + key.encode() + b"\n" + blob)
            os.replace(tmp, path)
            _prune(path.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        LOG.debug("lfjax: cannot save %s (%s)", path, exc)


def _prune(folder: Path) -> None:
    """Deletes saved solvers not used for `PRUNE_AFTER_S` (files of older lfjax / jax versions pile up otherwise)."""
    cutoff = time.time() - PRUNE_AFTER_S
    for old in folder.glob(f"*{SUFFIX}"):
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                old.unlink()
