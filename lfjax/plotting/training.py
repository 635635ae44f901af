"""Plots of a training run's metrics."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def training_figure(steps: np.ndarray, losses: dict[str, np.ndarray], title: str = "") -> Figure:
    """Returns a figure of loss terms against step: total and flow NLL (left), VAE terms (right, log).

    Args:
      steps: (n,) logged steps.
      losses: name -> (n,) values; "loss" and "nll" go left (nats), "recon" and "kl" right.
    """
    fig = Figure(figsize=(10, 4))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for name in ("loss", "nll"):
        if name in losses:
            left.plot(steps, losses[name], label=name)
    left.set_ylabel("per curve (nats)")
    for name in ("recon", "kl"):
        if name in losses:
            right.plot(steps, losses[name], label=name)
    right.set_yscale("log")
    right.set_ylabel("VAE terms: recon MSE, KL (nats)")
    for ax in (left, right):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
