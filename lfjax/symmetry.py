"""The likelihood's symmetry group as data: fold, distances, merge, sampling, KDE and hit rate.

A group is a stack of linear maps on the parameter vector, `maps` of shape (G, n, n) with the
identity first: theta and g theta give the same curves for every g. Everything that depends on
the symmetry is written once here, as a function of (group, points):

- images / fold: the G images g theta; the canonical representative is the image that maximises
  the group's key, compared lexicographically. A key is a stack of linear functionals `key_rows`
  (k, n), each optionally taken in absolute value (`key_abs`). For (D, E) the key is (|D|, E):
  the largest |D|, then E >= 0, i.e. the wedge 0 <= E <= |D|/3 (as `physics.equivalents.canonical`).
  For any other group the default key is one fixed generic linear functional.
- distance modulo the group, d(a, b) = min_g |g a - b| (Euclidean, parameter units), pairwise
  distances, the image of an estimate nearest to a reference, greedy merge of nearby solutions;
- area-uniform sampling of the canonical region: the (D, E) wedge |D| <= d_max exactly
  (`sample_wedge`), any group by folding draws from an invariant box (`sample_folded_box`);
- one Gaussian kernel density estimate of folded samples modulo the group (`kde_density`);
- one hit definition (`hits`): some image of the estimate within a per-parameter tolerance of
  the canonical truth, or with `strict=True` the canonical estimate itself.

Functions take numpy arrays (and return numpy, float64 where given float64) or JAX arrays/tracers
(and return JAX arrays, usable under jit and vmap).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.errors import ParameterError

#: Relative tolerance of the group checks (identity first, closure under composition).
_GROUP_RTOL = 1e-9


def _xp(*arrays):
    return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


def _generic_key(n: int) -> np.ndarray:
    """A fixed linear functional with rationally independent weights (no accidental ties)."""
    return np.sqrt(np.arange(2, n + 2, dtype=np.float64))[None, :]


@dataclasses.dataclass(frozen=True, eq=False)
class SymmetryGroup:
    """A finite group of linear maps on an n-parameter vector, and its canonical-region rule.

    Attributes:
      maps: (G, n, n) matrices, identity first; `maps[g] @ theta` is the g-th image.
      key_rows: (k, n) linear functionals; the canonical image maximises (key_1, ..., key_k)
        lexicographically (default: one generic functional).
      key_abs: k flags: compare |key_j . theta| instead of key_j . theta.
      names: the parameter names, in vector order (documentation and checks only).
    """

    maps: np.ndarray
    key_rows: np.ndarray | None = None
    key_abs: tuple[bool, ...] | None = None
    names: tuple[str, ...] | None = None

    def __post_init__(self):
        maps = np.asarray(self.maps, dtype=np.float64)
        if maps.ndim != 3 or maps.shape[1] != maps.shape[2] or maps.shape[0] < 1:
            raise ParameterError(f"maps must have shape (G, n, n); got {maps.shape}; stack one n x n matrix per map")
        g, n, _ = maps.shape
        scale = max(1.0, float(np.abs(maps).max()))
        if not np.allclose(maps[0], np.eye(n), atol=_GROUP_RTOL * scale):
            raise ParameterError("maps[0] must be the identity; got another matrix; put the identity first")
        products = np.einsum("aij,bjk->abik", maps, maps).reshape(g * g, 1, n, n)
        closed = np.all(np.isclose(products, maps[None], atol=_GROUP_RTOL * scale), axis=(-2, -1)).any(axis=1)
        if not closed.all():
            raise ParameterError(f"maps must form a group (closed under composition); {int((~closed).sum())} of "
                                 f"{g * g} products are not among the {g} maps; add the missing maps")
        rows = _generic_key(n) if self.key_rows is None else np.atleast_2d(np.asarray(self.key_rows, np.float64))
        if rows.shape[1] != n:
            raise ParameterError(f"key_rows must have {n} columns (one per parameter); got shape {rows.shape}")
        flags = (False,) * rows.shape[0] if self.key_abs is None else tuple(bool(b) for b in self.key_abs)
        if len(flags) != rows.shape[0]:
            raise ParameterError(f"key_abs must have one flag per key row ({rows.shape[0]}); got {len(flags)}")
        if self.names is not None and len(self.names) != n:
            raise ParameterError(f"names must list the {n} parameters; got {len(self.names)}")
        object.__setattr__(self, "maps", maps)
        object.__setattr__(self, "key_rows", rows)
        object.__setattr__(self, "key_abs", flags)

    @property
    def n_maps(self) -> int:
        return self.maps.shape[0]

    @property
    def n_params(self) -> int:
        return self.maps.shape[1]


@functools.cache
def de_group() -> SymmetryGroup:
    """The six (D, E) maps of `physics.equivalents` as matrices; canonical key (|D|, E)."""
    from lfjax.physics.equivalents import equivalents

    columns = [np.asarray(equivalents(np.float64(1.0), np.float64(0.0))),
               np.asarray(equivalents(np.float64(0.0), np.float64(1.0)))]  # (6, 2) images of each unit vector
    maps = np.stack(columns, axis=-1)  # (6, 2, 2): maps[g, i, j] = component i of g e_j
    return SymmetryGroup(maps=maps, key_rows=np.eye(2), key_abs=(True, False), names=("D", "E"))


def _maps(group: SymmetryGroup, xp, dtype):
    return xp.asarray(group.maps, dtype=dtype) if xp is np else jnp.asarray(group.maps, dtype=dtype)


def _float(x, xp):
    x = xp.asarray(x)
    if not xp.issubdtype(x.dtype, xp.floating):
        x = x.astype(xp.float64 if xp is np else jnp.result_type(float))
    return x


def images(group: SymmetryGroup, theta):
    """(..., n) parameters -> (..., G, n) their images g theta, the input first."""
    xp = _xp(theta)
    theta = _float(theta, xp)
    return xp.einsum("gij,...j->...gi", _maps(group, xp, theta.dtype), theta)


def _select(group: SymmetryGroup, imgs, xp):
    """Index (...,) of the canonical image among (..., G, n): lexicographic argmax of the key."""
    keys = xp.einsum("...gi,ki->...gk", imgs, xp.asarray(group.key_rows, dtype=imgs.dtype))
    candidate = xp.ones(keys.shape[:-1], dtype=bool)
    for j, use_abs in enumerate(group.key_abs):
        kj = xp.abs(keys[..., j]) if use_abs else keys[..., j]
        kj = xp.where(candidate, kj, -xp.inf)
        candidate = candidate & (kj >= xp.max(kj, axis=-1, keepdims=True))
    return xp.argmax(candidate, axis=-1)  # the first remaining candidate


def _take(imgs, index, xp):
    return xp.take_along_axis(imgs, index[..., None, None], axis=-2)[..., 0, :]


def fold(group: SymmetryGroup, theta):
    """(..., n) -> (..., n) the canonical image of each parameter vector (module docstring)."""
    xp = _xp(theta)
    imgs = images(group, theta)
    return _take(imgs, _select(group, imgs, xp), xp)


def random_image(group: SymmetryGroup, key, theta):
    """(..., n) -> (..., n): one of the G maps, chosen uniformly at random per row, applied (JAX)."""
    choice = jax.random.randint(key, jnp.shape(theta)[:-1], 0, group.n_maps)
    return _take(images(group, jnp.asarray(theta)), choice, jnp)


def pairwise_distance(group: SymmetryGroup, points, others=None, bandwidth=None):
    """(m, n), (k, n) -> (m, k) distances min_g |(g p - o) / bandwidth| (bandwidth 1 by default)."""
    xp = _xp(points, others)
    points = _float(points, xp)
    others = points if others is None else _float(others, xp)
    h = 1.0 if bandwidth is None else xp.asarray(bandwidth, dtype=points.dtype)
    diff = (images(group, points)[:, :, None, :] - others[None, None, :, :]) / h  # (m, G, k, n)
    return xp.sqrt(xp.min(xp.sum(diff**2, axis=-1), axis=1))


def distance(group: SymmetryGroup, a, b):
    """(..., n), (..., n) -> (...) distance modulo the group, min_g |g a - b| (parameter units)."""
    xp = _xp(a, b)
    a, b = _float(a, xp), _float(b, xp)
    return xp.min(xp.linalg.norm(images(group, a) - b[..., None, :], axis=-1), axis=-1)


def nearest_image(group: SymmetryGroup, estimate, reference):
    """(..., n) -> (..., n): the image of `estimate` nearest (Euclidean) to `reference`."""
    xp = _xp(estimate, reference)
    imgs = images(group, estimate)
    index = xp.argmin(xp.sum((imgs - _float(reference, xp)[..., None, :]) ** 2, axis=-1), axis=-1)
    return _take(imgs, index, xp)


def errors(group: SymmetryGroup, estimate, truth):
    """(..., n) absolute errors of the image of `estimate` nearest to the canonical truth."""
    truth = fold(group, truth)
    return abs(nearest_image(group, estimate, truth) - truth)


def hits(group: SymmetryGroup, estimate, truth, tol, *, strict: bool = False):
    """(...) bool: the estimate matches the truth within `tol` (n,) in every parameter.

    Default: some image of the estimate lies within tol of the canonical truth (so on the wedge
    (D, |D|/3) matches (-D, |D|/3)). strict: the canonical estimate itself must.
    """
    xp = _xp(estimate, truth)
    truth = fold(group, truth)
    cands = fold(group, estimate)[..., None, :] if strict else images(group, estimate)
    ok = xp.all(abs(cands - truth[..., None, :]) <= xp.asarray(tol), axis=-1)
    return xp.any(ok, axis=-1)


def merge(group: SymmetryGroup, points, scores, radius: float) -> list[int]:
    """Indices of the best-scoring points, dropping any within `radius` of a better kept one.

    Args:
      points: (m, n) parameter vectors; scores: (m,) higher is better; radius: in parameter units,
        modulo the group.
    Returns:
      kept indices, best first (a stable sort: equal scores keep their order).
    """
    points = np.asarray(points, np.float64)
    kept: list[int] = []
    for i in np.argsort(-np.asarray(scores, np.float64), kind="stable"):
        if not kept or np.all(distance(group, points[i], points[kept]) > radius):
            kept.append(int(i))
    return kept


def kde_density(group: SymmetryGroup, samples, at=None, *, bandwidth, leave_one_out: bool = False):
    """Gaussian kernel density (unnormalised sum of kernels) of folded samples, modulo the group.

    density(x) = sum_i exp(-d(x, s_i)^2 / 2), d the distance modulo the group in units of the
    bandwidth and s_i the canonical samples.

    Args:
      samples: (m, n) draws (any images).
      at: (k, n) query points, or None for the canonical samples themselves.
      bandwidth: kernel width, scalar or (n,), in parameter units.
      leave_one_out: at the samples, drop each sample's own kernel (the value 1).
    Returns:
      (canonical samples (m, n), density (k,) or (m,)).
    """
    xp = _xp(samples, at)
    pts = fold(group, samples)
    query = pts if at is None else _float(at, xp)
    density = xp.sum(xp.exp(-0.5 * pairwise_distance(group, query, pts, bandwidth) ** 2), axis=-1)
    if leave_one_out and at is None:
        density = density - 1.0
    return pts, density


def kde_mode(group: SymmetryGroup, samples, *, bandwidth):
    """(m, n) draws -> (n,) the canonical draw of highest `kde_density`."""
    xp = _xp(samples)
    pts, density = kde_density(group, samples, bandwidth=bandwidth)
    return pts[xp.argmax(density)]


def sample_wedge(key, n: int, d_max_k: float, dtype=jnp.float32):
    """(n, 2) (D, E) in K, area-uniform on the canonical wedge |D| <= d_max_k, 0 <= E <= |D|/3.

    |D| = d_max sqrt(u) (the wedge's width grows linearly with |D|), a random sign, E = v |D|/3.
    """
    k_r, k_sign, k_e = jax.random.split(key, 3)
    abs_d = d_max_k * jnp.sqrt(jax.random.uniform(k_r, (n,), dtype))
    sign = jnp.where(jax.random.bernoulli(k_sign, 0.5, (n,)), 1.0, -1.0).astype(dtype)
    e = jax.random.uniform(k_e, (n,), dtype) * abs_d / 3
    return jnp.stack([sign * abs_d, e], axis=-1)


def sample_folded_box(group: SymmetryGroup, key, n: int, half_widths, dtype=jnp.float32):
    """(n, p) canonical draws: uniform in the box |theta_i| <= half_widths_i, then folded.

    Area-uniform on the canonical part of the box when the box is invariant under the group
    (e.g. sign-flip groups, whose maps are diagonal +-1).
    """
    half = jnp.asarray(half_widths, dtype)
    u = jax.random.uniform(key, (n, group.n_params), dtype, minval=-1.0, maxval=1.0)
    return fold(group, u * half)
