"""Differentiable least-squares refinement of ligand-field parameters against a measured chi T (T).

Model (per ion): chiT_model(T) = f_m chiT(params; T, H) + chi_dia T, with chiT the exact powder
curve (`chi_t_powder`): zero-field Van Vleck where H = 0, the finite-field powder M/H at the
measured field per point otherwise. Residuals are relative,
  r_i = (chiT_model_i - chiT_data_i) / chiT_data_i,
so every point counts by its relative error, as a constant relative noise implies.

The model is linear in (f_m, chi_dia), so those are projected out in closed form (variable
projection): Levenberg-Marquardt (optimistix, float64) runs over the ligand-field parameters only,
from many starts at once (vmap). The exact finite-field curve costs ~100 zero-field ones, so:
(1) all starts run on a cheap zero-field curve (the fast second-order path for free (D, E), else
the exact zero-field one) times a fixed correction exact/cheap computed at the first start;
(2) the distinct results within `polish_within` log-likelihood units of the best are re-solved
`CORRECTION_ROUNDS` times with the correction recomputed at each one's own parameters (a fixed
point close to the exact optimum, since the correction varies slowly); (3) one Gauss-Newton step
on the exact model (kept if it lowers the RSS) removes the remaining difference. 1-sigma errors over all free parameters:
cov = s^2 (J^T J)^-1, s^2 = RSS / (n - p), J = dr/dtheta at the optimum; an error is NaN along a
direction the curve does not determine (e.g. E at the mirror lines E = 0 or E = |D|/3). (D, E)
results are folded to the canonical wedge and solutions within `merge_k` K (modulo the six
equivalents, `lfjax.symmetry`) merged. The model and its types (`Problem`, `FitData`, `CurveModel`,
`Solution`) are in `inference.problem`. Everything here runs in float64: call it inside
`jax.enable_x64(True)` (the entry points `run_fit` and `run_infer` do).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.errors import ParameterError, ReaderError, UserInputError
from lfjax.engines import exported
from lfjax.inference.compiled import count_trace, require_x64
from lfjax.inference.likelihood import log_likelihood_from_rss
from lfjax.inference.problem import LINEAR_NAMES as LINEAR_NAMES
from lfjax.inference.problem import SCALE_BY_K as SCALE_BY_K
from lfjax.inference.problem import CurveModel as CurveModel
from lfjax.inference.problem import FitData as FitData
from lfjax.inference.problem import Problem as Problem
from lfjax.inference.problem import Solution as Solution
from lfjax.inference.problem import curve as curve
from lfjax.inference.problem import projected as projected
from lfjax.symmetry import fold, merge

#: LM tolerances on the scaled parameters and the loss.
_RTOL, _ATOL = 1e-8, 1e-10
#: (D, E) closer than this (K) to a mirror line of the wedge get NaN errors (`_mirror_errors`).
MIRROR_TOL_K = 1e-3
#: Starts are padded (copies of the first) to SMALL_BATCH rows, or to a multiple of START_BATCH
#: rows when there are more: few batch shapes (each traced once), and little work wasted on padding
#: when only a few modes are refined (the vmapped solver's cost grows with its rows).
START_BATCH = 16
SMALL_BATCH = 4
#: Data are padded to a multiple of this many points (zero weight) to reuse compiled solvers.
PAD = 32
#: Fixed-point rounds of the finite-field correction before the exact Gauss-Newton step.
CORRECTION_ROUNDS = 2
#: Points whose fields agree within this fraction are computed at their median field (chi = M/H
#: changes by ~1e-5 for a 1e-3 field change; it saves one diagonalisation per point).
FIELD_UNIFORM_REL = 1e-3


#: vmap axes of the solver's data: one data set for every start, one correction (scale) per start.
_PER_START_SCALE = FitData(None, None, None, None, 0)


def batched_solve(problem: Problem, mode: CurveModel, max_steps: int, starts, data: FitData):
    """Vmapped LM: starts (m, k) scaled, `data` with scale (m, n) -> theta (m, k).

    Jitted with static (problem, mode, max_steps): traced once per shape, or never where a saved
    export serves it (`engines.exported`).
    """
    return exported.call(f"refine.solve.{mode.value}", _solve, (problem, mode, max_steps), starts, data)


def batched_curve(problem: Problem, mode: CurveModel, thetas, temps, field):
    """(thetas (m, k) scaled, temps (n,) K, field (n,) or () Oe) -> chi T curves (m, n), f_m = 1, chi_dia = 0."""
    return exported.call(f"refine.curve.{mode.value}", _curve, (problem, mode), thetas, temps, field)


def _batched_rss(problem: Problem, mode: CurveModel, thetas, data: FitData):
    """(thetas (m, k), data with scale (n,)) -> RSS (m,) of the projected residuals."""
    return exported.call(f"refine.rss.{mode.value}", _rss, (problem, mode), thetas, data)


def _curve_jacobian(problem: Problem, mode: CurveModel, theta, temps, field):
    """(theta, temps, field) -> (curve (n,), d curve / d theta (n, k))."""
    return exported.call(f"refine.jacobian.{mode.value}", _jacobian, (problem, mode), theta, temps, field)


def _projected(problem: Problem, mode: CurveModel, theta, data: FitData):
    """(theta, data) -> (weighted relative residuals (n,), linear parameters (n_lin,))."""
    return exported.call(f"refine.projected.{mode.value}", _projected_jit, (problem, mode), theta, data)


@functools.partial(jax.jit, static_argnames=("problem", "mode", "max_steps"))
def _solve(problem: Problem, mode: CurveModel, max_steps: int, starts, data: FitData):
    import optimistix as optx  # only while tracing: a run served by saved solvers never imports it

    count_trace(f"refine.solve.{mode.value}")
    solver = optx.LevenbergMarquardt(rtol=_RTOL, atol=_ATOL)

    def fn(theta, one_data):
        return projected(problem, theta, one_data, mode)[0]

    def one(theta0, one_data):
        return optx.least_squares(fn, solver, theta0, one_data, max_steps=max_steps, throw=False).value

    return jax.vmap(one, in_axes=(0, _PER_START_SCALE))(starts, data)


@functools.partial(jax.jit, static_argnames=("problem", "mode"))
def _curve(problem: Problem, mode: CurveModel, thetas, temps, field):
    count_trace(f"refine.curve.{mode.value}")
    return jax.vmap(lambda t: curve(problem, t, temps, field, mode))(thetas)


@functools.partial(jax.jit, static_argnames=("problem", "mode"))
def _rss(problem: Problem, mode: CurveModel, thetas, data: FitData):
    count_trace(f"refine.rss.{mode.value}")
    return jax.vmap(lambda t: jnp.sum(projected(problem, t, data, mode)[0] ** 2))(thetas)


@functools.partial(jax.jit, static_argnames=("problem", "mode"))
def _jacobian(problem: Problem, mode: CurveModel, theta, temps, field):
    count_trace(f"refine.jacobian.{mode.value}")
    f = lambda t: curve(problem, t, temps, field, mode)
    return f(theta), jax.jacfwd(f)(theta)


@functools.partial(jax.jit, static_argnames=("problem", "mode"))
def _projected_jit(problem: Problem, mode: CurveModel, theta, data: FitData):
    count_trace(f"refine.projected.{mode.value}")
    return projected(problem, theta, data, mode)


def full_jacobian(problem: Problem, theta, data: FitData, mode: CurveModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(residuals (n,), J (n, p) in physical units in `problem.free` order, values (p,)), real points only."""
    temps, chi_t, field, weight, scale = data
    real = np.asarray(weight) > 0
    sim, dsim = _curve_jacobian(problem, mode, jnp.asarray(theta), temps, field)
    sim, dsim = np.asarray(sim) * np.asarray(scale), np.asarray(dsim) * np.asarray(scale)[:, None]
    res, beta = (np.asarray(x) for x in _projected(problem, mode, jnp.asarray(theta), data))
    lin = dict(zip(problem.linear_names, beta))
    f_m = lin.get("f_m", 1.0)
    y = np.asarray(chi_t)
    cols = {"chi_dia": np.asarray(temps) / y, "f_m": sim / y}
    nl = dict(zip(problem.field_names, (f_m * dsim / y[:, None] / problem.scales()).T))
    nl_values = dict(zip(problem.field_names, np.asarray(theta) * problem.scales()))
    jac = np.stack([cols[n] if n in LINEAR_NAMES else nl[n] for n in problem.free], axis=-1)
    values = np.array([lin[n] if n in LINEAR_NAMES else nl_values[n] for n in problem.free])
    return res[real], jac[real], values


def refine(
    problem: Problem,
    temps_k,
    chi_t_data,
    field_oe,
    starts: np.ndarray,
    *,
    merge_k: float = 0.5,
    max_steps: int = 100,
    max_polish: int = 6,
    polish_within: float = 20.0,
) -> list[Solution]:
    """Refines from every start and returns the distinct solutions, best (lowest RSS) first.

    Args:
      problem: ion and free parameters.
      temps_k, chi_t_data: (n,) in K and emu K/mol per ion (chi T > 0).
      field_oe: (n,) measuring field per point in Oe, or all 0 for zero-field data.
      starts: (m, k) starting ligand-field values (K), columns in `problem.field_names` order
        (the linear parameters need no start). The first row also sets the field correction.
      merge_k: solutions closer than this (K; modulo equivalents for (D, E)) are one solution.
      max_steps: LM steps per start.
      max_polish: how many of the best distinct stage-1 solutions get the exact polish.
      polish_within: only stage-1 solutions within this many log-likelihood units of the best do.
    """
    temps = np.asarray(temps_k, dtype=float)
    y = np.asarray(chi_t_data, dtype=float)
    field = np.broadcast_to(np.asarray(field_oe, dtype=float), temps.shape)
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    n, p, k = temps.size, len(problem.free), len(problem.field_names)
    if starts.shape[1] != k:
        raise ParameterError(f"starts must have {k} columns ({', '.join(problem.field_names)}); got {starts.shape[1]}")
    if n <= p:
        raise UserInputError(f"{n} points cannot determine {p} free parameters")
    if not np.all(y > 0):
        raise ReaderError("chi T must be > 0 at every point for relative residuals")
    has_field = bool(np.any(field > 0))
    if has_field and not np.all(field > 0):
        raise ReaderError("the data mix zero-field and finite-field points; fit one segment at a time")
    require_x64("refine")
    exact = CurveModel.FIELD if has_field else CurveModel.ZERO
    cheap = CurveModel.FAST if problem.is_de else CurveModel.ZERO
    if cheap is CurveModel.FAST:  # its derivative is undefined exactly at D = E = 0 (all levels degenerate)
        starts = np.where(np.all(np.abs(starts) < 1e-6, axis=1, keepdims=True), 1e-3, starts)
    pad = (-n) % PAD
    padded = [np.concatenate([a, np.full(pad, a[-1])]) for a in (temps, y, field)]
    if has_field and np.ptp(field) <= FIELD_UNIFORM_REL * np.median(field):
        padded[2] = np.median(field)  # one field: one diagonalisation per direction serves all points
    weight = np.concatenate([np.ones(n), np.zeros(pad)])
    data = FitData(*(jnp.asarray(a) for a in padded), jnp.asarray(weight), jnp.ones(n + pad))

    def solve(theta, ratio):
        return np.asarray(batched_solve(problem, cheap, max_steps, jnp.asarray(theta), data._replace(scale=ratio)))

    scaled = _pad_rows(starts / problem.scales())
    # every batched call below has SMALL_BATCH or a multiple of START_BATCH rows (few shapes to trace)
    ratio = _ratio(problem, scaled[:SMALL_BATCH], data, exact, cheap)[:1]
    theta = solve(scaled, jnp.broadcast_to(ratio, (scaled.shape[0], n + pad)))
    theta, rss = _distinct(problem, theta, data._replace(scale=ratio[0]), cheap, merge_k)
    best_ll = log_likelihood_from_rss(rss[0], n)
    theta = theta[(log_likelihood_from_rss(rss, n) >= best_ll - polish_within)][:max_polish]
    m = theta.shape[0]
    theta = _pad_rows(theta)
    for _ in range(CORRECTION_ROUNDS):
        theta = solve(theta, _ratio(problem, theta, data, exact, cheap))
    theta = _fold(problem, theta[:m])
    solutions = [_summarise(problem, t, data, exact) for t in theta]
    return merge_solutions(problem, solutions, merge_k)


def _pad_rows(a: np.ndarray) -> np.ndarray:
    """`a` with its first row repeated up to SMALL_BATCH rows, or a multiple of START_BATCH (fixed batch shapes)."""
    rows = SMALL_BATCH if a.shape[0] <= SMALL_BATCH else -(-a.shape[0] // START_BATCH) * START_BATCH
    extra = rows - a.shape[0]
    return np.concatenate([a, np.repeat(a[:1], extra, axis=0)]) if extra else a


def _ratio(problem: Problem, thetas, data: FitData, exact: CurveModel, cheap: CurveModel):
    """Exact / cheap curve at each theta, (m, n): the correction held fixed in a cheap solve."""
    thetas = jnp.asarray(thetas)
    if exact is cheap:
        return jnp.ones((thetas.shape[0], data.temps_k.shape[0]))
    temps, field = data.temps_k, data.field_oe
    return batched_curve(problem, exact, thetas, temps, field) / batched_curve(problem, cheap, thetas, temps, field)


def _fold(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """Scaled theta moved to the canonical region of the problem's symmetry ((D, E): scale 1)."""
    group, cols = problem.symmetry()
    out = np.array(theta, dtype=np.float64)
    out[..., cols] = fold(group, out[..., cols])
    return out


def _distinct(problem: Problem, theta, data: FitData, mode: CurveModel, merge_k: float):
    """(folded distinct solutions (m, k), their RSS (m,)), best first, duplicates merged."""
    folded = _fold(problem, theta)
    rss = np.asarray(_batched_rss(problem, mode, jnp.asarray(folded), data))
    good = np.all(np.isfinite(folded), axis=1) & np.isfinite(rss)
    if not good.any():
        raise UserInputError("every refinement diverged; check the data and the free parameters")
    folded, rss = folded[good], rss[good]
    group, cols = problem.symmetry()
    keep = merge(group, (folded * problem.scales())[:, cols], -rss, merge_k)
    return folded[keep], rss[keep]


def merge_solutions(problem: Problem, solutions: list[Solution], merge_k: float) -> list[Solution]:
    """Solutions best (lowest RSS) first, dropping any within `merge_k` (K, modulo the symmetry) of a better one."""
    if not solutions:
        return []
    group, cols = problem.symmetry()
    points = np.array([[s.values[n] for n in problem.field_names] for s in solutions])[:, cols]
    return [solutions[i] for i in merge(group, points, -np.array([s.rss for s in solutions]), merge_k)]


def _summarise(problem: Problem, theta, data: FitData, mode: CurveModel) -> Solution:
    """One Gauss-Newton step on the exact model from `theta`, then values, errors and fit quality."""
    res, jac, values = full_jacobian(problem, theta, data, mode)
    step = np.linalg.lstsq(jac, -res, rcond=1e-10)[0]
    k_idx = [problem.free.index(n) for n in problem.field_names]
    moved = _fold(problem, theta + step[k_idx] / problem.scales())
    res_new, jac_new, values_new = full_jacobian(problem, moved, data, mode)
    improved = bool(res_new @ res_new <= res @ res)
    if improved:
        res, jac, values = res_new, jac_new, values_new
    n, p = res.size, len(problem.free)
    rss = float(res @ res)
    converged = bool(np.max(np.abs(step[k_idx] / problem.scales())) < 0.05) or not improved
    cov = covariance(jac, rss / (n - p))
    values = dict(zip(problem.free, values.tolist()))
    errors = dict(zip(problem.free, np.sqrt(np.diag(cov)).tolist()))
    if problem.is_de:
        _mirror_errors(values, errors)
    for name, fixed in (("chi_dia", 0.0), ("f_m", 1.0)):
        values.setdefault(name, fixed)
        errors.setdefault(name, 0.0)
    return Solution(values=values, errors=errors, rss=rss, rms_rel_residual=float(np.sqrt(rss / n)),
                    log_likelihood=float(log_likelihood_from_rss(rss, n)), converged=converged,
                    residuals_rel=res)


def _mirror_errors(values: dict, errors: dict) -> None:
    """NaN errors on the mirror lines of the wedge, where the curve is even in the distance to the
    line and the first-order (Jacobian) error is undefined: E at E = 0; D and E at E = |D|/3."""
    d, e = values["D"], values["E"]
    if e < MIRROR_TOL_K:
        errors["E"] = float("nan")
    if abs(e - abs(d) / 3) < MIRROR_TOL_K:
        errors["D"] = errors["E"] = float("nan")


def covariance(jac: np.ndarray, s2: float) -> np.ndarray:
    """s^2 (J^T J)^-1 (columns normalised for conditioning); NaN for undetermined parameters."""
    norm = np.linalg.norm(jac, axis=0)
    norm = np.where(norm > 0, norm, 1.0)
    eigval, eigvec = np.linalg.eigh((jac / norm).T @ (jac / norm))
    null = eigval <= 1e-10 * max(eigval.max(), 1e-300)
    inv = eigvec[:, ~null] @ np.diag(1 / eigval[~null]) @ eigvec[:, ~null].T
    cov = s2 * inv / np.outer(norm, norm)
    undetermined = np.any(np.abs(eigvec[:, null]) > 1e-3, axis=1)
    cov[undetermined, :] = np.nan
    cov[:, undetermined] = np.nan
    return cov
