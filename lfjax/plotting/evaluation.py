"""Evaluation figures: calibration (coverage) and accuracy (error distributions). numpy in, Figure out."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def coverage_figure(levels, curves: dict[str, np.ndarray], title: str = "") -> Figure:
    """Empirical vs nominal coverage; `curves` maps a label to coverage at each level."""
    fig = Figure(figsize=(4.6, 4.2))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="ideal")
    for (label, cov), marker in zip(curves.items(), "os^dv"):
        ax.plot(levels, cov, marker=marker, ms=3.5, lw=1.2, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("nominal credible level")
    ax.set_ylabel("empirical coverage")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def error_cdf_figure(errors: dict[str, np.ndarray], tol_k=(1.5, 1.0), title: str = "") -> Figure:
    """Cumulative distributions of |dD| and |dE| (K); `errors` maps a label to (B, 2) errors."""
    fig = Figure(figsize=(8.4, 4.4))
    axes = fig.subplots(1, 2, sharey=True)
    for j, (ax, name) in enumerate(zip(axes, ("|ΔD| (K)", "|ΔE| (K)"))):
        for label, err in errors.items():
            e = np.sort(np.asarray(err)[:, j])
            ax.plot(e, np.arange(1, e.size + 1) / e.size, lw=1.3, label=label)
        ax.axvline(tol_k[j], color="0.6", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xlim(1e-2, 30)
        ax.set_xlabel(name)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of curves")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.subplots_adjust(bottom=0.3)
    fig.suptitle(title, fontsize=10)
    return fig


def truth_vs_estimate_figure(truth_de: np.ndarray, estimate_de: np.ndarray, title: str = "") -> Figure:
    """Canonical D and E of the estimates against the truth (K), both folded to the wedge."""
    fig = Figure(figsize=(8.0, 3.8))
    axes = fig.subplots(1, 2)
    for j, (ax, name) in enumerate(zip(axes, ("D", "E"))):
        t, e = np.asarray(truth_de)[:, j], np.asarray(estimate_de)[:, j]
        lo, hi = min(t.min(), e.min()), max(t.max(), e.max())
        ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.8)
        ax.scatter(t, e, s=4, alpha=0.5)
        ax.set_xlabel(f"true {name} (K)")
        ax.set_ylabel(f"estimated {name} (K)")
    fig.suptitle(title, fontsize=10)
    return fig


def image_grid_figure(images, row_labels, col_labels, title: str = "", cell_in: float = 2.6) -> Figure:
    """A grid of already-rendered images (rows x cols of (h, w, c) arrays) with row and column labels."""
    n_rows, n_cols = len(images), len(images[0])
    fig = Figure(figsize=(cell_in * n_cols, cell_in * 0.85 * n_rows + 0.4))
    axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False))
    for i in range(n_rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.imshow(images[i][j])
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if i == 0:
                ax.set_title(col_labels[j], fontsize=9)
            if j == 0:
                ax.set_ylabel(row_labels[i], fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(wspace=0.02, hspace=0.08)
    return fig
