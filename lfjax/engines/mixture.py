"""Gaussian mixtures fitted to SMC particles, and the Metropolis kernel of the tempered SMC that uses them.

A single random walk whose step follows the particles' global covariance mixes badly where the
posterior has several separated modes or a curved ridge (acceptance near 0.1, and two seeds of one
run could disagree on a posterior mean by several standard deviations): its steps are as wide as
the distance between the modes. Each SMC step therefore fits a mixture of Gaussians to the
particles (`fit_mixture`: weighted k-means in whitened coordinates, one covariance per cluster,
widened by `INFLATE` and joined by the global Gaussian as a defensive component), and every
Metropolis step of a particle makes two moves (`step`):

1. an independence proposal drawn from the mixture, accepted with
   min(1, pi(y) m(x) / (pi(x) m(y))): particles move between modes, so the weights of the modes
   are corrected at every temperature instead of being frozen at the first resampling;
2. a random walk whose covariance is that of the particle's own component (the one of highest
   responsibility at the current point), accepted with the Hastings ratio
   pi(y) N(x; y, S_c(y)) / (pi(x) N(y; x, S_c(x))), which keeps detailed balance although the step
   size depends on the point.

Both moves leave the tempered target invariant whatever the mixture, so the mixture only has to
be a useful approximation. The walk's scale s (S_c = s (2.38^2 / d) Sigma_c) is adapted by the
caller to its acceptance rate.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

#: Most mixture components (fewer when there are fewer than `MIN_PER_COMPONENT` particles per component).
MAX_COMPONENTS = 8
MIN_PER_COMPONENT = 40
#: Covariance factor of the independence proposal's components (heavier than the clusters they come from).
INFLATE = 1.5**2
#: Weight of the defensive component (the particles' global Gaussian, inflated).
DEFENSIVE = 0.1
KMEANS_ITERATIONS = 25


class Mixture(NamedTuple):
    """Mixture of Gaussians: means (K, d), lower Cholesky factors (K, d, d), log weights (K,)."""

    means: np.ndarray
    chols: np.ndarray
    log_weights: np.ndarray


class Info(NamedTuple):
    acceptance_rate: jnp.ndarray  # of the random walk (drives the scale adaptation)
    independence_acceptance: jnp.ndarray


def safe_cholesky(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a covariance, with jitter grown 100-fold until it exists (diagonal at worst)."""
    cov = (cov + cov.T) / 2
    jitter = 1e-12 * np.maximum(np.diag(cov), 1e-300)
    for _ in range(8):
        try:
            return np.linalg.cholesky(cov + np.diag(jitter))
        except np.linalg.LinAlgError:
            jitter = jitter * 100
    return np.diag(np.sqrt(np.maximum(np.diag(cov), 1e-300)))


def _kmeans(z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Labels (n,) of k-means with k-means++ seeding on whitened points z (n, d)."""
    n = z.shape[0]
    centres = [z[rng.integers(n)]]
    for _ in range(1, k):
        d2 = np.min(((z[:, None, :] - np.asarray(centres)[None]) ** 2).sum(-1), axis=1)
        if d2.sum() <= 0:
            break
        centres.append(z[rng.choice(n, p=d2 / d2.sum())])
    centres = np.asarray(centres)
    labels = np.zeros(n, int)
    for _ in range(KMEANS_ITERATIONS):
        labels = np.argmin(((z[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        new = np.asarray([z[labels == j].mean(0) if np.any(labels == j) else centres[j] for j in range(len(centres))])
        if np.allclose(new, centres):
            break
        centres = new
    return labels


def fit_mixture(particles: np.ndarray, weights: np.ndarray, seed: int = 0) -> Mixture:
    """Mixture fitted to weighted particles (N, d): clusters of the resampled particles plus the global Gaussian.

    Each cluster gives a component with its mean, its covariance x `INFLATE` and its share of the
    particles; clusters with fewer than d + 2 members are left to the global component. Always
    MAX_COMPONENTS + 1 components (unused ones have weight 0).
    """
    rng = np.random.default_rng(seed)
    n, d = particles.shape
    w = np.asarray(weights, float)
    w = w / w.sum()
    idx = rng.choice(n, size=n, p=w)
    x = particles[idx]
    mean = x.mean(0)
    cov = np.cov(x, rowvar=False).reshape(d, d)
    chol_g = safe_cholesky(cov)
    z = np.linalg.solve(chol_g, (x - mean).T).T
    k = int(max(1, min(MAX_COMPONENTS, n // MIN_PER_COMPONENT)))
    labels = _kmeans(z, k, rng) if k > 1 else np.zeros(n, int)
    means, chols, shares = [], [], []
    for j in np.unique(labels):
        members = x[labels == j]
        if members.shape[0] < d + 2:
            continue
        means.append(members.mean(0))
        chols.append(safe_cholesky(np.cov(members, rowvar=False).reshape(d, d) * INFLATE))
        shares.append(members.shape[0] / n)
    shares = np.asarray(shares) * (1.0 - DEFENSIVE) / max(np.sum(shares), 1e-300) if shares else np.zeros(0)
    means.append(mean)
    chols.append(chol_g * np.sqrt(INFLATE))
    shares = np.append(shares, DEFENSIVE if len(means) > 1 else 1.0)
    # padded to MAX_COMPONENTS + 1 components of weight 0, so one compiled step serves every fit
    pad = MAX_COMPONENTS + 1 - len(means)
    means = np.concatenate([np.asarray(means), np.repeat(mean[None], pad, 0)])
    chols = np.concatenate([np.asarray(chols), np.repeat(chols[-1][None], pad, 0)])
    with np.errstate(divide="ignore"):
        log_w = np.log(np.concatenate([shares, np.zeros(pad)]))
    return Mixture(means, chols, log_w)


def component_logpdf(x, means, chols):
    """log N(x; mu_k, L_k L_k^T) for every component: x (d,) -> (K,)."""
    d = x.shape[-1]
    diff = x[None, :] - means
    z = jax.scipy.linalg.solve_triangular(chols, diff[..., None], lower=True)[..., 0]
    log_det = jnp.sum(jnp.log(jnp.abs(jnp.diagonal(chols, axis1=-2, axis2=-1))), -1)
    return -0.5 * jnp.sum(z**2, -1) - log_det - 0.5 * d * jnp.log(2 * jnp.pi)


def mixture_logpdf(x, means, chols, log_weights):
    return jax.scipy.special.logsumexp(log_weights + component_logpdf(x, means, chols))


def _own_component(x, means, chols, log_weights):
    return jnp.argmax(log_weights + component_logpdf(x, means, chols))


def _accept(key, state, proposal, log_target_new, log_ratio):
    """Metropolis accept: (state, accepted probability)."""
    log_alpha = jnp.where(jnp.isfinite(log_target_new), log_ratio, -jnp.inf)
    log_alpha = jnp.where(jnp.isnan(log_alpha), -jnp.inf, log_alpha)
    accept = jnp.log(jax.random.uniform(key)) < log_alpha
    new = jax.tree_util.tree_map(lambda a, b: jnp.where(accept, a, b),
                                 type(state)(proposal, log_target_new), state)
    return new, jnp.exp(jnp.minimum(log_alpha, 0.0))


def step(rng_key, state, logdensity_fn, means, chols, log_weights, walk_scale):
    """One independence move and one component-wise random walk (module docstring).

    `state` is blackjax's random-walk state (position, logdensity); `walk_scale` multiplies
    (2.38^2 / d) times each component's (uninflated) covariance.
    """
    x, lp = state.position, state.logdensity
    d = x.shape[-1]
    k_comp, k_draw, k_acc1, k_walk, k_acc2 = jax.random.split(rng_key, 5)

    # 1. independence proposal from the mixture
    comp = jax.random.categorical(k_comp, log_weights)
    y = means[comp] + chols[comp] @ jax.random.normal(k_draw, (d,), x.dtype)
    lp_y = logdensity_fn(y)
    log_m_x = mixture_logpdf(x, means, chols, log_weights)
    log_m_y = mixture_logpdf(y, means, chols, log_weights)
    log_ratio = (lp_y - lp) + log_m_x - log_m_y
    state, acc_ind = _accept(k_acc1, state, y, lp_y, log_ratio)

    # 2. random walk with the covariance of the current point's component
    x, lp = state.position, state.logdensity
    walk_chols = chols * jnp.sqrt(walk_scale * 2.38**2 / d / INFLATE)
    c_x = _own_component(x, means, chols, log_weights)
    y = x + walk_chols[c_x] @ jax.random.normal(k_walk, (d,), x.dtype)
    c_y = _own_component(y, means, chols, log_weights)
    lp_y = logdensity_fn(y)
    log_q_back = component_logpdf(x, y[None], walk_chols[c_y][None])[0]  # N(x; y, S_c(y))
    log_q_forth = component_logpdf(y, x[None], walk_chols[c_x][None])[0]  # N(y; x, S_c(x))
    log_ratio = (lp_y - lp) + log_q_back - log_q_forth
    state, acc_walk = _accept(k_acc2, state, y, lp_y, log_ratio)
    return state, Info(acc_walk, acc_ind)


class Reference(NamedTuple):
    """A normalised starting density r of a tempered SMC path: n draws `theta`, and its numbers
    `params` (means, Cholesky factors, log weights, log of the mixture's mass inside the prior box,
    defensive share) as arrays, so that one compiled SMC step serves every reference of a shape.
    `log_r(problem, t)` is log r at one theta."""

    theta: np.ndarray
    params: tuple

    @staticmethod
    def log_r(problem, params, t):
        from lfjax.engines import likelihood as lk

        means, chols, log_w, log_inside, defensive = params
        lp = lk.log_prior(problem, t) - lk.log_prior_norm(problem)
        lm = jnp.where(jnp.isfinite(lp), mixture_logpdf(t, means, chols, log_w) - log_inside, -jnp.inf)
        return jnp.where(defensive > 0, jnp.logaddexp(jnp.log1p(-defensive) + lm, jnp.log(defensive) + lp), lm)


#: Components of a reference's mixture are padded to a multiple of this.
PAD = 8
#: Mixture candidates drawn per needed particle at most when the reference is kept to the prior's support.
MAX_CANDIDATES = 64


@functools.partial(jax.jit, static_argnames=("problem",))
def _inside_prior(problem, theta):
    from lfjax.engines import likelihood as lk

    return jax.vmap(lambda t: jnp.isfinite(lk.log_prior(problem, t)))(theta)


def reference(mix: Mixture, problem, n: int, key, defensive: float) -> Reference:
    """r = (1 - eps) m + eps prior (eps = `defensive`), m the mixture `mix` restricted to the prior's
    support and renormalised: n draws and log r.

    `problem` is an engines problem (`likelihood.Problem`); the prior component keeps every part of
    the prior reachable, so modes that `mix` misses can still be found by tempering. The mixture's
    draws outside the prior box are redrawn (they would carry no weight, and where they are most of
    the particles the first tempering step cannot keep the target ESS); the mass of m inside the
    box, which renormalises it, is the fraction of candidates accepted.
    """
    from lfjax.engines import likelihood as lk
    from lfjax.errors import ModelMismatchError

    k_prior, k_pick, k_mix = jax.random.split(key, 3)
    with jax.enable_x64(True):
        means, chols, log_w = (jnp.asarray(a, jnp.float64) for a in mix)
        kept, drawn, n_kept = [], 0, 0
        for rnd in range(MAX_CANDIDATES // 4):
            k_comp, k_norm = jax.random.split(jax.random.fold_in(k_mix, rnd))
            m = 4 * n
            comp = jax.random.categorical(k_comp, log_w, shape=(m,))
            cand = means[comp] + jnp.einsum("nij,nj->ni", chols[comp], jax.random.normal(k_norm, (m, means.shape[1])))
            ok = np.asarray(_inside_prior(problem, cand))
            kept.append(np.asarray(cand)[ok])
            drawn, n_kept = drawn + m, n_kept + int(ok.sum())
            if n_kept >= n:
                break
        if n_kept < n:
            raise ModelMismatchError("the starting density of the SMC lies almost entirely outside the prior box "
                                     f"({n_kept} of {drawn} draws inside); widen the prior ranges")
        theta_m = np.concatenate(kept)[:n]
        log_inside = float(np.log(n_kept / drawn))
        theta_p = np.asarray(lk.draw_prior(problem, k_prior, n))
        pick = np.asarray(jax.random.uniform(k_pick, (n,)) < defensive)
        theta = np.where(pick[:, None], theta_p, theta_m)

    # padded to a multiple of PAD components of weight 0 (identity factors), so references of
    # nearby sizes share one compiled SMC step
    k, d = np.shape(mix.means)
    pad = -k % PAD
    means_p = np.concatenate([np.asarray(mix.means, float), np.zeros((pad, d))])
    chols_p = np.concatenate([np.asarray(mix.chols, float), np.repeat(np.eye(d)[None], pad, 0)])
    log_w_p = np.concatenate([np.asarray(mix.log_weights, float), np.full(pad, -np.inf)])
    params = (means_p, chols_p, log_w_p, np.float64(log_inside), np.float64(defensive))
    return Reference(theta=theta, params=params)
