"""Posterior inference on a measured chi T (T): the library behind `lfjax infer`.

Pipeline: read the file (`io.readers`) -> check the ion against the model's -> resample the
curve onto the model's temperature grid (linear in log T) -> flag out-of-distribution curves
(`TrainedModel.ood_scores`) -> draw posterior samples (D, E, chi_dia, f_m) from the VAE-INN ->
group the (D, E) draws into modes on the canonical wedge (`posterior_modes.find_modes`) ->
refine every mode by least squares at the measured field (`refine.refine`; the grid scan's
maximum-likelihood modes are added as starts too, so no comparably good fit is missed) ->
give each refined solution the posterior mass of the draws nearest to it. `run_infer` is an
entry point: it runs in float64 (`compiled.float64_entry`); the model comes from
`lfjax.models.trained` (no training code or optimiser is imported).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import jax
import numpy as np

from lfjax.errors import ConfigError, ModelMismatchError
from lfjax.inference.compiled import float64_entry
from lfjax.inference.fit import grid_complete
from lfjax.inference.posterior_modes import PosteriorMode, find_modes
from lfjax.inference.refine import Problem, Solution, refine
from lfjax.io.readers import Measurement, ReaderError, ReaderOptions
from lfjax.physics import ion as make_ion
from lfjax.symmetry import de_group, fold, images, pairwise_distance

#: How far (factor in T) the model's grid may reach beyond the data at either end.
MAX_EXTRAPOLATION_FACTOR = 1.5


@dataclasses.dataclass(frozen=True)
class InferConfig:
    """Everything `run_infer` needs."""

    data: Path
    model: str = "default"
    ion: str | None = None
    g: float | None = None
    samples: int = 1000
    seed: int = 0
    merge_k: float = 0.5
    grid_step_k: float = 0.15
    check_grid: bool = True
    reader: ReaderOptions = ReaderOptions()

    def __post_init__(self):
        if self.samples < 10:
            raise ConfigError(f"samples must be >= 10; got {self.samples}")


@dataclasses.dataclass(frozen=True, eq=False)
class InferResult:
    """The outcome of `run_infer`; solutions best (highest likelihood) first."""

    config: InferConfig
    model_name: str
    model: object
    measurement: Measurement
    problem: Problem
    curve_on_grid: np.ndarray
    samples: np.ndarray
    modes: tuple[PosteriorMode, ...]
    solutions: tuple[Solution, ...]
    posterior_mass: tuple[float, ...]
    ood: dict
    warnings: tuple[str, ...]
    timings_s: dict[str, float]

    @property
    def equivalents(self) -> np.ndarray:
        """The six (D, E) sets of the best solution, shape (6, 2), K."""
        best = self.solutions[0].values
        return images(de_group(), np.array([best["D"], best["E"]], np.float64))


def resample(temps_k: np.ndarray, chi_t: np.ndarray, grid_k: np.ndarray, source: str) -> tuple[np.ndarray, list[str]]:
    """chi T on the model grid, linear in log T; refuses grids reaching far beyond the data.

    Returns the resampled curve and warnings about extrapolated ends.
    """
    lo, hi = float(temps_k[0]), float(temps_k[-1])
    if grid_k[0] * MAX_EXTRAPOLATION_FACTOR < lo or grid_k[-1] > hi * MAX_EXTRAPOLATION_FACTOR:
        raise ModelMismatchError(
            f"{source}: data cover {lo:g}-{hi:g} K but the model needs {grid_k[0]:g}-{grid_k[-1]:g} K "
            f"(at most a factor {MAX_EXTRAPOLATION_FACTOR:g} beyond the data at either end); "
            "measure the full range, train a model on this range, or use `lfjax fit`"
        )
    log_t = np.log(temps_k)
    out = np.interp(np.log(grid_k), log_t, chi_t)
    warnings = []
    for mask, end in ((grid_k < lo, "low"), (grid_k > hi, "high")):
        if mask.any():
            idx = [0, 1] if end == "low" else [-2, -1]
            slope = (chi_t[idx[1]] - chi_t[idx[0]]) / (log_t[idx[1]] - log_t[idx[0]])
            out[mask] = chi_t[idx[0] if end == "low" else idx[1]] + slope * (
                np.log(grid_k[mask]) - log_t[idx[0] if end == "low" else idx[1]])
            warnings.append(f"{int(mask.sum())} model grid point(s) at the {end}-T end lie outside the data "
                            f"({lo:g}-{hi:g} K) and were extrapolated linearly in log T")
    return out, warnings


def solution_masses(samples_de: np.ndarray, solutions: list[Solution]) -> list[float]:
    """Share of posterior draws nearest (modulo the six equivalents) to each solution."""
    points = np.array([[s.values["D"], s.values["E"]] for s in solutions])
    group = de_group()
    dist = pairwise_distance(group, fold(group, np.asarray(samples_de, np.float64)), points)  # (n, n_sol)
    nearest = np.argmin(dist, axis=1)
    return [float(np.mean(nearest == i)) for i in range(len(solutions))]


@float64_entry
def run_infer(config: InferConfig) -> InferResult:
    """Reads the data, samples the posterior, refines its modes; see the module docstring."""
    from lfjax.models.trained import load_model

    clock = {"start": time.perf_counter()}
    model = load_model(config.model)
    clock["load"] = time.perf_counter()
    if config.ion is not None:
        wanted = make_ion(config.ion, config.g)
        if (wanted.j, wanted.g) != (model.ion.j, model.ion.g):
            raise ModelMismatchError(
                f"model {config.model!r} was trained for {model.ion.name}, not {wanted.name}; "
                f"train one with `lfjax train` for {wanted.name}, or use `lfjax fit --ion {config.ion}`"
            )
    m = config.reader.read(config.data, model_t_range_k=(float(model.temps_k[0]), float(model.temps_k[-1])))
    curve, warnings = resample(m.temps_k, m.chi_t_emu_k_per_mol, model.temps_k, m.source)
    if not np.all(curve > 0):
        raise ReaderError(f"{m.source}: chi T must be positive on the model's range for inference")
    ood = model.ood_scores(curve)
    if bool(np.asarray(ood["flagged"])):
        warnings.append(
            "curve looks out of the training distribution (latent distance "
            f"{float(ood['latent_distance']):.2f}, threshold {ood['thresholds']['latent_distance']:.2f}; "
            f"reconstruction error {100 * float(ood['recon_rel_rms']):.2f} %, threshold "
            f"{100 * ood['thresholds']['recon_rel_rms']:.2f} %): treat the posterior with care; "
            "the least-squares refinement and grid check below still apply"
        )
    if np.any(m.field_oe > 0) and model.field_oe == 0:
        warnings.append(f"model trained at zero field; data at {np.median(m.field_oe):g} Oe: the posterior is "
                        "approximate at low T and refinement uses the exact finite-field curve")
    clock["read"] = time.perf_counter()
    samples = model.sample(curve, config.samples, key=jax.random.key(config.seed))
    modes = tuple(find_modes(samples[:, 0], samples[:, 1], bandwidth_k=0.4))
    clock["sample"] = time.perf_counter()
    problem = Problem(model.ion, ("D", "E", "chi_dia", "f_m"))
    starts = np.array([[md.d_k, md.e_k] for md in modes]) if modes else fold(de_group(), np.asarray(samples[:1, :2], np.float64))
    solutions = refine(problem, m.temps_k, m.chi_t_emu_k_per_mol, m.field_oe, starts, merge_k=config.merge_k)
    if config.check_grid:
        solutions, _ = grid_complete(problem, m, solutions, d_max_k=float(model.config.data.d_max_k),
                                     step_k=config.grid_step_k, merge_k=config.merge_k)
    clock["refine"] = time.perf_counter()
    masses = solution_masses(samples[:, :2], solutions)
    timings = {
        "load_model": clock["load"] - clock["start"],
        "read_and_check": clock["read"] - clock["load"],
        "sample_and_modes": clock["sample"] - clock["read"],
        "refine": clock["refine"] - clock["sample"],
        "total": clock["refine"] - clock["start"],
    }
    return InferResult(
        config=config, model_name=str(config.model), model=model, measurement=m, problem=problem,
        curve_on_grid=curve, samples=samples, modes=modes, solutions=tuple(solutions),
        posterior_mass=tuple(masses), ood=ood, warnings=tuple(m.warnings) + tuple(warnings), timings_s=timings,
    )
