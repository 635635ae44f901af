"""Posterior of a costly measurement set by importance sampling around the fitted optima.

Where one likelihood evaluation costs tens of milliseconds (hundreds of finite-field points with a
mean field), tempered SMC from the prior needs far more evaluations than a CPU gives in minutes.
The posterior of such a set is concentrated around the optima of the global fit, so:

1. Proposal: a mixture of multivariate Student-t densities (`DOF` degrees of freedom), one per
   distinct optimum of `fit.run_fit`, first moved to the nearby mode of the noise-integrated
   posterior (`posterior_mode.polish`, `polished`), and per image of it under the likelihood's symmetry group
   (`modes.likelihood_maps`: equivalent parameter sets have equal likelihood), centred there, with
   the Laplace covariance (J^T J + P)^-1 inflated by `INFLATE` (J: Jacobian of the weighted
   residuals at the ML noise levels, which is also the curvature of the noise-integrated
   likelihood; P: the prior precision, width^2 / 12 of each box, so undetermined directions stay
   finite) and the Laplace weights exp(-objective / 2) sqrt(det Sigma).
2. Weights: w_i = prior(x_i) L(x_i) / q(x_i) with the sampler's likelihood
   (`likelihood.log_likelihood`, noise integrated out per curve) and prior; the effective sample
   size ESS = (sum w)^2 / sum w^2 is reported.
3. Adaptation (population Monte Carlo): while ESS < `target_ess` x N, each component's weight, mean
   and covariance are re-estimated from the weighted draws it is responsible for, and a fresh set of
   N draws is made. Every round is a valid importance sample of the same posterior: the rounds are
   pooled, round r's self-normalised weights scaled by its share of the total ESS (a late round
   that adapted badly cannot spoil an earlier good one), and the pool is resampled (systematic)
   into the returned equally weighted sample; its ESS is reported beside each round's.

Importance sampling is exact in the limit of many draws whatever the proposal, provided the
proposal covers the posterior; the ESS says how many independent draws the answer is worth.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import gammaln, logsumexp

from lfjax.engines import exported
from lfjax.engines import likelihood as lk
from lfjax.engines._batches import in_batches
from lfjax.engines.mixture import safe_cholesky
from lfjax.errors import ModelMismatchError

DOF = 5.0
INFLATE = 1.5**2
CHUNK = 32


@dataclasses.dataclass(frozen=True, eq=False)
class Mixture:
    """Student-t mixture: log weights (K,), means (K, d), Cholesky factors (K, d, d)."""

    log_weights: np.ndarray
    means: np.ndarray
    chols: np.ndarray

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        k, d = self.means.shape
        p = np.exp(self.log_weights - logsumexp(self.log_weights))
        comp = rng.choice(k, size=n, p=p)
        z = rng.standard_normal((n, d))
        g = rng.chisquare(DOF, size=n) / DOF
        return self.means[comp] + np.einsum("nij,nj->ni", self.chols[comp], z) / np.sqrt(g)[:, None]

    def log_density(self, x: np.ndarray) -> np.ndarray:
        return logsumexp(self.log_weights[None, :] - logsumexp(self.log_weights) + self.component_logpdf(x), axis=1)

    def component_logpdf(self, x: np.ndarray) -> np.ndarray:
        """(n, K) log densities of each component."""
        k, d = self.means.shape
        out = np.empty((x.shape[0], k))
        const = gammaln((DOF + d) / 2) - gammaln(DOF / 2) - d / 2 * np.log(DOF * np.pi)
        for j in range(k):
            sol = np.linalg.solve(self.chols[j], (x - self.means[j]).T)
            maha = np.sum(sol**2, axis=0)
            logdet = np.sum(np.log(np.abs(np.diag(self.chols[j]))))
            out[:, j] = const - logdet - (DOF + d) / 2 * np.log1p(maha / DOF)
        return out


@dataclasses.dataclass(frozen=True, eq=False)
class ImportanceResult:
    """Equally weighted draws and the importance sampler's history.

    `ess`: each round's ESS as a fraction of its draws; `ess_pooled`: the ESS (in draws) of the
    pooled rounds the samples were resampled from.
    """

    problem: lk.Problem
    samples: np.ndarray
    log_likelihood: np.ndarray
    ess: np.ndarray
    ess_pooled: float
    n_components: int
    n_draws: int
    log_evidence: float
    wall_s: float


def prior_precision(problem: lk.Problem) -> np.ndarray:
    """(n_theta,) diagonal prior precision: 12 / width^2 for the boxes, 1 / sigma^2 for nuisances."""
    p = problem.priors
    lf = [12.0 / max((hi - lo) ** 2, 1e-300) for lo, hi in problem.ranges]
    if problem.wedge_d_max_k is not None:
        lf = [3.0 / problem.wedge_d_max_k**2] * problem.n_free
    nuis = [1 / p.sigma_dia_emu_per_mol**2, 1 / p.sigma_m**2]
    if problem.mean_field:
        nuis.append(1 / p.sigma_lambda_mol_per_emu**2)
    return np.asarray(lf + nuis, float)


def polished(problem: lk.Problem, fit_result, jdata):
    """The fit result with every optimum moved to the nearby mode of the sampler's posterior.

    `posterior_mode.polish` (noise integrated per curve); each solution's objective becomes
    -2 log posterior there (so the Laplace weights compare the components on the target), and the
    noise levels of estimated curves the rms residuals of the best polished optimum.
    """
    from lfjax.engines import posterior_mode

    if not fit_result.solutions:
        raise ModelMismatchError("the global fit found no optimum with a finite objective, so there is nothing to "
                                 "sample around; try more --starts, wider prior ranges, or --route smc --start prior")
    sols, values = [], []
    for s in fit_result.solutions:
        theta, value, _ = posterior_mode.polish(problem, s.theta, jdata)
        values.append(value)
        sols.append(dataclasses.replace(s, theta=theta, objective=-2 * values[-1]))
    best = sols[int(np.argmax(values))].theta
    rel = lk.relative_residuals(problem, jnp.asarray(best), jdata)
    rms = np.asarray([float(jnp.sqrt(jnp.mean(r**2))) for r in rel])
    sigmas = np.where(fit_result.noise_estimated, rms, fit_result.sigmas)
    return dataclasses.replace(fit_result, solutions=tuple(sols), sigmas=sigmas)


def laplace_mixture(problem: lk.Problem, fit_result, jdata, maps=None) -> Mixture:
    """The proposal of step 1 from a `fit.FitResult` (its solutions, Jacobians at its noise levels)."""
    from lfjax.engines import fit as ef
    from lfjax.engines import modes

    sols = fit_result.solutions
    theta = np.stack([s.theta for s in sols])
    _, _, jac = ef.diagnose(problem, theta, jdata, jnp.asarray(fit_result.sigmas))
    if maps is None:
        maps = modes.likelihood_maps(problem, theta[0], jdata) if problem.n_free else np.eye(1)[None]
    free_idx = [problem.names.index(n) for n in problem.free]
    prec = prior_precision(problem)
    means, chols, logw = [], [], []
    for s, j in zip(sols, jac):
        cov = np.linalg.inv(j.T @ j + np.diag(prec)) * INFLATE
        chol = safe_cholesky(cov)
        base = -s.objective / 2 + np.sum(np.log(np.diag(chol)))
        full = np.asarray(lk.full_vector(problem, jnp.asarray(s.theta)))
        for g in maps:
            a = np.eye(problem.n_theta)
            if problem.n_free:
                sub = (g[np.ix_(free_idx, free_idx)] if g.shape[0] == len(problem.names) else g)
                a[: problem.n_free, : problem.n_free] = sub
            mean = np.array(s.theta, float)
            if problem.n_free and g.shape[0] == len(problem.names):
                mean[: problem.n_free] = (g @ full)[free_idx]
            if any(np.allclose(mean, m, rtol=1e-8, atol=1e-14) for m in means):
                continue
            means.append(mean)
            chols.append(safe_cholesky(a @ cov @ a.T))
            logw.append(base)
    logw = np.asarray(logw)
    keep = np.isfinite(logw)
    if not keep.any():
        raise ModelMismatchError("no fitted optimum has a finite posterior density (each lies outside the prior "
                                 "or gives a non-finite likelihood); widen the prior ranges or use --route smc")
    return Mixture(logw[keep], np.asarray(means)[keep], np.asarray(chols)[keep])


@functools.partial(jax.jit, static_argnames=("problem",))
def _log_target(problem, theta, data):
    def one(t):
        prior = lk.log_prior(problem, t)
        ll = jnp.where(jnp.isfinite(prior), lk.log_likelihood(problem, t, data), -jnp.inf)
        return ll, prior

    return jax.lax.map(one, theta)


def log_target(problem: lk.Problem, theta: np.ndarray, jdata, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """(log L (n,), log prior (n,)) in fixed chunks of `CHUNK` (one compilation, bounded memory)."""
    ll, lp = in_batches(lambda t: exported.call("importance.log_target", _log_target, (problem,), t, jdata), theta,
                        CHUNK, progress)
    return ll, lp


def _adapt(mix: Mixture, x: np.ndarray, w: np.ndarray) -> Mixture:
    """One population Monte Carlo update of every component from weighted draws."""
    comp = mix.log_weights[None, :] + mix.component_logpdf(x)
    resp = np.exp(comp - logsumexp(comp, axis=1, keepdims=True)) * w[:, None]  # (n, K)
    means, chols, logw = [], [], []
    for j in range(mix.means.shape[0]):
        r = resp[:, j]
        mass = r.sum()
        if mass <= 1e-12 * w.sum() or (mass**2 / max(np.sum(r**2), 1e-300)) < x.shape[1] + 2:
            means.append(mix.means[j])
            chols.append(mix.chols[j])
            logw.append(np.log(max(mass, 1e-300)))
            continue
        mean = r @ x / mass
        cov = (x - mean).T @ ((x - mean) * r[:, None]) / mass
        means.append(mean)
        chols.append(safe_cholesky(cov * INFLATE))
        logw.append(np.log(mass))
    return Mixture(np.asarray(logw), np.asarray(means), np.asarray(chols))


def run_importance(
    problem: lk.Problem,
    data,
    fit_result,
    *,
    n_draws: int = 2000,
    target_ess: float = 0.25,
    max_rounds: int = 3,
    seed: int = 0,
    progress=None,
) -> ImportanceResult:
    """Importance sampling of the posterior from the fit's optima (see the module docstring). float64.

    Args:
      problem, data: from `likelihood.build`; fit_result: `fit.run_fit` on them.
      n_draws: draws per round; target_ess: stop adapting once ESS >= target_ess x n_draws;
      max_rounds: rounds at most; seed: the generator's seed.
      progress: optional callable(done, total, round) per evaluated chunk.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        mix = laplace_mixture(problem, polished(problem, fit_result, jdata), jdata)
        rounds = []  # (draws, log L, normalised weights, ESS, log Z) per round
        for rnd in range(max_rounds):
            x = mix.draw(rng, n_draws)
            report = None if progress is None else (lambda done, total, r=rnd: progress(done, total, r))
            ll, lp = log_target(problem, x, jdata, report)
            logw = np.where(np.isfinite(ll + lp), ll + lp - mix.log_density(x), -np.inf)
            if np.isfinite(logw).any():
                w = np.exp(logw - np.max(logw))
                ess = float(w.sum() ** 2 / np.sum(w**2))
                rounds.append((x, ll, w / w.sum(), ess, float(logsumexp(logw) - np.log(n_draws))))
            else:
                ess = 0.0
            if ess >= target_ess * n_draws or rnd == max_rounds - 1:
                break
            if ess > 0:
                mix = _adapt(mix, x, w / w.sum())
        if not rounds:
            raise RuntimeError("no proposal draw has a finite posterior density")
        samples, loglik, _, ess_pooled, log_z = _pool(rounds, rng, n_draws)
    return ImportanceResult(problem=problem, samples=samples, log_likelihood=loglik,
                            ess=np.asarray([r[3] / n_draws for r in rounds]), ess_pooled=ess_pooled,
                            n_components=int(mix.means.shape[0]), n_draws=n_draws, log_evidence=log_z,
                            wall_s=time.perf_counter() - t0)


def _pool(rounds, rng: np.random.Generator, n: int):
    """Rounds pooled with weights ESS_r / sum ESS x (round-normalised weights); n resampled draws.

    Returns (samples (n, d), their log L (n,), pooled weights, pooled ESS (draws), log evidence
    (the ESS-weighted mean of the rounds' estimates)).
    """
    share = np.asarray([r[3] for r in rounds])
    share = share / share.sum()
    x = np.concatenate([r[0] for r in rounds])
    ll = np.concatenate([r[1] for r in rounds])
    w = np.concatenate([a * r[2] for a, r in zip(share, rounds)])
    ess = float(w.sum() ** 2 / np.sum(w**2))
    log_z = float(logsumexp([r[4] for r in rounds], b=share))
    idx = _systematic(rng, w / w.sum(), n)
    return x[idx], ll[idx], w, ess, log_z


def _systematic(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    u = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(p), u), p.size - 1)
