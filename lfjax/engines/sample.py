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

From the fit (`fit_reference`): where the posterior holds a narrow mode that few prior particles
reach (a small mass factor with a sharp curve, a corner of a six-parameter box), the path may
instead start from a density r built around the global fit's optima, r^(1 - beta) (prior x L)^beta:
a Gaussian mixture with one component per optimum and symmetry image at its Laplace covariance
(`importance.laplace_mixture`), joined by the prior (`FIT_DEFENSIVE`), so that modes the fit missed
stay reachable. The answer is the same posterior; only the path to it changes.
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
from scipy.special import logsumexp

from lfjax.engines import importance
from lfjax.engines import likelihood as lk
from lfjax.engines import mixture as mk

#: Share of the prior in the reference of the path from the fit.
FIT_DEFENSIVE = 0.2
#: Share of the fit-seeded mixture spread equally over its components (the rest follows the
#: Laplace weights), so a component whose Laplace weight underrates its posterior mass still
#: starts with particles.
FIT_EQUAL_SHARE = 0.5
#: Standard-deviation factor of the fit's Laplace Gaussians in the reference (the spread of the
#: Student-t components they come from: t variance = scale^2 nu / (nu - 2)).
FIT_WIDEN = float(np.sqrt(importance.DOF / (importance.DOF - 2.0)))
#: The fit that seeds the path keeps optima within this many log-likelihood units of the best (a
#: mode of lower likelihood can hold more posterior mass, being wider) and refines up to
#: `SEED_REFINE` exploratory optima.
SEED_WITHIN = 10.0
SEED_REFINE = 16

#: Share of the reference's own mixture in every independence proposal of a path that starts from
#: a reference (the rest is the mixture fitted to the particles). A reference component narrower
#: than its mode, or off its centre, gives the mode little tempered mass at intermediate beta (the
#: integral of r^(1 - beta) (prior x L)^beta over it falls with the mismatch), so its particles can
#: die out there; proposals from the reference let particles return to it at every later step, and
#: the mode regains its weight by beta = 1.
REFERENCE_PROPOSAL_SHARE = 0.5

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
      log_evidence: log of the evidence (integral of the normalised prior x L).
      wall_s: wall time.
      start: where the path started: "prior", "reference" (a given density), "fit" or "both"
        (`run_sample_seeded` without or with an earlier run's draws).
      replicas: for draws pooled from independent runs (`pool_replicas`), their agreement
        (`replica_check`); None for one run.
      integrated_nuisances: whether the path ran with (chi_dia, f_m) integrated out and drew
        them from their conditional at the end (`run_sample`).
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
    start: str = "prior"
    replicas: dict | None = None
    integrated_nuisances: bool = False

    @property
    def n_steps(self) -> int:
        return int(self.betas.size)


@functools.partial(jax.jit, static_argnames=("problem", "target_ess", "n_mcmc", "integrate"))
def _smc_step(problem, key, state, mixture, scale, data, target_ess, n_mcmc, reference=None, integrate=False):
    """One adaptive tempered SMC step; returns (state, ess of the increment, walk and independence
    acceptance, log Z increment). `mixture` (`mixture.Mixture`) and the walk `scale` drive the moves.

    With `reference` (the `params` of a `mixture.Reference` r, a normalised density) the tempered
    path runs from r to the posterior: r^(1 - beta) (prior x L)^beta. With `integrate` the
    particles lack (chi_dia, f_m), integrated out (`likelihood.sampled_target`).
    """
    target = lk.sampled_target(problem, integrate)
    loglik = lambda t: target.log_likelihood(t, data)
    logprior = target.log_prior
    if reference is not None:
        log_r = lambda t: mk.Reference.log_r(problem, reference, t)
        loglik = lambda t: lk.log_likelihood(problem, t, data) + lk.log_prior(problem, t) - log_r(t)
        logprior = log_r
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


def run_sample(
    problem: lk.Problem,
    data,
    *,
    n_particles: int = 1000,
    n_mcmc: int = 10,
    target_ess: float = 0.5,
    seed: int = 0,
    max_steps: int = MAX_STEPS,
    reference: mk.Reference | None = None,
    integrate_nuisances: bool | None = None,
) -> Posterior:
    """Adaptive tempered SMC from the prior to the posterior (see the module docstring). float64.

    Args:
      problem, data: from `likelihood.build` (curves without a noise level are scored with the
        noise integrated out).
      n_particles: N; n_mcmc: random-walk steps per tempering step; target_ess: fraction of N
        kept by each reweighting; seed: the one key of the run; max_steps: give-up bound.
      reference: a normalised density r (`mixture.reference`: e.g. around amortized draws or the
        fit's optima) whose N draws start the path instead of the prior; the path then tempers
        from r to the posterior.
      integrate_nuisances: from the prior, temper the rest of theta with (chi_dia, f_m) integrated
        out in closed form and draw the pair from its conditional at the end
        (`likelihood.sampled_target`; default: wherever every curve has a noise level and another
        entry is free). Paths from a reference sample all of theta.
    """
    t0 = time.perf_counter()
    key = jax.random.key(seed)
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        key, k_init = jax.random.split(key)
        if reference is not None and integrate_nuisances:
            raise ValueError("a path from a reference samples all of theta")
        target = lk.sampled_target(problem, integrate_nuisances if reference is None else False)
        particles = target.draw_prior(k_init, n_particles) if reference is None else jnp.asarray(reference.theta)
        ref_params = None if reference is None else tuple(jnp.asarray(a) for a in reference.params)
        state = blackjax.smc.tempered.init(particles)
        scale, betas, esses, accs, accs_ind, log_z = 1.0, [], [], [], [], 0.0
        for step in range(max_steps):
            mixture = mk.fit_mixture(np.asarray(state.particles), np.asarray(state.weights), seed=seed + step)
            if reference is not None:
                mixture = _with_reference(mixture, reference)
            mixture = mk.Mixture(*(jnp.asarray(a) for a in mixture))
            state, ess, acc, acc_ind, dlogz = _smc_step(problem, jax.random.fold_in(key, step), state, mixture,
                                                        jnp.asarray(scale), jdata, target_ess, n_mcmc, ref_params,
                                                        target.integrated)
            acc = float(acc)
            accs_ind.append(float(acc_ind))
            betas.append(float(state.tempering_param))
            esses.append(float(ess))
            accs.append(acc)
            log_z += float(dlogz)
            scale = float(np.clip(scale * np.exp(2.0 * (acc - 0.25)), 0.05, 4.0))
            if betas[-1] >= 1.0 - 1e-12:
                break
        if reference is not None:  # the path's end is the unnormalised prior x L
            log_z -= lk.log_prior_norm(problem)
        idx = resampling.systematic(jax.random.fold_in(key, max_steps + 1), state.weights, particles.shape[0])
        samples = state.particles[idx]
        samples = np.asarray(target.complete(samples, jdata, jax.random.fold_in(key, max_steps + 2)))
        ll = np.asarray(lk.log_likelihood_batch(problem, jnp.asarray(samples), jdata, BATCH))
    return Posterior(problem=problem, samples=samples, log_likelihood=ll, betas=np.asarray(betas),
                     ess=np.asarray(esses), acceptance=np.asarray(accs),
                     independence_acceptance=np.asarray(accs_ind), log_evidence=log_z,
                     wall_s=time.perf_counter() - t0, start="prior" if reference is None else "reference",
                     integrated_nuisances=target.integrated)


def _with_reference(mixture: mk.Mixture, reference: mk.Reference) -> mk.Mixture:
    """The particles' mixture joined by the reference's Gaussians (`REFERENCE_PROPOSAL_SHARE` of the mass)."""
    means, chols, log_w = (np.asarray(a, float) for a in reference.params[:3])
    share = REFERENCE_PROPOSAL_SHARE
    return mk.Mixture(means=np.concatenate([mixture.means, means]), chols=np.concatenate([mixture.chols, chols]),
                      log_weights=np.concatenate([np.log1p(-share) + mixture.log_weights, np.log(share) + log_w]))


def fit_reference(problem: lk.Problem, data, fit_result, n: int, seed: int = 0, particles=None,
                  defensive: float = FIT_DEFENSIVE) -> mk.Reference:
    """The starting density of the path from the fit (module docstring): n draws and log r.

    Args:
      problem, data: from `likelihood.build`; fit_result: `fit.run_fit` on them.
      n: particles; seed: the draws' seed; defensive: the prior's share of r.
      particles: optional (m, n_theta) posterior draws of an earlier run (e.g. SMC from the prior):
        a Gaussian mixture fitted to them (`mixture.fit_mixture`) joins the fit's components with
        equal share, so the modes that either search found are all in r.
    """
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        t_mix = importance.laplace_mixture(problem, importance.polished(problem, fit_result, jdata), jdata)
    lw = t_mix.log_weights - logsumexp(t_mix.log_weights)
    lw = np.logaddexp(np.log1p(-FIT_EQUAL_SHARE) + lw, np.log(FIT_EQUAL_SHARE / lw.size))
    means, chols = t_mix.means, t_mix.chols * FIT_WIDEN
    if particles is not None:
        p = mk.fit_mixture(np.asarray(particles, float), np.ones(len(particles)), seed=seed)
        live = np.isfinite(p.log_weights)
        p_lw = p.log_weights[live] - logsumexp(p.log_weights[live])
        means, chols = np.concatenate([means, p.means[live]]), np.concatenate([chols, p.chols[live]])
        lw = np.concatenate([np.log(0.5) + lw, np.log(0.5) + p_lw])
    gauss = mk.Mixture(means=means, chols=chols, log_weights=lw - logsumexp(lw))
    return mk.reference(gauss, problem, n, jax.random.key(seed), defensive)


def seeding_fit(problem: lk.Problem, data, n_starts: int, seed: int = 0, extra_starts=None, progress=None):
    """The global fit whose optima seed the path (`fit.run_fit` with `SEED_WITHIN`, `SEED_REFINE`)."""
    from lfjax.engines.fit import run_fit

    return run_fit(problem, data, n_starts=n_starts, seed=seed, extra_starts=extra_starts, within=SEED_WITHIN,
                   n_refine=SEED_REFINE, progress=progress)


def run_sample_seeded(problem: lk.Problem, data, fit_result, *, prior_run: Posterior | None = None,
                      n_particles: int = 1000, n_mcmc: int = 10, seed: int = 0) -> Posterior:
    """Tempered SMC from `fit_reference` (the optima of `fit_result`, best from `seeding_fit`; the
    draws of `prior_run` if given; the prior) to the posterior; `wall_s` counts this path only."""
    ref = fit_reference(problem, data, fit_result, n_particles, seed=seed,
                        particles=None if prior_run is None else prior_run.samples)
    post = run_sample(problem, data, n_particles=n_particles, n_mcmc=n_mcmc, seed=seed, reference=ref)
    return dataclasses.replace(post, start="fit" if prior_run is None else "both")


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


#: Independent runs agree when their log evidences span at most this many units (a run that missed
#: a mode of posterior mass p has log Z lower by -log(1 - p): 1 unit is a missed mass of 63 %) ...
REPLICA_LOGZ_SPAN = 1.0
#: ... and every parameter's Gelman-Rubin R-hat across the runs (folded draws) is at most this.
REPLICA_RHAT = 1.1


def replica_check(problem: lk.Problem, runs: list[Posterior]) -> dict:
    """Agreement of independent runs on one posterior: their log evidences, the span, and per theta
    entry the Gelman-Rubin R-hat with the runs as chains (on draws folded by the symmetry group).

    A tempered SMC run that loses a mode (its particles die out there at some temperature) gives a
    lower evidence and other means than a run that keeps it, so runs that disagree show that the
    draws of any one of them are not the posterior.
    """
    log_z = np.asarray([r.log_evidence for r in runs], float)
    folded = [fold_samples(problem, r.samples) for r in runs]
    n = min(f.shape[0] for f in folded)
    means = np.stack([f.mean(0) for f in folded])
    within = np.mean(np.stack([f.var(0, ddof=1) for f in folded]), axis=0)
    between = n * means.var(0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rhat = np.sqrt(((n - 1) / n * within + between / n) / within)
    rhat = {name: float(v) if np.isfinite(v) else 1.0 for name, v in zip(problem.theta_names, rhat)}
    span = float(log_z.max() - log_z.min())
    return {"n_runs": len(runs), "log_evidence": log_z.tolist(),
            "log_evidence_span": span, "rhat": rhat, "max_rhat": max(rhat.values()),
            "agree": bool(span <= REPLICA_LOGZ_SPAN and max(rhat.values()) <= REPLICA_RHAT)}


def pool_replicas(problem: lk.Problem, runs: list[Posterior], seed: int = 0) -> Posterior:
    """Draws of independent runs pooled with weights proportional to each run's evidence estimate.

    Each run k is an estimate (draws, Z_k) of the posterior restricted to the modes it kept, so the
    evidence-weighted mixture sum_k Z_k pi_k / sum_k Z_k counts every mode that any run found at
    its mass (a run that lost a mode has the smaller Z). The pool is resampled (systematic) to as
    many draws as all runs together; the history arrays are the first run's, `replicas` holds
    `replica_check`.
    """
    log_z = np.asarray([r.log_evidence for r in runs], float)
    sizes = np.asarray([r.samples.shape[0] for r in runs])
    logw = np.concatenate([np.full(m, lz - np.log(m)) for lz, m in zip(log_z, sizes)])
    w = np.exp(logw - logsumexp(logw))
    samples = np.concatenate([r.samples for r in runs])
    ll = np.concatenate([r.log_likelihood for r in runs])
    idx = np.asarray(resampling.systematic(jax.random.key(seed), jnp.asarray(w), int(sizes.sum())))
    first = runs[0]
    return dataclasses.replace(first, samples=samples[idx], log_likelihood=ll[idx],
                               log_evidence=float(logsumexp(log_z) - np.log(len(runs))),
                               wall_s=float(sum(r.wall_s for r in runs)), replicas=replica_check(problem, runs))
