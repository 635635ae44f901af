"""M(H) sweeps -> one equilibrium curve M(|H|) >= 0 field: branches, folding, averaging.

A sweep (rows in file order) is cut into branches where the field turns (a reversal counts once
the field has moved back by more than `turn_tol` = max(TURN_ABS_OE, TURN_REL max|H|), so VSM
jitter does not cut it). Then:
  - virgin branch present (the sweep starts at |H| < VIRGIN_REL max|H| and moves away from 0):
    only that branch is used;
  - otherwise every point is folded, (H, M) -> (|H|, sign(H) M) (M(-H) = -M(H)), and split into
    the points where |H| was rising and where it was falling; each set is averaged over fields
    that agree within `same_field`, both are interpolated onto their common fields, and the curve
    is their mean. Where they differ by more than BRANCH_TOL of max |M| (hysteresis) a warning
    gives the field range and the largest difference.
Points at |H| < ZERO_FIELD_OE are dropped (their sign is undefined; remanence is not
equilibrium). Curves with more than `max_points` points are averaged in consecutive field bins.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lfjax.io._segments import same_field

TURN_ABS_OE = 10.0
TURN_REL = 2e-3
VIRGIN_REL = 0.02
BRANCH_TOL = 0.02
ZERO_FIELD_OE = 1.0
MAX_POINTS = 200
DROP_TOL = 0.05

__all__ = ["FoldedSweep", "branches", "fold_sweep", "merge_fields"]


@dataclasses.dataclass(frozen=True, eq=False)
class FoldedSweep:
    """An M(H) curve on |H| > 0, sorted by field.

    Attributes:
      fields_oe: |H| in Oe, shape (m,), increasing.
      values: M in the input's unit (any per-field-linear unit), shape (m,), sign folded.
      temps_k: temperature per point in K, shape (m,).
      how: what was used, e.g. "virgin branch (412 of 7872 rows)".
      warnings: what was dropped, averaged or found suspicious, one line each.
    """

    fields_oe: np.ndarray
    values: np.ndarray
    temps_k: np.ndarray
    how: str
    warnings: tuple[str, ...]


def branches(fields_oe: np.ndarray) -> list[tuple[int, int, int]]:
    """Monotone branches of a sweep as (start, stop, direction) row slices, direction +1 rising.

    Args:
      fields_oe: fields in Oe, shape (n,), file order.
    """
    fields = np.asarray(fields_oe, float)
    n = fields.size
    if n == 0:
        return []
    tol = max(TURN_ABS_OE, TURN_REL * float(np.max(np.abs(fields))))
    out: list[tuple[int, int, int]] = []
    start, direction, extreme, at = 0, 0, fields[0], 0
    for i in range(1, n):
        step = fields[i] - extreme
        if direction == 0:
            if abs(step) > tol:
                direction, extreme, at = int(np.sign(step)), fields[i], i
            continue
        if step * direction > 0:
            extreme, at = fields[i], i
        elif abs(step) > tol:
            out.append((start, at + 1, direction))
            start, direction, extreme, at = at + 1, -direction, fields[i], i
    out.append((start, n, direction))
    return out


def merge_fields(fields_oe: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sorts by field and averages points whose fields lie within `same_field` of a group's first.

    Args:
      fields_oe: fields in Oe, shape (m,).
      *columns: arrays of shape (m,) averaged the same way.

    Returns:
      (fields, *columns) averaged, each of shape (k,), k <= m, fields increasing.
    """
    order = np.argsort(fields_oe, kind="stable")
    fields = np.asarray(fields_oe, float)[order]
    group = np.zeros(fields.size, dtype=int)
    anchor = fields[0] if fields.size else 0.0
    for i in range(1, fields.size):
        if same_field(anchor, fields[i]):
            group[i] = group[i - 1]
        else:
            group[i], anchor = group[i - 1] + 1, fields[i]
    counts = np.bincount(group)
    mean = lambda x: np.bincount(group, weights=np.asarray(x, float)[order]) / counts
    return (np.bincount(group, weights=fields) / counts, *(mean(c) for c in columns))


def _rows(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def _bin(fields, values, temps, max_points):
    chunks = np.array_split(np.arange(fields.size), max_points)
    return tuple(np.array([x[c].mean() for c in chunks]) for x in (fields, values, temps))


def fold_sweep(fields_oe, values, temps_k, *, max_points: int = MAX_POINTS,
               h_range_oe: tuple[float | None, float | None] = (None, None)) -> FoldedSweep:
    """Turns one M(H) sweep (file order, either field sign, maybe a loop) into M(|H|).

    Args:
      fields_oe: fields in Oe, shape (n,), file order.
      values: magnetisation (emu, emu/mol or mu_B; anything odd in H), shape (n,).
      temps_k: temperatures in K, shape (n,).
      max_points: the most points returned; longer curves are averaged in consecutive bins.
      h_range_oe: (h_min_oe, h_max_oe): keep points with |H| in this range (None: open), applied
        after folding and averaging the branches, before binning.

    Returns:
      A `FoldedSweep` (possibly empty when every point is at zero field).
    """
    fields, values, temps = (np.asarray(a, float) for a in (fields_oe, values, temps_k))
    warnings: list[str] = []
    parts = branches(fields)
    top = float(np.max(np.abs(fields))) if fields.size else 0.0
    first = parts[0] if parts else (0, 0, 0)
    leaves_zero = first[2] != 0 and np.sign(fields[first[1] - 1]) == first[2]
    virgin = bool(parts) and abs(fields[0]) < VIRGIN_REL * top and leaves_zero
    if virgin:
        rows = np.arange(first[0], first[1])
        away = np.ones(rows.size, bool)
        how = f"virgin branch ({rows.size} of {fields.size} rows)"
    else:
        rows = np.arange(fields.size)
        direction = np.concatenate([np.full(b - a, d) for a, b, d in parts]) if parts else np.zeros(0)
        away = direction * np.sign(fields) > 0
        how = f"{len(parts)} branch{'es' if len(parts) != 1 else ''}, folded"
    h, m, t = np.abs(fields[rows]), np.sign(fields[rows]) * values[rows], temps[rows]
    zero = h < ZERO_FIELD_OE
    if zero.any():
        warnings.append(f"dropped {_rows(int(zero.sum()))} at |H| < {ZERO_FIELD_OE:g} Oe (M(0) is not defined by folding)")
        h, m, t, away = h[~zero], m[~zero], t[~zero], away[~zero]
    if (fields[rows] < -ZERO_FIELD_OE).any() and (fields[rows] > ZERO_FIELD_OE).any():
        warnings.append("folded negative fields onto positive ones: M(-H) = -M(H)")
    if h.size == 0:
        return FoldedSweep(h, m, t, how, tuple(warnings))
    if virgin or away.all() or not away.any():
        h, m, t = merge_fields(h, m, t)
    else:
        h, m, t, note = _mean_of_branches(h[away], m[away], t[away], h[~away], m[~away], t[~away])
        how += ", mean of the rising and falling branches"
        warnings += note
    lo, hi = (-np.inf if h_range_oe[0] is None else h_range_oe[0]), (np.inf if h_range_oe[1] is None else h_range_oe[1])
    keep = (h >= lo) & (h <= hi)
    h, m, t = h[keep], m[keep], t[keep]
    if h.size > max_points:
        warnings.append(f"averaged {h.size} points into {max_points} consecutive field bins")
        h, m, t = _bin(h, m, t, max_points)
    warnings += _monotonic_check(h, m)
    return FoldedSweep(h, m, t, how, tuple(warnings))


def _mean_of_branches(h_up, m_up, t_up, h_down, m_down, t_down):
    """Mean of the |H|-rising and |H|-falling sets on their common fields, with a hysteresis note."""
    h_up, m_up, t_up = merge_fields(h_up, m_up, t_up)
    h_down, m_down, t_down = merge_fields(h_down, m_down, t_down)
    lo, hi = max(h_up[0], h_down[0]), min(h_up[-1], h_down[-1])
    notes: list[str] = []
    grid = np.concatenate([h_up, h_down])
    grid = grid[(grid >= lo) & (grid <= hi)]
    if grid.size == 0:
        notes.append("the rising and falling branches share no fields; used the rising one")
        return h_up, m_up, t_up, notes
    (grid,) = merge_fields(grid)
    up, down = np.interp(grid, h_up, m_up), np.interp(grid, h_down, m_down)
    temps = 0.5 * (np.interp(grid, h_up, t_up) + np.interp(grid, h_down, t_down))
    mean = 0.5 * (up + down)
    outside = np.concatenate([h_up, h_down])
    outside = [h for h in outside if (h < lo and not same_field(h, lo)) or (h > hi and not same_field(h, hi))]
    if outside:
        notes.append(f"kept the fields both branches cover, {lo:.5g}-{hi:.5g} Oe")
    diff = np.abs(up - down)
    scale = float(np.max(np.abs(mean))) or 1.0
    over = diff > BRANCH_TOL * scale
    if over.any():
        notes.append(
            f"rising and falling branches differ by up to {100 * diff.max() / scale:.1f} % of max |M| at "
            f"{grid[over].min():.5g}-{grid[over].max():.5g} Oe (hysteresis?); the curve is their mean"
        )
    return grid, mean, temps, notes


def _monotonic_check(h, m) -> list[str]:
    """A warning where M falls with rising |H| by more than DROP_TOL of max |M| (bad rows?)."""
    if h.size < 2:
        return []
    scale = float(np.max(np.abs(m))) or 1.0
    falls = np.maximum.accumulate(m) - m
    worst = int(np.argmax(falls))
    if falls[worst] <= DROP_TOL * scale:
        return []
    return [(f"M falls by {100 * falls[worst] / scale:.0f} % of max |M| up to {h[worst]:.5g} Oe as |H| rises; "
             "check those rows or cut them with h_max_oe / h_min_oe")]
