"""Posterior of a measurement set by adaptive tempered sequential Monte Carlo (blackjax).

Target: prior(theta) x L(theta)^beta, beta raised from 0 to 1 in steps chosen so that the
effective sample size of the reweighted particles is `target_ess` x N
(`blackjax.adaptive_tempered_smc`); after each reweighting the particles are resampled
(systematic) and moved by `n_mcmc` Metropolis steps, each an independence move from a Gaussian
mixture fitted to the particles and a random walk with the covariance of the particle's own mixture
component scaled by (2.38^2 / d) x s, s adapted to the previous step's acceptance rate
(`mixture`: particles cross between modes, so the modes keep their weights). The likelihood and
prior are those of `likelihood.log_likelihood` / `likelihood.log_prior` (unknown noise integrated
out per curve). Tempering copes with the multimodality (symmetry images and competing optima): the prior
particles are spread over every mode and each is reweighted by its evidence. Diagnostics: the
schedule beta_t, ESS before each resampling, acceptance rates, the log evidence.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from blackjax.mcmc.random_walk import init as rw_init
from blackjax.smc import resampling

from lfjax.engines import likelihood as lk
from lfjax.engines import mixture as mk

MAX_STEPS = 200
#: Particles evaluated together (`lax.map` batches): bounds the memory of finite-field curves
#: (hundreds of points x field directions x N^2 per particle) without slowing a CPU.
BATCH = 64


@dataclasses.dataclass(frozen=True, eq=False)
class Posterior:
    """Equally weighted posterior draws and the sampler's history.

    Attributes:
      problem: the problem sampled.
      samples: (N, n_theta) draws in physical units (theta order of `problem.theta_names`).
      log_likelihood: (N,) log L of each draw.
      betas, ess, acceptance, independence_acceptance: per SMC step: tempering parameter after the
        step, ESS (fraction of N) of the incremental weights, mean acceptance of the random walk and
        of the independence (mixture) move.
      log_evidence: sum of the log normalising-constant increments.
      wall_s: wall time.
    """

    problem: lk.Problem
    samples: np.ndarray
    log_likelihood: np.ndarray
    betas: np.ndarray
    ess: np.ndarray
    acceptance: np.ndarray
    independence_acceptance: np.ndarray
    log_evidence: float
    wall_s: float

    @property
    def n_steps(self) -> int:
        return int(self.betas.size)


@functools.partial(jax.jit, static_argnames=("problem", "target_ess", "n_mcmc", "reference"))
def _smc_step(problem, key, state, mixture, scale, data, target_ess, n_mcmc, reference=None):
    """One adaptive tempered SMC step; returns (state, ess of the increment, walk and independence
    acceptance, log Z increment). `mixture` (`mixture.Mixture`) and the walk `scale` drive the moves.

    With `reference` (a function theta -> log r(theta), r a normalised density) the tempered
    path runs from r to the posterior: r^(1 - beta) (prior x L)^beta.
    """
    loglik = lambda t: lk.log_likelihood(problem, t, data)
    logprior = lambda t: lk.log_prior(problem, t)
    if reference is not None:
        loglik = lambda t: lk.log_likelihood(problem, t, data) + lk.log_prior(problem, t) - reference(t)
        logprior = reference
    kernel = blackjax.smc.adaptive_tempered.build_kernel(
        logprior, loglik, mk.step, rw_init, resampling.systematic, target_ess, batch_size=BATCH)
    ll_before = jax.lax.map(loglik, state.particles, batch_size=BATCH)
    params = {"means": mixture.means[None], "chols": mixture.chols[None], "log_weights": mixture.log_weights[None],
              "walk_scale": jnp.reshape(scale, (1,))}
    new_state, info = kernel(key, state, n_mcmc, params)
    delta = new_state.tempering_param - state.tempering_param
    logw = delta * ll_before
    logw = jnp.where(jnp.isfinite(logw), logw, -jnp.inf)
    w = jax.nn.softmax(logw)
    ess = 1.0 / jnp.sum(w**2) / w.shape[0]
    acc = jnp.mean(info.update_info.acceptance_rate)
    acc_ind = jnp.mean(info.update_info.independence_acceptance)
    return new_state, ess, acc, acc_ind, info.log_likelihood_increment


@functools.partial(jax.jit, static_argnames=("problem",))
def _loglik_batch(problem, theta, data):
    return jax.lax.map(lambda t: lk.log_likelihood(problem, t, data), theta, batch_size=BATCH)


def run_sample(
    problem: lk.Problem,
    data,
    *,
    n_particles: int = 1000,
    n_mcmc: int = 10,
    target_ess: float = 0.5,
    seed: int = 0,
    max_steps: int = MAX_STEPS,
    init_particles=None,
    log_reference=None,
) -> Posterior:
    """Adaptive tempered SMC from the prior to the posterior (see the module docstring). float64.

    Args:
      problem, data: from `likelihood.build` (curves without a noise level are scored with the
        noise integrated out).
      n_particles: N; n_mcmc: random-walk steps per tempering step; target_ess: fraction of N
        kept by each reweighting; seed: the one key of the run; max_steps: give-up bound.
      init_particles: (N, n_theta) draws of a normalised density r (e.g. an amortized proposal)
        to start from instead of the prior, with `log_reference` = log r (a hashable jax
        function of one theta); the path then tempers from r to the posterior.
    """
    t0 = time.perf_counter()
    key = jax.random.key(seed)
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        key, k_init = jax.random.split(key)
        particles = lk.draw_prior(problem, k_init, n_particles) if init_particles is None else jnp.asarray(init_particles)
        state = blackjax.smc.tempered.init(particles)
        scale, betas, esses, accs, accs_ind, log_z = 1.0, [], [], [], [], 0.0
        for step in range(max_steps):
            mixture = mk.fit_mixture(np.asarray(state.particles), np.asarray(state.weights), seed=seed + step)
            mixture = mk.Mixture(*(jnp.asarray(a) for a in mixture))
            state, ess, acc, acc_ind, dlogz = _smc_step(problem, jax.random.fold_in(key, step), state, mixture,
                                                        jnp.asarray(scale), jdata, target_ess, n_mcmc, log_reference)
            acc = float(acc)
            accs_ind.append(float(acc_ind))
            betas.append(float(state.tempering_param))
            esses.append(float(ess))
            accs.append(acc)
            log_z += float(dlogz)
            scale = float(np.clip(scale * np.exp(2.0 * (acc - 0.25)), 0.05, 4.0))
            if betas[-1] >= 1.0 - 1e-12:
                break
        idx = resampling.systematic(jax.random.fold_in(key, max_steps + 1), state.weights, particles.shape[0])
        samples = np.asarray(state.particles)[np.asarray(idx)]
        ll = np.asarray(_loglik_batch(problem, jnp.asarray(samples), jdata))
    return Posterior(problem=problem, samples=samples, log_likelihood=ll, betas=np.asarray(betas),
                     ess=np.asarray(esses), acceptance=np.asarray(accs),
                     independence_acceptance=np.asarray(accs_ind), log_evidence=log_z,
                     wall_s=time.perf_counter() - t0)


def fold_samples(problem: lk.Problem, samples: np.ndarray) -> np.ndarray:
    """Samples with their free ligand-field parameters folded to the canonical region of the group.

    For the (D, E) wedge: 0 <= E <= |D|/3. For other specs: the spec's maps (powder group
    restricted to the measured directions) when no parameter is fixed; otherwise unchanged.
    """
    from lfjax import symmetry
    from lfjax.engines.modes import candidate_maps

    out = np.array(samples, float)
    k = problem.n_free
    if k == 0 or problem.fixed:
        return out
    if problem.free == ("D", "E"):
        group = symmetry.de_group()
    else:
        maps = candidate_maps(problem)
        if maps.shape[0] == 1:
            return out
        group = symmetry.SymmetryGroup(maps=maps)
    out[:, :k] = np.asarray(symmetry.fold(group, out[:, :k]))
    return out


def summary(problem: lk.Problem, samples: np.ndarray, prior_samples: np.ndarray) -> list[dict]:
    """Per theta entry: mean, sd, 5/50/95 % quantiles, and posterior sd / prior sd."""
    rows = []
    for i, name in enumerate(problem.theta_names):
        x, p = samples[:, i], prior_samples[:, i]
        q05, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95])
        prior_sd = float(np.std(p))
        rows.append({"name": name, "mean": float(np.mean(x)), "sd": float(np.std(x)), "q05": float(q05),
                     "median": float(q50), "q95": float(q95), "prior_sd": prior_sd,
                     "width_ratio": float(np.std(x) / prior_sd) if prior_sd > 0 else float("nan")})
    return rows
