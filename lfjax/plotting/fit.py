"""Figure of a fit: measured chi T with fitted curves, and the relative residuals below."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def fit_figure(temps_k: np.ndarray, chi_t_data: np.ndarray, models: dict[str, np.ndarray], title: str = "") -> Figure:
    """chi T (emu K/mol) against T (log axis) with model curves, and (model - data)/data in %.

    Args:
      temps_k, chi_t_data: (n,) measured points.
      models: label -> (n,) model chi T at the same temperatures, best first.
    """
    fig = Figure(figsize=(6.5, 5.5))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    top.plot(temps_k, chi_t_data, "o", ms=3, mfc="none", color="0.3", label="data")
    for i, (label, model) in enumerate(models.items()):
        style = "-" if i == 0 else "--"
        top.plot(temps_k, model, style, lw=1.4 if i == 0 else 1.0, label=label)
        bottom.plot(temps_k, 100 * (model - chi_t_data) / chi_t_data, style, marker=".", ms=2, lw=0.6)
    top.set_xscale("log")
    top.set_ylabel("χT (emu K mol⁻¹)")
    top.legend(fontsize=7)
    top.grid(alpha=0.3)
    if title:
        top.set_title(title, fontsize=9)
    bottom.axhline(0, color="0.5", lw=0.8)
    bottom.set_xlabel("T (K)")
    bottom.set_ylabel("residual (%)")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    return fig
