"""D-E diagrams: posterior draws ("VAE-INN plot") and latent-space neighbours ("VAE plot")."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from lfjax.symmetry import SymmetryGroup, kde_density


def _kde(points: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian kernel density at each point in the plain (D, E) plane (`symmetry.kde_density` with
    the trivial group: every equivalent shown where it lies), normalised to max 1."""
    _, dens = kde_density(SymmetryGroup(maps=np.eye(2)[None]), points, bandwidth=bandwidth)
    return dens / dens.max()


def de_density_figure(
    points_de: np.ndarray,
    crosses_de: np.ndarray | None = None,
    title: str = "",
    d_max_k: float | None = None,
    cross_label: str = "six equivalents of the best fit",
) -> Figure:
    """Scatter of (D, E) points (K) coloured by a Gaussian KDE, with the six equivalents as crosses.

    Args:
      points_de: (n, 2) posterior draws or neighbours, any of the six equivalents.
      crosses_de: (6, 2) equivalents to mark, or None.
      d_max_k: axis half-width in K (default: from the data).
    """
    pts = np.asarray(points_de, dtype=float)
    fig = Figure(figsize=(5.6, 4.6))
    ax = fig.add_subplot()
    if len(pts):
        span = max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]), 1.0)
        dens = _kde(pts, 0.04 * span)
        order = np.argsort(dens)
        sc = ax.scatter(pts[order, 0], pts[order, 1], c=dens[order], s=6, cmap="viridis")
        fig.colorbar(sc, ax=ax, label="relative density (Gaussian KDE)")
    if crosses_de is not None:
        c = np.asarray(crosses_de, dtype=float)
        ax.scatter(c[:, 0], c[:, 1], marker="x", s=80, c="red", linewidths=2, label=cross_label)
        ax.legend(loc="upper right", fontsize=8)
    if d_max_k:
        ax.set_xlim(-d_max_k, d_max_k)
        ax.set_ylim(-d_max_k * 2 / 3, d_max_k * 2 / 3)
    ax.axhline(0, color="0.8", lw=0.5)
    ax.axvline(0, color="0.8", lw=0.5)
    ax.set_xlabel("D (K)")
    ax.set_ylabel("E (K)")
    ax.set_title(title, fontsize=10)
    return fig
