"""Which exact posterior sampler fits a time budget: tempered SMC, or importance sampling around the fit.

SMC (`engines.sample`) needs about particles x (MCMC steps + 1) x tempering steps likelihood
evaluations; where one evaluation costs tens of milliseconds (finite-field powder curves, M(H)
sweeps) that is far beyond minutes on a CPU, and importance sampling around the global fit's
optima (`engines.importance`) answers instead. `choose_route` times one batch of evaluations.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from lfjax.engines import importance
from lfjax.engines import likelihood as lk

#: Tempering steps assumed by the SMC cost estimate of `choose_route`.
SMC_STEPS_ESTIMATE = 25


def choose_route(problem, data, particles: int, mcmc_steps: int, budget_min: float) -> tuple[str, float]:
    """("smc" | "importance", estimated SMC seconds) from the timed cost of one likelihood evaluation."""
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        theta = np.asarray(lk.draw_prior(problem, jax.random.key(0), importance.CHUNK))
        importance.log_target(problem, theta, jdata)  # compile
        t0 = time.perf_counter()
        importance.log_target(problem, theta, jdata)
        per_eval = (time.perf_counter() - t0) / importance.CHUNK
    estimate = per_eval * particles * (mcmc_steps + 1) * SMC_STEPS_ESTIMATE
    return ("smc" if estimate <= 60 * budget_min else "importance"), estimate
