"""Brute-force profile-likelihood map over the canonical (D, E) wedge and its distinct modes.

The wedge |D| <= d_max, 0 <= E <= |D|/3 is sampled on D = k h, E = m h/3 (0 <= m <= |k|), so the
boundary E = |D|/3 falls on grid points. Each point's zero-field powder chi T comes from the fast
second-order path (`chi_t_powder_de`, float64); (f_m, chi_dia) are solved in closed form
(`likelihood.linear_fit`: profiled, or integrated out under Gaussian priors for the exact
marginal posterior). Modes are grid local maxima (8 neighbours, with (D, |D|/3) and (-D, |D|/3)
identified) with a topographic prominence of at least `min_prominence`, within `within`
log-likelihood units of the best, merged closer than `merge_k` K (modulo the six equivalents). This is the completeness check for refinement and a test oracle.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.errors import ConfigError
from lfjax.engines import exported
from lfjax.inference.compiled import count_trace, require_x64
from lfjax.inference.likelihood import NoiseModel, linear_fit
from lfjax.physics import chi_t_powder_de
from lfjax.physics.ions import Ion
from lfjax.symmetry import de_group, merge

CHUNK = 2048


@functools.partial(jax.jit, static_argnames="ion")
def _de_curves(ion: Ion, d, e, temps):
    """(CHUNK,) D, E in K -> (CHUNK, n_T) zero-field powder chi T (float64); traced once per ion and shape
    (never where a saved export serves it, `engines.exported`)."""
    count_trace("grid.de_curves")
    return chi_t_powder_de(ion, d, e, temps, dtype=jnp.float64)


def de_curves(ion: Ion, temps_k, points_de) -> np.ndarray:
    """(M, 2) (D, E) in K -> (M, n_T) zero-field powder chi T (emu K/mol), float64, in fixed chunks.

    Needs float64 on (`compiled.require_x64`).
    """
    require_x64("the (D, E) grid")
    points = np.asarray(points_de, np.float64).reshape(-1, 2)
    temps = jnp.asarray(np.asarray(temps_k, dtype=np.float64))
    padded = np.pad(points, ((0, (-len(points)) % CHUNK), (0, 0)))
    return np.concatenate([np.asarray(exported.call("grid.de_curves", _de_curves, (ion,), padded[i:i + CHUNK, 0],
                                                    padded[i:i + CHUNK, 1], temps))
                           for i in range(0, len(padded), CHUNK)])[: len(points)]


@dataclasses.dataclass(frozen=True)
class GridMode:
    """A distinct local maximum of the map: (D, E) in K, its linear parameters and fit quality."""

    d_k: float
    e_k: float
    log_likelihood: float
    chi_dia_emu_per_mol: float
    f_m: float
    rms_rel_residual: float


@dataclasses.dataclass(frozen=True, eq=False)
class GridScan:
    """The map on the grid: arrays (n_e, n_d), NaN outside the wedge; modes best first."""

    d_axis_k: np.ndarray
    e_axis_k: np.ndarray
    log_likelihood: np.ndarray
    chi_dia_emu_per_mol: np.ndarray
    f_m: np.ndarray
    modes: tuple[GridMode, ...]


def wedge_grid(d_max_k: float = 15.0, step_k: float = 0.15) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(d_axis (n_d,), e_axis (n_e,), inside mask (n_e, n_d)) of the canonical wedge in K."""
    if not (d_max_k > 0 and 0 < step_k <= d_max_k):
        raise ConfigError(f"need d_max_k > 0 and 0 < step_k <= d_max_k; got {d_max_k}, {step_k}")
    n = int(np.floor(d_max_k / step_k + 1e-9))
    k = np.arange(-n, n + 1)
    m = np.arange(0, n + 1)
    return k * step_k, m * step_k / 3, m[:, None] <= np.abs(k)[None, :]


def scan(
    ion: Ion,
    temps_k,
    chi_t_data,
    *,
    d_max_k: float = 15.0,
    step_k: float = 0.15,
    noise: NoiseModel = NoiseModel(),
    within: float = 2.0,
    merge_k: float = 0.5,
    min_prominence: float = 0.2,
    chi_t_scale=None,
) -> GridScan:
    """Profile-likelihood map of a measured chi T (T) over the canonical wedge (float64 must be on).

    Args:
      ion: the ion; temps_k, chi_t_data: (n,) in K and emu K/mol (per ion).
      d_max_k, step_k: wedge size and D spacing in K (E spacing step_k / 3).
      noise: likelihood (profiled noise by default; priors give the marginal posterior).
      within: modes are maxima within this many log-likelihood units of the best.
      merge_k: maxima closer than this (K, modulo equivalents) count as one.
      min_prominence: a maximum must rise this many log-likelihood units above the saddle that
        joins it to a higher one (removes grid artefacts along flat, oblique ridges).
      chi_t_scale: optional (n,) factor on the simulated zero-field curve (e.g. a finite-field
        correction chiT(H)/chiT(0) computed at a reference parameter set).
    """
    d_axis, e_axis, inside = wedge_grid(d_max_k, step_k)
    dd, ee = np.meshgrid(d_axis, e_axis)
    sims = de_curves(ion, temps_k, np.stack([dd[inside], ee[inside]], axis=-1))
    if chi_t_scale is not None:
        sims = sims * np.asarray(chi_t_scale, dtype=float)
    fit = linear_fit(sims, temps_k, chi_t_data, noise)
    maps = {}
    for key in ("log_likelihood", "chi_dia", "f_m", "rss"):
        full = np.full(inside.shape, np.nan)
        full[inside] = fit[key]
        maps[key] = full
    modes = _modes(d_axis, e_axis, maps, len(np.asarray(temps_k)), within, merge_k, min_prominence)
    return GridScan(d_axis, e_axis, maps["log_likelihood"], maps["chi_dia"], maps["f_m"], modes)


def _neighbours(inside: np.ndarray):
    """Yields (flat index, flat indices of its neighbours) over the wedge: 8 neighbours, with the
    boundary points (D, |D|/3) and (-D, |D|/3) identified (they are equivalent)."""
    n_e, n_d = inside.shape
    centre = n_d // 2
    for m, k in zip(*np.nonzero(inside)):
        sources = [(m, k)] + ([(m, 2 * centre - k)] if m == abs(k - centre) and k != centre else [])
        found = set()
        for sm, sk in sources:
            for dm in (-1, 0, 1):
                for dk in (-1, 0, 1):
                    mm, kk = sm + dm, sk + dk
                    if 0 <= mm < n_e and 0 <= kk < n_d and inside[mm, kk] and (mm, kk) != (m, k):
                        found.add(mm * n_d + kk)
        yield m * n_d + k, found


def prominences(ll: np.ndarray) -> np.ndarray:
    """Topographic prominence of every local maximum of the wedge map (0 elsewhere, inf at the top).

    Points are added from the highest down (union-find); when two rising regions meet at a saddle
    the lower peak's prominence is its height above that saddle. Ridges that are not aligned with
    the grid produce chains of grid maxima with tiny prominence; this filters them out.
    """
    inside = ~np.isnan(ll)
    flat = ll.ravel()
    adjacency = dict(_neighbours(inside))
    parent: dict[int, int] = {}
    peak: dict[int, int] = {}
    prom = np.zeros(flat.size)

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in sorted(adjacency, key=lambda j: -flat[j]):
        roots = {find(j) for j in adjacency[i] if j in parent}
        parent[i] = i
        if not roots:
            peak[i] = i
            continue
        top = max(roots, key=lambda r: flat[peak[r]])
        for r in roots - {top}:
            prom[peak[r]] = flat[peak[r]] - flat[i]
            parent[r] = top
        parent[i] = top
    for r in {find(i) for i in parent}:
        prom[peak[r]] = np.inf
    return prom.reshape(ll.shape)


def _modes(d_axis, e_axis, maps, n, within, merge_k, min_prominence) -> tuple[GridMode, ...]:
    ll = maps["log_likelihood"]
    top = np.nanmax(ll)
    is_max = (prominences(ll) >= min_prominence) & (ll >= top - within)
    m_idx, k_idx = np.nonzero(is_max)
    points = np.stack([d_axis[k_idx], e_axis[m_idx]], axis=-1)
    scores = ll[m_idx, k_idx]
    modes = []
    for i in merge(de_group(), points, scores, merge_k):
        m, k = m_idx[i], k_idx[i]
        modes.append(GridMode(
            d_k=float(d_axis[k]), e_k=float(e_axis[m]), log_likelihood=float(ll[m, k]),
            chi_dia_emu_per_mol=float(maps["chi_dia"][m, k]), f_m=float(maps["f_m"][m, k]),
            rms_rel_residual=float(np.sqrt(maps["rss"][m, k] / n)),
        ))
    return tuple(modes)
