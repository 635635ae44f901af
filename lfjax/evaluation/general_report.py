"""Outputs of `general.evaluate_any`: summary.json, arrays.npz and three small figures, all or nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from lfjax.io.atomic import write_files


def contraction_figure(summary: dict) -> Figure:
    """Posterior sd / prior sd per parameter (median and mean over the test curves)."""
    names = summary["parameters"]
    med = [summary["contraction"][n]["median"] for n in names]
    mean = [summary["contraction"][n]["mean"] for n in names]
    fig = Figure(figsize=(4.8, 3.4))
    ax = fig.add_subplot()
    x = np.arange(len(names))
    ax.bar(x - 0.18, med, 0.36, label="median")
    ax.bar(x + 0.18, mean, 0.36, label="mean")
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    ax.set_xticks(x, names)
    ax.set_ylabel("posterior sd / prior sd")
    ax.set_title(f"posterior contraction, {summary['n']} prior curves", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def truth_figure(summary: dict, arrays: dict[str, np.ndarray]) -> Figure:
    """Posterior median against the truth (canonical images), one panel per parameter."""
    names = summary["parameters"]
    fig = Figure(figsize=(2.6 * len(names), 2.8))
    axes = fig.subplots(1, len(names))
    for j, (ax, name) in enumerate(zip(np.atleast_1d(axes), names)):
        t, m = arrays["truth_folded"][:, j], arrays["posterior_median"][:, j]
        ax.plot(t, m, ".", ms=2.5, alpha=0.6)
        lo, hi = float(min(t.min(), m.min())), float(max(t.max(), m.max()))
        ax.plot([lo, hi], [lo, hi], color="0.5", lw=0.8)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=6)
        ax.set_xlabel("truth", fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("posterior median", fontsize=7)
    fig.tight_layout()
    return fig


def figures(summary: dict, arrays: dict[str, np.ndarray]) -> dict[str, Figure]:
    """coverage.png, contraction.png and truth_vs_median.png: name -> Figure."""
    from lfjax.plotting.evaluation import coverage_figure

    curves = {"HPD, model parameters": summary["coverage_hpd_model"], "HPD, all of θ": summary["coverage_hpd_all"]}
    for name in summary["parameters"]:
        curves[f"{name} central"] = summary["coverage_central"][name]["curve"]
    fig = coverage_figure(summary["coverage_levels"], dict(list(curves.items())[:5]),
                          title=f"calibration on {summary['n']} prior curves")
    return {"coverage.png": fig, "contraction.png": contraction_figure(summary),
            "truth_vs_median.png": truth_figure(summary, arrays)}


def write_outputs(summary: dict, arrays: dict[str, np.ndarray], out_dir: str | Path) -> list[Path]:
    """summary.json, arrays.npz and the `figures` in out_dir (`io.atomic.write_files`: all or nothing)."""
    text = json.dumps(summary, indent=2, default=float) + "\n"
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    writers = {"summary.json": lambda p: p.write_text(text), "arrays.npz": lambda p: p.write_bytes(buf.getvalue())}
    for name, fig in figures(summary, arrays).items():
        writers[name] = lambda p, fig=fig: fig.savefig(p, dpi=100, format="png", bbox_inches="tight")
    return write_files(out_dir, writers)
