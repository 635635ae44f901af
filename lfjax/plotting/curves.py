"""Plots of chi T (T) and M(H) curves."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def chi_t_figure(temps_k: np.ndarray, curves: dict[str, np.ndarray], title: str = "") -> Figure:
    """Returns a figure of chi T against T (log T axis) with one line per labelled curve."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for label, chi_t in curves.items():
        ax.plot(temps_k, chi_t, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("T (K)")
    ax.set_ylabel("χT (emu K mol⁻¹)")
    if title:
        ax.set_title(title)
    if len(curves) > 1 or any(curves):
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def m_h_figure(fields_oe: np.ndarray, curves: dict[str, np.ndarray], title: str = "") -> Figure:
    """Returns a figure of M (mu_B per ion) against H (T on the axis; fields given in Oe), a line per curve."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for label, moment in curves.items():
        ax.plot(np.asarray(fields_oe) / 1e4, moment, label=label)
    ax.set_xlabel("H (T)")
    ax.set_ylabel("M (μB per ion)")
    if title:
        ax.set_title(title)
    if len(curves) > 1 or any(curves):
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
