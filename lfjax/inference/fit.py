"""Classical multi-start least squares of a measured chi T (T): the library behind `lfjax fit`.

Pipeline: read the file (`io.readers`) -> for a (D, E)[, chi_dia, f_m] model, scan the canonical
wedge (`grid.scan`) and seed with its modes -> starts drawn uniformly in the parameter box (for
(D, E) area-uniform on the canonical wedge, `symmetry.sample_wedge`) -> `refine.refine` (zero-field stage, exact finite-field polish) ->
completeness check: the grid is scanned again with the finite-field correction of the best
solution, and any grid mode no solution lies within `merge_k` of is refined and added.
`run_fit` is an entry point: it runs in float64 (`compiled.float64_entry`).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.errors import ConfigError
from lfjax.inference.compiled import float64_entry
from lfjax.inference.grid import GridMode, scan
from lfjax.inference.refine import (
    LINEAR_NAMES,
    CurveModel,
    Problem,
    Solution,
    batched_curve,
    merge_solutions,
    refine,
)
from lfjax.io.readers import Measurement, ReaderOptions
from lfjax.physics import ion as make_ion
from lfjax.physics.operators import parse_stevens_name
from lfjax.symmetry import de_group, distance, images, sample_wedge

DEFAULT_FREE = ("D", "E", "chi_dia", "f_m")
#: Half-width of the start box of a Stevens parameter by rank k, in K (B2q from d_max / 3).
START_BOX_BY_K = {4: 0.05, 6: 5e-4}


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """Everything `run_fit` needs (units in the names)."""

    data: Path
    ion: str = "Er3+"
    g: float | None = None
    free: tuple[str, ...] = DEFAULT_FREE
    starts: int = 64
    seed: int = 0
    d_max_k: float = 15.0
    grid_step_k: float = 0.15
    merge_k: float = 0.5
    reader: ReaderOptions = ReaderOptions()

    def __post_init__(self):
        if self.starts < 1:
            raise ConfigError(f"starts must be >= 1; got {self.starts}")
        if not self.d_max_k > 0:
            raise ConfigError(f"d_max_k must be > 0; got {self.d_max_k}")


@dataclasses.dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome: solutions best first, the grid's modes (None without a (D, E) model)."""

    config: FitConfig
    measurement: Measurement
    problem: Problem
    solutions: tuple[Solution, ...]
    grid_modes: tuple[GridMode, ...] | None
    wall_s: float

    @property
    def equivalents(self) -> np.ndarray:
        """The six (D, E) sets of the best solution, shape (6, 2), K."""
        best = self.solutions[0].values
        d = best.get("D", 3 * best.get("B20", 0.0))
        e = best.get("E", best.get("B22", 0.0))
        return images(de_group(), np.array([d, e], np.float64))


def draw_starts(problem: Problem, n: int, d_max_k: float, *, key) -> np.ndarray:
    """(n, k) starts, columns in `problem.field_names` order (K).

    (D, E): area-uniform on the canonical wedge |D| <= d_max_k (`symmetry.sample_wedge`); a
    Stevens Bkq: uniform in |Bkq| <= d_max_k / 3 (k = 2) or `START_BOX_BY_K[k]`.
    """
    k_box, k_wedge = jax.random.split(key)
    u = np.asarray(jax.random.uniform(k_box, (n, len(problem.field_names))), dtype=float)
    cols = []
    for i, name in enumerate(problem.field_names):
        if name == "D":
            cols.append((2 * u[:, i] - 1) * d_max_k)
        elif name == "E":
            cols.append(u[:, i] * d_max_k / 3)
        else:
            rank = parse_stevens_name(name)[0]
            half = d_max_k / 3 if rank == 2 else START_BOX_BY_K[rank]
            cols.append((2 * u[:, i] - 1) * half)
    out = np.stack(cols, axis=-1)
    if problem.is_de:
        out[:, problem.de_columns()] = np.asarray(sample_wedge(k_wedge, n, d_max_k), np.float64)
    return out


@float64_entry
def run_fit(config: FitConfig) -> FitResult:
    """Reads the data and returns every distinct least-squares solution, best first (float64)."""
    start = time.perf_counter()
    the_ion = make_ion(config.ion, config.g)
    problem = Problem(the_ion, tuple(config.free))
    m = config.reader.read(config.data)
    key = jax.random.key(config.seed)
    starts = draw_starts(problem, config.starts, config.d_max_k, key=key)
    # The grid seeds any (D, E) model; it checks completeness when it profiles the same parameters.
    grid_ok = problem.is_de and set(problem.linear_names) == set(LINEAR_NAMES)
    order = problem.de_columns() if problem.is_de else None
    if problem.is_de:
        seeds = _grid_seeds(problem, m, config, scale=None)
        starts = np.concatenate([seeds[:, np.argsort(order)], starts])
    solutions = refine(problem, m.temps_k, m.chi_t_emu_k_per_mol, m.field_oe, starts, merge_k=config.merge_k)
    modes = None
    if grid_ok:
        solutions, modes = grid_complete(problem, m, solutions, d_max_k=config.d_max_k,
                                         step_k=config.grid_step_k, merge_k=config.merge_k)
    return FitResult(config=config, measurement=m, problem=problem, solutions=tuple(solutions),
                     grid_modes=modes, wall_s=time.perf_counter() - start)


def grid_complete(problem: Problem, m: Measurement, solutions: list[Solution], *, d_max_k: float,
                  step_k: float, merge_k: float) -> tuple[list[Solution], tuple[GridMode, ...]]:
    """Adds every grid maximum-likelihood mode that no solution lies within `merge_k` of.

    The wedge is scanned with the finite-field correction of the best solution; each missing
    mode is refined and merged in. Returns (solutions best first, the grid's modes).
    """
    scale = _field_scale(problem, m, solutions[0])
    modes = scan(problem.ion, m.temps_k, m.chi_t_emu_k_per_mol, d_max_k=d_max_k, step_k=step_k,
                 merge_k=merge_k, chi_t_scale=scale).modes
    found = np.array([[s.values["D"], s.values["E"]] for s in solutions])
    missing = [md for md in modes if not np.any(distance(de_group(), found, np.array([md.d_k, md.e_k])) <= merge_k)]
    if missing:
        extra = np.array([[md.d_k, md.e_k] for md in missing])[:, np.argsort(problem.de_columns())]
        more = refine(problem, m.temps_k, m.chi_t_emu_k_per_mol, m.field_oe, extra, merge_k=merge_k)
        solutions = merge_solutions(problem, list(solutions) + more, merge_k)
    return list(solutions), modes


def _grid_seeds(problem: Problem, m: Measurement, config: FitConfig, scale) -> np.ndarray:
    modes = scan(problem.ion, m.temps_k, m.chi_t_emu_k_per_mol, d_max_k=config.d_max_k, step_k=config.grid_step_k,
                 merge_k=config.merge_k, chi_t_scale=scale).modes
    return np.array([[md.d_k, md.e_k] for md in modes])


def _field_scale(problem: Problem, m: Measurement, best: Solution):
    """chiT(H) / chiT(0) at the best solution (None for zero-field data)."""
    if not np.any(m.field_oe > 0):
        return None
    theta = np.array([best.values[n] for n in problem.field_names]) / problem.scales()
    args = (jnp.asarray(theta[None]), jnp.asarray(m.temps_k), jnp.asarray(m.field_oe))
    finite = batched_curve(problem, CurveModel.FIELD, *args)[0]
    zero = batched_curve(problem, CurveModel.ZERO, *args)[0]
    return np.asarray(finite) / np.asarray(zero)
