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

Three refinements (each measured on D3d sets with chi(T) and M(H) along x; README):

- Canonical region: where every map of the likelihood's symmetry group is a signed permutation of
  parameters with equal prior ranges (D3d: B43, B63 -> -B43, -B63), prior and likelihood are both
  invariant, so the run samples the canonical region alone (`CanonicalRegion`), with the same
  evidence, and returns each draw as one of its images at random. The live points then hold one
  copy of each mode, and their covariance, which shapes the slice moves, is not stretched across
  images.
- Chains (`chain_steps`, default on): the few slice moves per replacement do not carry points
  along a long, thin, curved valley, and independent runs put its mass at different places along
  it. Metropolis chains run at the posterior from `n_chains` of the nested draws (`chains`) travel
  along it; their states are the draws returned. Chains do not jump between separate modes, so the
  modes' weights stay those of the nested draws; split R-hat says how far the chains mixed.
- Regions (`max_regions`, off by default): the live points are cut where they fall apart into
  pockets with an empty gap between them, so that each pocket keeps its points (`regions`).

The likelihood and prior are those of `likelihood.log_likelihood` / `likelihood.log_prior` (the
evidence is that of the normalised prior, as `sample.run_sample` reports it).
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
from blackjax.smc import resampling

from lfjax import symmetry
from lfjax.engines import likelihood as lk
from lfjax.engines import chains, modes, regions
from lfjax.engines.sample import fold_samples
from lfjax.errors import ParameterError

#: Simulated volume sequences behind the evidence's error and the draws' weights.
N_VOLUME_DRAWS = 100
MAX_ITERATIONS = 2000
#: Regions the live points may be cut into (`regions`).
MAX_REGIONS = 1
#: Metropolis chains from the nested draws (`chains`): chains, adaptation steps, steps kept, thinning.
N_CHAINS = 64
CHAIN_ADAPT = 1000
CHAIN_KEEP = 2000
CHAIN_THIN = 10


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
      n_regions: regions the live points were cut into (1: none; `regions`), counting those cut
        again; region_share: (n_regions,) posterior mass of each.
      chains: where the draws come from Metropolis chains started at the nested draws (`chains`):
        n_chains, n_adapt, n_keep, thin, acceptance, and split R-hat and ESS per sampled entry.
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
    n_regions: int = 1
    region_share: np.ndarray | None = None
    chains: dict | None = None


def run_nested(problem: lk.Problem, data, *, n_live: int = 200, n_inner: int | None = None, n_draws: int = 1000,
               seed: int = 0, max_iterations: int = MAX_ITERATIONS, integrate_nuisances: bool | None = None,
               max_regions: int = MAX_REGIONS, chain_steps: int = CHAIN_KEEP, n_chains: int = N_CHAINS,
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
      max_regions: regions the live points may be cut into where they fall apart (`regions`; 1:
        plain nested sampling).
      chain_steps: steps kept of the Metropolis chains run from `n_chains` of the nested draws
        (`chains`: module docstring); 0: the nested draws themselves.
      progress: optional callable(str) told of the evidence every 10 rounds.
    """
    t0 = time.perf_counter()
    target = lk.sampled_target(problem, integrate_nuisances)
    n_inner = int(n_inner if n_inner is not None else max(5, 2 * target.keep.size))
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        key = jax.random.key(seed)
        domain = canonical_region(problem, target, jdata)
        draw = target.draw_prior if domain is None else domain.draw(target.draw_prior)
        run = regions.run_regions(target.log_prior, lambda t: target.log_likelihood(t, jdata), draw,
                                  key, n_live=n_live, n_inner=n_inner, max_regions=max_regions,
                                  max_rounds=max_iterations, n_volume_draws=N_VOLUME_DRAWS,
                                  bounds=None if domain is None else (domain.A, domain.b), progress=progress)
        w = np.exp(run.log_weight)
        ess = float(1.0 / np.sum(w**2))
        idx = np.asarray(resampling.systematic(jax.random.fold_in(key, max_iterations + 2), jnp.asarray(w), n_draws))
        samples, loglik = run.positions[idx], run.log_likelihood[idx]
        polish = None
        if chain_steps > 0:
            samples, polish = _polish(problem, target, jdata, samples, domain, n_chains, chain_steps,
                                      jax.random.fold_in(key, max_iterations + 5), progress)
            loglik = None
        if target.integrated or loglik is None:
            samples = target.complete(jnp.asarray(samples), jdata, jax.random.fold_in(key, max_iterations + 3))
            loglik = lk.log_likelihood_batch(problem, jnp.asarray(samples), jdata)
            samples, loglik = np.asarray(samples), np.asarray(loglik)
        if domain is not None:  # back to the whole box: each draw one of its equivalent images
            samples = np.asarray(samples, float).copy()
            k = problem.n_free
            samples[:, :k] = np.asarray(symmetry.random_image(domain.group, jax.random.fold_in(key, max_iterations + 4),
                                                              jnp.asarray(samples[:, :k])))
    return NestedPosterior(problem=problem, samples=samples, log_likelihood=loglik,
                           log_evidence=float(np.mean(run.log_z)), log_evidence_sd=float(np.std(run.log_z)), ess=ess,
                           n_live=n_live, n_inner=n_inner, n_iterations=run.n_rounds, n_dead=int(run.positions.shape[0]),
                           log_z_history=run.log_z_history, wall_s=time.perf_counter() - t0,
                           integrated_nuisances=target.integrated, n_regions=run.n_regions,
                           region_share=run.region_share, chains=polish)


def _polish(problem, target, jdata, samples, domain, n_chains, n_keep, key, progress):
    """Posterior draws from Metropolis chains started at `n_chains` of the nested draws (`chains`),
    inside the canonical region where there is one; (draws (len(samples), n_sampled), diagnostics)."""
    if domain is None and problem.wedge_d_max_k is not None:  # (D, E): start in the canonical wedge
        full = np.zeros((samples.shape[0], problem.n_theta))
        full[:, target.keep] = samples
        samples = fold_samples(problem, full)[:, target.keep]

    def logdensity(t):
        inside = True if domain is None else jnp.all(jnp.asarray(domain.A) @ t <= 0.0)
        return jnp.where(inside, target.log_prior(t) + target.log_likelihood(t, jdata), -jnp.inf)

    rng = np.random.default_rng(int(jax.random.randint(key, (), 0, 2**31 - 1)))
    starts = samples[rng.choice(samples.shape[0], min(n_chains, samples.shape[0]), replace=False)]
    say = None if progress is None else (lambda m: progress(f"chains: {m}"))
    ch = chains.refine(logdensity, starts, jax.random.fold_in(key, 1), n_adapt=CHAIN_ADAPT, n_keep=n_keep,
                       thin=CHAIN_THIN, progress=say)
    pick = rng.choice(ch.samples.shape[0], samples.shape[0], replace=ch.samples.shape[0] < samples.shape[0])
    info = {"n_chains": ch.n_chains, "n_adapt": CHAIN_ADAPT, "n_keep": n_keep, "thin": CHAIN_THIN,
            "acceptance": ch.acceptance, "rhat": ch.rhat.tolist(), "ess": ch.ess.tolist(), "wall_s": ch.wall_s}
    return ch.samples[pick], info


@dataclasses.dataclass(frozen=True, eq=False)
class CanonicalRegion:
    """The canonical region of the likelihood's symmetry group, as half-spaces of the sampled vector.

    Where every map of the group is a signed permutation of free parameters with equal prior ranges,
    prior and likelihood are both invariant, so the posterior on the whole box is the posterior on
    the canonical region (`symmetry.fold`'s generic key: key . x >= key . g x for every map g)
    spread over the images, and the evidence of the region's prior (normalised to it) is that of
    the box. Sampling the region alone halves (or more) the volume and leaves the live points one
    copy of each mode instead of one per image.

    Attributes:
      group: the group on the free parameters; A, b: (G - 1, n_sampled) half-spaces A x <= b;
      columns: positions of the free parameters in the sampled vector.
    """

    group: symmetry.SymmetryGroup
    A: np.ndarray
    b: np.ndarray
    columns: np.ndarray

    def draw(self, draw_prior):
        """draw_prior(key, n) folded into the region (uniform there where the maps keep the box)."""
        def folded(key, n):
            x = draw_prior(key, n)
            return x.at[:, self.columns].set(symmetry.fold(self.group, x[:, self.columns]))
        return folded


def canonical_region(problem: lk.Problem, target: lk.SampledTarget, jdata) -> CanonicalRegion | None:
    """The canonical region of the likelihood's group (`modes.likelihood_maps` at a prior draw), or
    None where the group is trivial or does not keep the prior box (some map is no signed
    permutation of parameters with equal ranges), a parameter is fixed, or the prior is the (D, E)
    wedge (already one region)."""
    k = problem.n_free
    if k == 0 or problem.fixed or problem.wedge_d_max_k is not None:
        return None
    theta = np.asarray(lk.draw_prior(problem, jax.random.key(0), 1)[0])
    maps = modes.likelihood_maps(problem, theta, jdata)
    if maps.shape[0] == 1:
        return None
    idx = [problem.names.index(n) for n in problem.free]
    free = maps[:, idx][:, :, idx]
    ranges = np.asarray(problem.ranges, float)
    for g in free:
        a = np.abs(g)
        if not (np.all(np.isclose(a, 0) | np.isclose(a, 1)) and np.allclose(a.sum(1), 1)):
            return None
        image = np.sort(np.stack([g @ ranges[:, 0], g @ ranges[:, 1]], axis=1), axis=1)
        if not np.allclose(image, ranges, rtol=1e-12, atol=0):
            return None
    try:
        group = symmetry.SymmetryGroup(maps=free)
    except ParameterError:
        return None
    columns = np.array([int(np.flatnonzero(target.keep == j)[0]) for j in range(k)])
    key = group.key_rows[0]
    A = np.zeros((group.n_maps - 1, target.keep.size))
    A[:, columns] = np.stack([key @ g - key for g in free[1:]])  # key . g x - key . x <= 0
    return CanonicalRegion(group=group, A=A, b=np.zeros(group.n_maps - 1), columns=columns)
