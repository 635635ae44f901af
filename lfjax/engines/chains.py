"""Metropolis chains at the posterior, started from another sampler's draws.

Nested sampling and tempered SMC move their points by a few slice or random-walk steps per round.
Where the posterior is a long, thin, curved valley (six Stevens parameters pinned by chi(T) and
one M(H) curve: the data fix a few combinations, the rest slide along the valley), those few
steps do not carry points along it, and independent runs put the mass at different places along
the same valley. Chains run at the posterior itself for thousands of steps do travel along it.

`refine` starts `n_chains` chains at draws of a first sampler (its mass between separate modes is
kept: no chain jumps between them) and runs random-walk Metropolis (blackjax) with a Gaussian
proposal of the chains' pooled covariance. During the first `n_adapt` steps, every `ADAPT_EVERY`
steps, the covariance is re-estimated from the chains' recent states and each chain's scale is
moved towards an acceptance of `TARGET_ACCEPT`; then both are frozen and the chains run
`n_keep` steps more, of which every `thin`-th state is kept. Split R-hat and the effective sample
size per entry (from the kept states) say whether the chains mixed.
"""

from __future__ import annotations

import dataclasses
import time

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from blackjax.mcmc.random_walk import init as rw_init

#: Steps between adaptations of the proposal during the first n_adapt steps.
ADAPT_EVERY = 100
#: Acceptance each chain's proposal scale is moved towards.
TARGET_ACCEPT = 0.234


@dataclasses.dataclass(frozen=True)
class Chains:
    """Kept states of the chains and their diagnostics.

    Attributes:
      samples: (n_chains * n_kept, d) kept states (chain-major); log_density: (n_chains * n_kept,).
      acceptance: mean acceptance of the kept steps; rhat, ess: (d,) split R-hat and effective sample
        size of each entry over the kept states; n_chains, n_steps: chains and steps per chain.
    """

    samples: np.ndarray
    log_density: np.ndarray
    acceptance: float
    rhat: np.ndarray
    ess: np.ndarray
    n_chains: int
    n_steps: int
    wall_s: float


def _run(logdensity, key, states, chol, scales, n_steps: int):
    """n_steps random-walk steps of every chain; (states, per-step positions, acceptance)."""
    def one_chain(k, state, c):
        kernel = blackjax.additive_step_random_walk(logdensity, blackjax.mcmc.random_walk.normal(c))

        def body(s, kk):
            s, info = kernel.step(kk, s)
            return s, (s.position, s.logdensity, info.is_accepted)

        return jax.lax.scan(body, state, jax.random.split(k, n_steps))

    keys = jax.random.split(key, scales.shape[0])
    cs = chol[None] * scales[:, None, None]
    return jax.vmap(one_chain)(keys, states, cs)


def refine(logdensity, starts, key, *, n_adapt: int = 1000, n_keep: int = 2000, thin: int = 10,
           progress=None) -> Chains:
    """Chains from `starts` (n_chains, d) at exp(logdensity) (module docstring).

    Args:
      logdensity: log posterior of one vector (jax, up to a constant); key: jax key.
      n_adapt: adaptation steps (discarded); n_keep: steps kept after them (every `thin`-th state).
      progress: optional callable(str) told after each adaptation window.
    """
    t0 = time.perf_counter()
    starts = jnp.asarray(starts)
    m, d = starts.shape
    init = jax.vmap(lambda x: rw_init(x, logdensity))
    states = init(starts)
    cov = np.atleast_2d(np.cov(np.asarray(starts).T))
    scales = np.full(m, 2.38 / np.sqrt(d))
    run = jax.jit(_run, static_argnums=(0, 5))
    window = []
    for w in range(max(1, n_adapt // ADAPT_EVERY)):
        chol = _chol(cov)
        states, (pos, _, acc) = run(logdensity, jax.random.fold_in(key, w), states, chol, jnp.asarray(scales),
                                    ADAPT_EVERY)
        rate = np.asarray(acc).mean(axis=1)
        scales = scales * np.exp(rate - TARGET_ACCEPT)
        window.append(np.asarray(pos)[:, ADAPT_EVERY // 2:].reshape(-1, d))
        cov = np.atleast_2d(np.cov(np.concatenate(window[-3:]).T))
        if progress is not None:
            progress(f"adaptation {w + 1}: acceptance {rate.mean():.2f}")
    states, (pos, logd, acc) = run(logdensity, jax.random.fold_in(key, 10**6), states, _chol(cov),
                                   jnp.asarray(scales), n_keep)
    pos, logd = np.asarray(pos)[:, thin - 1::thin], np.asarray(logd)[:, thin - 1::thin]
    rhat, ess = split_rhat_ess(pos)
    return Chains(samples=pos.reshape(-1, d), log_density=logd.reshape(-1), acceptance=float(np.asarray(acc).mean()),
                  rhat=rhat, ess=ess, n_chains=m, n_steps=n_adapt + n_keep, wall_s=time.perf_counter() - t0)


def _chol(cov):
    d = cov.shape[0]
    scale = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    corr = cov / np.outer(scale, scale) + 1e-9 * np.eye(d)
    return jnp.asarray(np.linalg.cholesky(corr) * scale[:, None])


def split_rhat_ess(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split R-hat and a crude effective sample size per entry of chains x (m, n, d).

    The ESS is m n / (1 + 2 sum of the chains' mean autocorrelations up to their first negative)."""
    m, n, d = x.shape
    half = n // 2
    split = np.concatenate([x[:, :half], x[:, half:2 * half]], axis=0)  # (2m, half, d)
    means, variances = split.mean(1), split.var(1, ddof=1)
    w = variances.mean(0)
    b = half * means.var(0, ddof=1)
    var_plus = (half - 1) / half * w + b / half
    rhat = np.sqrt(var_plus / np.where(w > 0, w, np.inf))
    centred = x - x.mean(1, keepdims=True)
    ess = np.empty(d)
    for j in range(d):
        f = np.fft.rfft(centred[:, :, j], n=2 * n, axis=1)
        ac = np.fft.irfft(f * np.conj(f), axis=1)[:, :n].mean(0)
        ac = ac / ac[0] if ac[0] > 0 else np.zeros(n)
        neg = np.flatnonzero(ac[1:] < 0)
        stop = neg[0] + 1 if neg.size else n
        ess[j] = m * n / (1 + 2 * ac[1:stop].sum())
    return rhat, ess
