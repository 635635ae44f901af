"""Batched Hermitian eigensolvers on every core of the host, for the CPU backend.

Inside a jitted function jaxlib 0.10's LAPACK eigh splits its batch into one task per thread of
XLA's intra-op pool and waits for them; the thread that reaches the call is usually one of those
pool threads, so one core runs both halves (powder M(H): CPU/wall 1.1-1.2 on 2 cores, see README).
Here the batch goes to numpy's LAPACK (`np.linalg.eigh`, which releases the GIL) on a pool of
Python threads, one per core, through `jax.pure_callback`: CPU/wall 1.9-2.0.

- `eigh(h)`: levels (ascending) and eigenvectors, as `jnp.linalg.eigh`.
- `zeeman_levels_diag(h0, scale, ops, bands)`: for H = h0[m] + scale[m, ..., d] A_d (a Zeeman
  sweep of one ligand field over fields and directions), the levels and Re (V^dagger A_d V)_ii,
  with H built and A_d's diagonal summed along its bands inside the threads: the forward pass of
  M(H), where the eigenvectors themselves are never needed outside.

Both are used only where `active()` says so: the default backend is the CPU and no function is
being exported (`jax.export` cannot serialise a host callback; `disabled()` is entered around
exports), and not where the persistent compilation cache matters more than the second core:
XLA's cache skips every function with a host callback, so `lfjax infer` traces inside
`disabled()`. The choice is made when a function is traced, so a jitted function keeps the one
it was first traced with. Nothing is differentiated through them; the callers carry their own JVPs
(`_spectral`). A matrix with a non-finite entry, or one LAPACK cannot diagonalise, gives NaN
levels and vectors, as jaxlib's eigh does.

64-bit arrays cross into and out of the callbacks as uint32 words (`_pack`, `_unpack`): JAX
converts a callback's arguments and results to the precision of the thread that runs it, and
XLA's threads are outside the caller's `jax.enable_x64(True)` context, so float64 would silently
become float32 on the way in and be refused on the way out.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np

#: Matrices per task below which a batch is not split (thread hand-off costs ~10 us).
MIN_TASK = 32
#: Tasks per thread: more than one evens out threads slowed by other work.
TASKS_PER_THREAD = 2

_DISABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("lfjax_host_eigh_disabled", default=False)
_POOL: dict[int, ThreadPoolExecutor] = {}
_LOCK = threading.Lock()


def n_threads() -> int:
    """Threads of the pool: the cores this process may run on (at most 32)."""
    try:
        return max(1, min(32, len(os.sched_getaffinity(0))))
    except AttributeError:  # not on Linux
        return max(1, min(32, os.cpu_count() or 1))


def active() -> bool:
    """True where traced functions send their eigensolvers here: CPU backend, not exporting, not
    inside `disabled()`, not switched off with LFJAX_HOST_EIGH=0.

    There is no lower bound on the batch: under `vmap` (the SMC's particle batches, Jacobians)
    the traced shape is one item's, while the callback receives the whole batch.
    """
    if _DISABLED.get() or os.environ.get("LFJAX_HOST_EIGH", "1") == "0":
        return False
    return jax.default_backend() == "cpu"


@contextlib.contextmanager
def disabled():
    """Functions traced inside use `jnp.linalg.eigh`: for `jax.export`, to compare, and for short
    runs that read their compiled functions from the persistent cache (`lfjax infer`).
    Public as `lfjax.physics.without_host_threads`."""
    token = _DISABLED.set(True)
    try:
        yield
    finally:
        _DISABLED.reset(token)


def _pool() -> ThreadPoolExecutor:
    """The process's thread pool (a fresh one after a fork: threads do not survive it)."""
    pid = os.getpid()
    with _LOCK:
        if pid not in _POOL:
            _POOL[pid] = ThreadPoolExecutor(n_threads(), thread_name_prefix="lfjax-eigh")
        return _POOL[pid]


def _run(n_items: int, task) -> None:
    """task(start, stop) over [0, n_items) in even pieces on the pool (inline when small)."""
    pieces = min(n_threads() * TASKS_PER_THREAD, n_items // MIN_TASK)
    if pieces <= 1:
        task(0, n_items)
        return
    bounds = np.linspace(0, n_items, pieces + 1).astype(int)
    futures = [_pool().submit(task, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    for future in futures:
        future.result()


def _words(dtype) -> int:
    """uint32 words per element of a 64-bit dtype (float64: 2, complex128: 4); 0 for 32-bit."""
    dtype = np.dtype(dtype)
    return dtype.itemsize // 4 if dtype in (np.float64, np.complex128) else 0


def _wire(shape: tuple, dtype) -> jax.ShapeDtypeStruct:
    """What the callback returns for a result of `shape` and `dtype` (see `_encode`)."""
    words = _words(dtype)
    return jax.ShapeDtypeStruct(tuple(shape) + (words,), np.uint32) if words else jax.ShapeDtypeStruct(shape, dtype)


def _encode(x: np.ndarray, dtype) -> np.ndarray:
    """Host side, outgoing: x as `dtype`, 64-bit values as their uint32 words (last axis)."""
    x = np.ascontiguousarray(x, dtype=dtype)
    words = _words(dtype)
    return x.view(np.uint32).reshape(x.shape + (words,)) if words else x


def _decode(y, dtype):
    """JAX side, incoming: inverse of `_encode`."""
    words = _words(dtype)
    if not words:
        return y
    if words == 2:
        return jax.lax.bitcast_convert_type(y, jnp.float64)
    parts = jax.lax.bitcast_convert_type(y.reshape(y.shape[:-1] + (2, 2)), jnp.float64)
    return jax.lax.complex(parts[..., 0], parts[..., 1])


def _pack(x):
    """JAX side, outgoing: 64-bit x as uint32 words (last axis), as `_encode` does on the host."""
    words = _words(x.dtype)
    if not words:
        return x
    if words == 4:
        x = jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)
    words_of = jax.lax.bitcast_convert_type(x, jnp.uint32)
    return words_of.reshape(words_of.shape[:-2] + (4,)) if words == 4 else words_of


def _unpack(y, dtype) -> np.ndarray:
    """Host side, incoming: inverse of `_pack`."""
    y = np.asarray(y)
    if not _words(dtype):
        return y.astype(dtype, copy=False)
    return np.ascontiguousarray(y).view(dtype)[..., 0]


def _eigh_rows(mats: np.ndarray):
    """np.linalg.eigh of (k, N, N), NaN for matrices that are not finite or do not converge."""
    finite = np.all(np.isfinite(mats), axis=(-2, -1))
    if finite.all():
        try:
            return np.linalg.eigh(mats)
        except np.linalg.LinAlgError:
            pass
    levels = np.full(mats.shape[:-1], np.nan, dtype=np.finfo(mats.dtype).dtype)
    vecs = np.full(mats.shape, np.nan, dtype=mats.dtype)
    for i in np.flatnonzero(finite):
        try:
            levels[i], vecs[i] = np.linalg.eigh(mats[i])
        except np.linalg.LinAlgError:
            pass
    return levels, vecs


def _eigh_host(h, dtype):
    h = _unpack(h, dtype)
    n = h.shape[-1]
    flat = h.reshape(-1, n, n)
    real = np.finfo(h.dtype).dtype
    levels = np.empty(flat.shape[:-1], dtype=real)
    vecs = np.empty_like(flat)

    def task(a, b):
        levels[a:b], vecs[a:b] = _eigh_rows(flat[a:b])

    _run(flat.shape[0], task)
    return _encode(levels.reshape(h.shape[:-1]), real), _encode(vecs.reshape(h.shape), h.dtype)


def eigh(h):
    """Levels (..., N) ascending and eigenvectors (..., N, N) of Hermitian h (..., N, N)."""
    if not active():
        return jnp.linalg.eigh(h)
    real = jnp.finfo(h.dtype).dtype
    shapes = (_wire(h.shape[:-1], real), _wire(h.shape, h.dtype))
    dtype = np.dtype(h.dtype)
    levels, vecs = jax.pure_callback(lambda x: _eigh_host(x, dtype), shapes, _pack(h), vmap_method="broadcast_all")
    return _decode(levels, real), _decode(vecs, h.dtype)


def band_values(ops, bands: tuple[int, ...], xp=np):
    """(..., len(bands), N): band d of each operator, A_{j, j + d} at position j (zeros elsewhere).

    xp: numpy, or jax.numpy for traced operators."""
    pad = [(0, 0)] * (ops.ndim - 2)
    return xp.stack([xp.pad(xp.diagonal(ops, d, axis1=-2, axis2=-1), pad + [(max(0, -d), max(0, d))])
                     for d in bands], axis=-2)


def banded_diagonal(vecs, bvals, bands: tuple[int, ...], xp=np):
    """Re (V^dagger A V)_ii, shape (..., N), for vecs (..., N, N) and A given by its bands bvals
    (..., len(bands), N) (`band_values`): sum_d sum_j conj(V_ji) A_{j, j + d} V_{j + d, i},
    O(N^2 * len(bands)). xp: numpy (inside the host's threads) or jax.numpy."""
    n = vecs.shape[-1]
    vc = xp.conj(vecs)
    total = 0.0
    for k, d in enumerate(bands):
        lo, hi = max(0, -d), n - max(0, d)  # rows j with 0 <= j + d < n
        total = total + xp.sum(vc[..., lo:hi, :] * bvals[..., k, lo:hi, None] * vecs[..., lo + d:hi + d, :], axis=-2)
    return xp.real(total)


def _zeeman_host(h0, scale, ops, bvals, bands):
    """h0 (L..., M, N, N), scale (L..., M, S..., D) -> levels, diag (L..., M, S..., D, N)."""
    n, n_dir = h0.shape[-1], ops.shape[0]
    lead = np.broadcast_shapes(h0.shape[:-2], scale.shape[:h0.ndim - 2])
    out_shape = lead + scale.shape[h0.ndim - 2:]
    per_row = int(np.prod(scale.shape[h0.ndim - 2:]))  # S... x D matrices per row of h0
    h_rows = np.broadcast_to(h0, lead + h0.shape[-2:]).reshape(-1, n, n)
    s_flat = np.broadcast_to(scale, out_shape).reshape(-1)
    dtype = np.result_type(h0.dtype, ops.dtype)
    ops, bvals = ops.astype(dtype), bvals.astype(dtype)
    levels = np.empty((s_flat.size, n), dtype=np.finfo(dtype).dtype)
    diag = np.empty_like(levels)

    def task(a, b):
        idx = np.arange(a, b)
        d = idx % n_dir
        mats = h_rows[idx // per_row] + s_flat[a:b, None, None].astype(dtype) * ops[d]
        levels[a:b], vecs = _eigh_rows(mats)
        diag[a:b] = banded_diagonal(vecs, bvals[d], bands)

    _run(s_flat.size, task)
    real = levels.dtype
    return _encode(levels.reshape(out_shape + (n,)), real), _encode(diag.reshape(out_shape + (n,)), real)


def zeeman_levels_diag(h0, scale, ops: np.ndarray, bands: tuple[int, ...]):
    """Levels and Re (V^dagger A_d V)_ii of H = h0[m] + scale[m, ..., d] A_d.

    Args:
      h0: (M, N, N) ligand-field Hamiltonians (K).
      scale: (M, S..., D) field terms (K per unit of A), e.g. g mu_B B / k_B per point and direction.
      ops: (D, N, N) numpy operators A_d, non-zero only on the diagonals `bands`.
      bands: offsets of those diagonals (`_spectral.static_bands`).

    Returns:
      levels, diag: (M, S..., D, N) each, levels ascending. Call only where `active()`.
    """
    ops = np.asarray(ops)
    bvals = band_values(ops, bands)
    real = jnp.finfo(h0.dtype).dtype
    shape = scale.shape + (ops.shape[-1],)
    shapes = (_wire(shape, real), _wire(shape, real))

    h_type, s_type = np.dtype(h0.dtype), np.dtype(real)

    def host(h, s):
        return _zeeman_host(_unpack(h, h_type), _unpack(s, s_type), ops, bvals, bands)

    levels, diag = jax.pure_callback(host, shapes, _pack(h0), _pack(scale.astype(real)), vmap_method="expand_dims")
    return _decode(levels, real), _decode(diag, real)
