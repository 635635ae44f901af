"""Writes an evaluation's outputs: summary.json, comparison.md, per-curve arrays and figures (atomic)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

from lfjax.evaluation.metrics import de_errors
from lfjax.io.atomic import atomic_path, save_figure, write_text

#: Display names of the comparison rows, in table order.
ROW_NAMES = {
    "oracle_exact_posterior": "exact posterior mode (grid oracle)",
    "lfjax_top_mode": "lfjax posterior top mode",
    "lfjax_refined": "lfjax + refinement (LS from ≤ 4 modes, errors free)",
}


def _row_name(key: str) -> str:
    if key in ROW_NAMES:
        return ROW_NAMES[key]
    _, kind, starts = key.split("_")
    errors = "χ_dia = 0, f_m = 1 fixed" if kind == "fixed" else "χ_dia, f_m free"
    return f"LS {starts} start{'s' if starts != '1' else ''}, {errors}"


def _fmt(value, digits=2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def comparison_markdown(comparison: dict) -> str:
    """The comparison rows as a Markdown table (accuracy vs truth, success, ms per curve)."""
    lines = [
        f"Same {comparison['n']} curves. Hit: within 1.5 K (D) and 1.0 K (E) of an equivalent of the truth. "
        f"Success: log-likelihood within {comparison['tol_log_likelihood']} of the best-known optimum of the same model.",
        "",
        "| method | hit rate | median abs dD (K) | median abs dE (K) | success | ms / curve |",
        "|---|---|---|---|---|---|",
    ]
    rows = comparison["rows"]
    order = [k for k in ROW_NAMES if k in rows][:2] + sorted(k for k in rows if k.startswith("ls_"))
    order += [k for k in ("lfjax_refined",) if k in rows]
    for key in order:
        r = rows[key]
        lines.append(f"| {_row_name(key)} | {_fmt(r['hit_rate'])} | {_fmt(r['median_abs_dD_K'])} | "
                     f"{_fmt(r['median_abs_dE_K'])} | {_fmt(r.get('success_rate'))} | {_fmt(1e3 * r['s_per_curve'], 1)} |")
    return "\n".join(lines) + "\n"


def write_outputs(summary: dict, arrays: dict[str, np.ndarray], out_dir: str | Path) -> list[Path]:
    """summary.json, comparison.md (if any), arrays.npz, coverage.png, errors.png, truth_vs_mode.png."""
    from lfjax.plotting.evaluation import coverage_figure, error_cdf_figure, truth_vs_estimate_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "summary.json"]
    write_text(written[0], json.dumps(summary, indent=2, default=float) + "\n")
    if "comparison" in summary:
        written.append(out / "comparison.md")
        write_text(written[-1], comparison_markdown(summary["comparison"]))
    with atomic_path(out / "arrays.npz") as tmp:
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        tmp.write_bytes(buf.getvalue())
    written.append(out / "arrays.npz")
    levels = summary["coverage_levels"]
    curves = {"(D, E) HPD region": summary["coverage_hpd_de"], "χ_dia central interval": summary["coverage_chi_dia"],
              "f_m central interval": summary["coverage_f_m"]}
    fig = coverage_figure(levels, curves, title=f"calibration on {summary['n']} prior curves")
    written.append(out / "coverage.png")
    save_figure(fig, written[-1])
    truth = arrays["truth_de"]
    errs = {"exact posterior (oracle)": de_errors(arrays["oracle_de"], truth),
            "lfjax top mode": de_errors(arrays["mode_de"], truth)}
    n_sub = len(arrays.get("refined_de", []))
    if n_sub:
        errs = {k: v[:n_sub] for k, v in errs.items()}
        errs["lfjax + refinement"] = de_errors(arrays["refined_de"], truth[:n_sub])
        for key in sorted(k for k in arrays if k.startswith("ls_") and k.endswith("_de")):
            if len(arrays[key]) == n_sub:
                errs[_row_name(key[:-3])] = de_errors(arrays[key], truth[:n_sub])
    fig = error_cdf_figure(errs, title=f"error against the truth (modulo equivalents), {len(next(iter(errs.values())))} curves")
    written.append(out / "errors.png")
    save_figure(fig, written[-1])
    fig = truth_vs_estimate_figure(_canon(truth), _nearest(arrays["mode_de"], truth),
                                   title="lfjax posterior top mode vs truth (canonical wedge)")
    written.append(out / "truth_vs_mode.png")
    save_figure(fig, written[-1])
    return written


def _canon(de):
    from lfjax.physics.equivalents import canonical

    return np.asarray(canonical(np.asarray(de)[:, 0], np.asarray(de)[:, 1]))


def _nearest(est, truth):
    """The equivalent of each estimate nearest to the canonical truth (K)."""
    from lfjax.physics.equivalents import equivalents

    t = _canon(truth)
    eq = np.asarray(equivalents(np.asarray(est)[:, 0], np.asarray(est)[:, 1]))
    i = np.argmin(np.sum((eq - t[:, None]) ** 2, -1), -1)
    return eq[np.arange(len(i)), i]
