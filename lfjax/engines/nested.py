"""Posterior and evidence of a measurement set by nested sampling (blackjax nested slice sampling).

Tempered SMC moves its particles from the prior to the posterior through prior x L^beta. Where the
data pin several combinations of six ligand-field terms (chi(T) with M(H)), the mass of that path
jumps between regions as beta grows: a broad region of moderate likelihood holds it at small beta,
narrow pockets of higher likelihood at large beta, or the reverse. The particles cannot follow such
a jump (few of them sit in the region that takes over, and resampling loses them), so independent
runs end in different regions with log evidences several units apart. Nested sampling does not
temper: it keeps `n_live` points drawn from the prior above a rising likelihood contour (each
replaced point found by `n_inner` hit-and-run slice moves shaped by the live points' covariance),
so every region is shrunk at the rate of its own volume, and the dead points weighted by their
shell's prior volume are draws of the posterior at every temperature at once. Its evidence comes
with an error (the spread of the simulated volume shrinkage).

The likelihood and prior are those of `likelihood.log_likelihood` / `likelihood.log_prior` (the
evidence is that of the normalised prior, as `sample.run_sample` reports it).
"""

from __future__ import annotations

import dataclasses
import time

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from blackjax.ns.utils import finalise, log_weights
from blackjax.smc import resampling
from scipy.special import logsumexp

from lfjax.engines import likelihood as lk

#: The run stops when the live points' share of the evidence falls below exp(STOP_LOG_SHARE).
STOP_LOG_SHARE = -3.0
#: Simulated volume sequences behind the evidence's error and the draws' weights.
N_VOLUME_DRAWS = 100
MAX_ITERATIONS = 2000


@dataclasses.dataclass(frozen=True, eq=False)
class NestedPosterior:
    """Equally weighted posterior draws of a nested-sampling run, its evidence and its history.

    Attributes:
      problem: the problem sampled.
      samples: (n_draws, n_theta) draws (physical units, `problem.theta_names` order).
      log_likelihood: (n_draws,) log L of each draw.
      log_evidence, log_evidence_sd: log of the evidence (normalised prior) and its standard error.
      ess: effective sample size of the weighted dead points the draws come from.
      n_live, n_inner: live points and slice moves per replacement; n_iterations: replacement
        rounds (each replaces half the live points); n_dead: weighted points in all.
      log_z_history: (n_iterations,) the evidence accumulated after each round.
      wall_s: wall time.
      integrated_nuisances: whether (chi_dia, f_m) were integrated out in the run and drawn from
        their conditional afterwards (`run_nested`).
    """

    problem: lk.Problem
    samples: np.ndarray
    log_likelihood: np.ndarray
    log_evidence: float
    log_evidence_sd: float
    ess: float
    n_live: int
    n_inner: int
    n_iterations: int
    n_dead: int
    log_z_history: np.ndarray
    wall_s: float
    start: str = "prior"
    integrated_nuisances: bool = False


def run_nested(problem: lk.Problem, data, *, n_live: int = 200, n_inner: int | None = None, n_draws: int = 1000,
               seed: int = 0, max_iterations: int = MAX_ITERATIONS, integrate_nuisances: bool | None = None,
               progress=None) -> NestedPosterior:
    """Nested slice sampling from the prior (module docstring). float64.

    Args:
      problem, data: from `likelihood.build`.
      n_live: live points (half of them replaced per round); n_inner: slice moves per replacement
        (default 2 x the number of sampled entries, at least 5); n_draws: equally weighted draws
        returned; seed: the one key of the run; max_iterations: give-up bound on the rounds.
      integrate_nuisances: sample the rest of theta with (chi_dia, f_m) integrated out in closed
        form, then draw the pair from its Gaussian conditional (`likelihood.sampled_target`;
        default: wherever every curve has a noise level and another entry is free).
      progress: optional callable(str) told of the evidence every 10 rounds.
    """
    t0 = time.perf_counter()
    target = lk.sampled_target(problem, integrate_nuisances)
    n_inner = int(n_inner if n_inner is not None else max(5, 2 * target.keep.size))
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        algo = blackjax.nss(target.log_prior, lambda t: target.log_likelihood(t, jdata),
                            num_inner_steps=n_inner, num_delete=max(1, n_live // 2))
        key, k_init = jax.random.split(jax.random.key(seed))
        state = algo.init(target.draw_prior(k_init, n_live))
        step = jax.jit(algo.step)
        dead, history = [], []
        for it in range(max_iterations):
            state, info = step(jax.random.fold_in(key, it), state)
            dead.append(info)
            history.append(float(state.integrator.logZ))
            if float(state.integrator.logZ_live - state.integrator.logZ) < STOP_LOG_SHARE:
                break
            if progress is not None and (it + 1) % 10 == 0:
                progress(f"round {it + 1}: log evidence {history[-1]:.2f}")
        else:
            raise RuntimeError(f"nested sampling did not converge in {max_iterations} rounds")
        final = finalise(state, dead, update_info=False)
        logw = np.asarray(log_weights(jax.random.fold_in(key, max_iterations + 1), final, shape=N_VOLUME_DRAWS))
        positions = np.asarray(final.particles.position)
        loglik = np.asarray(final.particles.loglikelihood)
        log_z = logsumexp(logw, axis=0)  # one evidence per simulated volume sequence
        lw = logsumexp(logw, axis=1) - np.log(N_VOLUME_DRAWS)
        w = np.exp(lw - logsumexp(lw))
        ess = float(1.0 / np.sum(w**2))
        idx = np.asarray(resampling.systematic(jax.random.fold_in(key, max_iterations + 2), jnp.asarray(w), n_draws))
        samples, loglik = positions[idx], loglik[idx]
        if target.integrated:
            samples = target.complete(jnp.asarray(samples), jdata, jax.random.fold_in(key, max_iterations + 3))
            loglik = jax.jit(jax.vmap(lambda t: lk.log_likelihood(problem, t, jdata)))(samples)
            samples, loglik = np.asarray(samples), np.asarray(loglik)
    return NestedPosterior(problem=problem, samples=samples, log_likelihood=loglik,
                           log_evidence=float(np.mean(log_z)), log_evidence_sd=float(np.std(log_z)), ess=ess,
                           n_live=n_live, n_inner=n_inner, n_iterations=len(history), n_dead=int(positions.shape[0]),
                           log_z_history=np.asarray(history), wall_s=time.perf_counter() - t0,
                           integrated_nuisances=target.integrated)
