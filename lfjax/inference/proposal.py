"""The amortized proposal of a measurement set: the curve a trained model knows, its draws and log q.

A trained model (`lfjax.models.trained`) sees one observable: powder chi T on its temperature
grid `model.temps_k` at its field `model.field_oe`. `observed_curve` picks the set's powder chi
curve whose field is closest to the model's (ties: the lowest field) and resamples its chi T onto
the grid (`infer.resample`: linear in log T, at most a factor 1.5 of extrapolation at either
end). Where the set's curve starts above the grid's lowest temperature (e.g. its `t_min_k`
leaves out the points below 12 K) and the model was trained on curves cut off that high
(`lfjax.data.cut`, `model.t_cut_max_k`), the network sees the grid points from that
temperature up and is told the cut-off. Otherwise the same file is read again without the range
and its full curve is the proposal's input: the proposal may use any information, the
importance weights use only the set's ranges.

`proposal` maps the model's draws (its parameters, chi_dia, f_m[, lambda]) onto the theta of an
engines problem (`engines.likelihood`): theta = free parameters, chi_dia, f_m[, lambda]. Where
the problem fits a mean field the model does not draw, lambda is drawn from its Gaussian prior
and its density joins log q. The SMC fallback does not use the flow's density (it costs more than
an axial chi T likelihood at every tempering step) but a Gaussian mixture fitted to the draws
(`engines.sample.fit_reference`).
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from lfjax.engines import likelihood as lk
from lfjax.errors import ModelMismatchError
from lfjax.io.curves import Curve


@dataclasses.dataclass(frozen=True, eq=False)
class ObservedCurve:
    """The chosen curve: index in the set, chi T on the model grid (emu K/mol), warnings.

    t_cut_k: the cut-off temperature (K) below which the grid points are not measured (their
    values in chi_t_on_grid repeat the first measured one and the network ignores them); None for
    a curve that covers the grid.
    """

    index: int
    label: str
    field_oe: float
    chi_t_on_grid: np.ndarray
    full_range: bool
    warnings: tuple[str, ...]
    t_cut_k: float | None = None


def _sorted_chi_t(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(curve.temps_k)
    temps = np.asarray(curve.temps_k, float)[order]
    chi_t = np.asarray(curve.chi_t_emu_k_per_mol, float)[order]
    keep = np.concatenate([[True], np.diff(temps) > 0])
    return temps[keep], chi_t[keep]


def _full_range_curve(curve: Curve, mset) -> Curve | None:
    """The curve's file read again without its temperature range, or None if that fails."""
    from lfjax.errors import LfjaxError
    from lfjax.io.curve_files import read_curves

    src = curve.source
    if not src.file or src.t_range_k == (None, None):
        return None
    try:
        curves = read_curves(src.file, "chi", field_oe=curve.field_oe, direction=curve.direction,
                             mass_mg=mset.mass_mg, molar_mass_g_per_mol=mset.molar_mass_g_per_mol,
                             ions_per_formula=mset.ions_per_formula, label=curve.label)
    except (LfjaxError, OSError):
        return None
    return curves[0] if curves else None


def _cut_curve(index: int, curve: Curve, model) -> ObservedCurve | None:
    """The curve on the grid points from its lowest temperature up, for models trained on cut
    curves whose cut-off range holds that temperature; None otherwise."""
    from lfjax.inference.infer import resample

    t_max_cut = getattr(model, "t_cut_max_k", 0.0)
    temps, chi_t = _sorted_chi_t(curve)
    grid = np.asarray(model.temps_k, float)
    if not t_max_cut or len(temps) < 2 or not grid[0] < temps[0] <= t_max_cut or not np.all(chi_t > 0):
        return None
    seen = grid >= temps[0] * (1 - 1e-5)
    try:
        on_seen, warnings = resample(temps, chi_t, grid[seen], curve.label)
    except ModelMismatchError:
        return None
    on_grid = np.concatenate([np.full(int((~seen).sum()), on_seen[0]), on_seen])
    warnings = list(warnings)
    if abs(curve.field_oe - model.field_oe) > 0:
        warnings.append(f"proposal from {curve.label!r} at {curve.field_oe:g} Oe; the model was trained at "
                        f"{model.field_oe:g} Oe (the importance weights use the actual fields)")
    return ObservedCurve(index=index, label=curve.label, field_oe=curve.field_oe, chi_t_on_grid=on_grid,
                         full_range=False, warnings=tuple(warnings), t_cut_k=float(temps[0]))


def observed_curve(mset, model) -> ObservedCurve:
    """The set's curve the model knows, on the model grid (see the module docstring).

    Raises:
      ModelMismatchError: the model also sees M(H), or no powder chi curve covers its grid.
    """
    from lfjax.inference.infer import resample

    if model.n_points != model.temps_k.size:
        raise ModelMismatchError(
            f"the model sees chi T plus {model.n_points - model.temps_k.size} M(H) points; set inference "
            "supports models trained on chi T only; train one without [data] mh_* or use `lfjax sample`")
    cands = [(i, c) for i, c in enumerate(mset.curves) if c.kind == "chi" and c.direction == "powder"]
    if not cands:
        raise ModelMismatchError(
            f"the model needs a powder chi(T) curve at {model.field_oe:g} Oe; the set has "
            f"{', '.join(f'{c.kind} {c.label!r}' for c in mset.curves)}; add one or use `lfjax sample`")
    cands.sort(key=lambda ic: (abs(ic[1].field_oe - model.field_oe), ic[1].field_oe))
    reasons = []
    for i, c in cands:
        cut = _cut_curve(i, c, model)
        if cut is not None:
            return cut
        for full in (False, True):
            curve = _full_range_curve(c, mset) if full else c
            if curve is None:
                continue
            temps, chi_t = _sorted_chi_t(curve)
            try:
                on_grid, warnings = resample(temps, chi_t, model.temps_k, c.label)
            except ModelMismatchError as exc:
                reasons.append(str(exc))
                continue
            if not np.all(on_grid > 0):
                reasons.append(f"{c.label}: chi T must be positive on the model's range")
                continue
            warnings = list(warnings)
            if abs(c.field_oe - model.field_oe) > 0:
                warnings.append(f"proposal from {c.label!r} at {c.field_oe:g} Oe; the model was trained at "
                                f"{model.field_oe:g} Oe (the importance weights use the actual fields)")
            if full:
                warnings.append(f"proposal from the full measured range of {c.label!r} ({temps[0]:g}-{temps[-1]:g} K): "
                                "the set's range does not cover the model grid; the weights use the set's range only")
            return ObservedCurve(index=i, label=c.label, field_oe=c.field_oe, chi_t_on_grid=on_grid,
                                 full_range=full, warnings=tuple(warnings))
    raise ModelMismatchError("no chi curve of the set covers the model grid: " + "; ".join(reasons))


def model_columns(model, problem: lk.Problem) -> list[int | None]:
    """For each theta entry of the problem, the model draw column that gives it (None: not drawn)."""
    names = list(model.theta_names)
    cols = []
    for name in problem.theta_names:
        alias = {"chi_dia_emu_per_mol": "chi_dia", lk.MEAN_FIELD: "lambda"}.get(name, name)
        cols.append(names.index(alias) if alias in names else None)
    return cols


def check_compatible(model, problem: lk.Problem) -> None:
    """Raises ModelMismatchError unless every model column is a problem entry (free parameters first)."""
    cols = model_columns(model, problem)
    missing = [problem.theta_names[i] for i, c in enumerate(cols) if c is None and problem.theta_names[i] != lk.MEAN_FIELD]
    used = {c for c in cols if c is not None}
    dropped = [n for j, n in enumerate(model.theta_names) if j not in used]
    if missing or dropped:
        raise ModelMismatchError(
            f"model draws {', '.join(model.theta_names)} but the problem needs {', '.join(problem.theta_names)}; "
            "infer with the model's own parameters (no --fix), or train a model for these")


def proposal(model, obs: ObservedCurve, problem: lk.Problem, n: int, key) -> tuple[np.ndarray, np.ndarray]:
    """(theta (n, n_theta) float64 in problem order, log q (n,)) of n amortized draws."""
    k_flow, k_lam = jax.random.split(key)
    draws = model.sample(obs.chi_t_on_grid, n, key=k_flow, t_cut_k=obs.t_cut_k)
    log_q = np.asarray(model.log_prob(obs.chi_t_on_grid, draws, t_cut_k=obs.t_cut_k), float)
    cols = model_columns(model, problem)
    theta = np.zeros((n, problem.n_theta))
    for i, c in enumerate(cols):
        if c is not None:
            theta[:, i] = draws[:, c]
        else:  # lambda not drawn by the model: its Gaussian prior
            s = problem.priors.sigma_lambda_mol_per_emu
            theta[:, i] = s * np.asarray(jax.random.normal(k_lam, (n,)))
            log_q = log_q - 0.5 * (theta[:, i] / s) ** 2 - np.log(np.sqrt(2 * np.pi) * s)
    return theta, log_q
