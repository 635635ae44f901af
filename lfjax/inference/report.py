"""result.json and the fit figure of a `FitResult` (all-or-nothing through `io.atomic.write_files`),
and the JSON records that `lfjax infer` shares (`solution_record`, `input_record`, `json_float`)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np

from lfjax.inference.fit import FitResult
from lfjax.inference.refine import Solution
from lfjax.io.atomic import write_files
from lfjax.io.readers import Measurement

RESULT_NAME = "result.json"
FIGURE_NAME = "fit.png"


def json_float(x) -> float | None:
    """JSON-safe float: NaN / inf become null."""
    x = float(x)
    return x if math.isfinite(x) else None


def solution_record(s: Solution, best_log_likelihood: float) -> dict:
    """One entry of `solutions`: D, E (K) with errors, linear parameters, Bkq with _err, fit quality."""
    v, e = s.values, s.errors
    d = v.get("D", 3 * v.get("B20", 0.0))
    d_err = e.get("D", 3 * e.get("B20", 0.0))
    record = {
        "D_K": json_float(d), "E_K": json_float(v.get("E", v.get("B22", 0.0))),
        "D_err_K": json_float(d_err), "E_err_K": json_float(e.get("E", e.get("B22", 0.0))),
        "chi_dia_emu_per_mol": json_float(v["chi_dia"]), "chi_dia_err_emu_per_mol": json_float(e["chi_dia"]),
        "f_m": json_float(v["f_m"]), "f_m_err": json_float(e["f_m"]),
        "posterior_mass": None,
        "rms_rel_residual": json_float(s.rms_rel_residual),
        "log_likelihood": json_float(s.log_likelihood),
        "delta_log_likelihood": json_float(s.log_likelihood - best_log_likelihood),
        "converged": bool(s.converged),
    }
    for name, value in v.items():
        if name.startswith("B"):
            record[f"{name}_K"] = json_float(value)
            record[f"{name}_err_K"] = json_float(e[name])
    return record


def field_summary(field_oe: np.ndarray) -> float | list[float]:
    """The measuring field in Oe: its median when all points agree within 1 %, else the distinct values."""
    med = float(np.median(field_oe))
    if np.ptp(field_oe) <= 0.01 * abs(med):
        return round(med, 2)
    return [float(f) for f in np.unique(np.round(field_oe, 1))]


def input_record(m: Measurement, warnings) -> dict:
    """The `input` entry of result.json: file, format, segment, points, T range, field, warnings."""
    return {
        "file": m.source, "format": m.fmt, "segment": m.segment, "n_points": m.n_points,
        "T_range_K": list(m.t_range_k), "field_oe": field_summary(m.field_oe),
        "ions_per_formula": m.ions_per_formula, "warnings": list(warnings),
    }


def result_dict(result: FitResult) -> dict:
    """The content of result.json."""
    m = result.measurement
    best = result.solutions[0].log_likelihood
    config = {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
              for k, v in dataclasses.asdict(result.config).items()}
    return {
        "ion": result.problem.ion.name,
        "model": "least-squares",
        "free": list(result.problem.free),
        "input": input_record(m, m.warnings),
        "data": {"T_K": m.temps_k.tolist(), "chiT_emu_K_per_mol": m.chi_t_emu_k_per_mol.tolist()},
        "solutions": [solution_record(s, best) for s in result.solutions],
        "equivalents": [[json_float(d), json_float(e)] for d, e in result.equivalents],
        "grid_modes": None if result.grid_modes is None else [
            {"D_K": g.d_k, "E_K": g.e_k, "log_likelihood": g.log_likelihood, "rms_rel_residual": g.rms_rel_residual}
            for g in result.grid_modes],
        "residual_definition": "(chiT_model - chiT_data) / chiT_data",
        "wall_s": result.wall_s,
        "config": config,
    }


def fit_plot(result: FitResult, max_curves: int = 4):
    """The figure: data, up to `max_curves` solutions, residuals."""
    from lfjax.plotting.fit import fit_figure

    m = result.measurement
    models = {}
    for i, s in enumerate(result.solutions[:max_curves]):
        lf = ", ".join(f"{k}={v:.3g}" for k, v in s.values.items() if k not in ("chi_dia", "f_m"))
        models[f"#{i + 1} {lf} (rms {100 * s.rms_rel_residual:.2f} %)"] = m.chi_t_emu_k_per_mol * (1 + s.residuals_rel)
    title = f"{result.problem.ion.name}: {Path(m.source).name}, {m.segment}"
    return fit_figure(m.temps_k, m.chi_t_emu_k_per_mol, models, title=title)


def write_outputs(result: FitResult, out_dir: str | os.PathLike) -> list[Path]:
    """Writes result.json and fit.png into `out_dir`; nothing appears unless both are complete."""
    text = json.dumps(result_dict(result), indent=2, allow_nan=False)
    fig = fit_plot(result)
    return write_files(out_dir, {
        RESULT_NAME: lambda p: p.write_text(text),
        FIGURE_NAME: lambda p: fig.savefig(p, dpi=110, format="png"),
    })
