"""Writes an evaluation's outputs: summary.json, comparison.md, per-curve arrays and figures, all or nothing."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

from lfjax.io.atomic import write_files
from lfjax.symmetry import de_group, errors, fold, nearest_image

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


def figures(summary: dict, arrays: dict[str, np.ndarray]) -> dict:
    """coverage.png (calibration), errors.png (error CDFs of every method), truth_vs_mode.png: name -> Figure."""
    from lfjax.plotting.evaluation import (
        coverage_figure,
        error_cdf_figure,
        truth_vs_estimate_figure,
    )

    levels = summary["coverage_levels"]
    curves = {"(D, E) HPD region": summary["coverage_hpd_de"], "χ_dia central interval": summary["coverage_chi_dia"],
              "f_m central interval": summary["coverage_f_m"]}
    out = {"coverage.png": coverage_figure(levels, curves, title=f"calibration on {summary['n']} prior curves")}
    truth = arrays["truth_de"]
    errs = {"exact posterior (oracle)": _errors(arrays["oracle_de"], truth),
            "lfjax top mode": _errors(arrays["mode_de"], truth)}
    n_sub = len(arrays.get("refined_de", []))
    if n_sub:
        errs = {k: v[:n_sub] for k, v in errs.items()}
        errs["lfjax + refinement"] = _errors(arrays["refined_de"], truth[:n_sub])
        for key in sorted(k for k in arrays if k.startswith("ls_") and k.endswith("_de")):
            if len(arrays[key]) == n_sub:
                errs[_row_name(key[:-3])] = _errors(arrays[key], truth[:n_sub])
    out["errors.png"] = error_cdf_figure(
        errs, title=f"error against the truth (modulo equivalents), {len(next(iter(errs.values())))} curves")
    canonical_truth = fold(de_group(), np.asarray(truth, np.float64))
    nearest = nearest_image(de_group(), np.asarray(arrays["mode_de"], np.float64), canonical_truth)
    out["truth_vs_mode.png"] = truth_vs_estimate_figure(canonical_truth, nearest,
                                                        title="lfjax posterior top mode vs truth (canonical wedge)")
    return out


def write_outputs(summary: dict, arrays: dict[str, np.ndarray], out_dir: str | Path) -> list[Path]:
    """summary.json, comparison.md (if any), arrays.npz and the `figures`, all or nothing (`io.atomic.write_files`)."""
    text = json.dumps(summary, indent=2, default=float) + "\n"
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    writers = {"summary.json": lambda p: p.write_text(text)}
    if "comparison" in summary:
        table = comparison_markdown(summary["comparison"])
        writers["comparison.md"] = lambda p: p.write_text(table)
    writers["arrays.npz"] = lambda p: p.write_bytes(buf.getvalue())
    for name, fig in figures(summary, arrays).items():
        writers[name] = lambda p, fig=fig: fig.savefig(p, dpi=120, format="png", bbox_inches="tight")
    return write_files(out_dir, writers)


def _errors(estimate_de, truth_de) -> np.ndarray:
    return errors(de_group(), np.asarray(estimate_de, np.float64), np.asarray(truth_de, np.float64))
