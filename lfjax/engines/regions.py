"""Nested sampling that cuts its live points into regions where they fall apart.

Why: nested sampling replaces each dead point by a copy of a random live point, moved by slice
steps that stay above the likelihood contour. Once the set above the contour has fallen apart
into pockets that no slice step crosses, a pocket gains a point only when one of its own points is
copied. The number of live points in each pocket then drifts like a neutral urn: over the H nats
from prior to posterior the share of a pocket wanders by about sqrt(2 H / n_live) of itself, and
pockets holding a good part of the posterior are lost at random (`nested` module docstring: the
D3d posterior with M(H) measured is such a set of thin pockets).

Remedy: after every round the live points of each region are split in two by 2-means. Where the
two groups lie on either side of an empty gap (along the Fisher direction of their pooled
within-group covariance, a gap of at least `GAP_SD` pooled standard deviations, and each group of
at least `MIN_GROUP` points), the region is cut by the hyperplane through the middle of the gap.
Each side becomes a region of its own: the prior restricted to that side (the cut enters the
prior, so no point ever leaves its region), with the prior volume share n_side / n_live of its
parent at the cut, topped up to `n_live` points by constrained slice moves from its own points.
From then on each region is a nested run of its own: a pocket found at a cut keeps its points.

Every region shrinks by its own volume sequence (blackjax nested slice sampling, `num_delete`
points per round); the evidence is the sum over regions. Its error comes from simulated volume
sequences: every shrinkage factor and every cut's share (Beta(n_1, n_2), mean n_1 / n_live) drawn
afresh; the posterior weights are those averaged over the simulations.

Correct without any cut (one region is plain nested sampling); the cuts only stop the drift. A
cut through one connected pocket is no error, only extra cost (`max_regions` bounds it).
"""

from __future__ import annotations

import dataclasses
import functools
import types

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from blackjax.mcmc.slice import build_kernel as build_slice_kernel
from blackjax.mcmc.slice import stepping_out
from blackjax.ns.base import init_state_strategy
from blackjax.ns.from_mcmc import update_with_mcmc_take_last
from blackjax.ns.nss import covariance_proposal, slice_constrained_step
from scipy.special import logsumexp

#: A region stops when its live points' share of the evidence falls below exp(STOP_LOG_SHARE).
STOP_LOG_SHARE = -3.0
#: A cut needs an empty gap of this many pooled within-group standard deviations...
GAP_SD = 3.0
#: ... and at least this many live points on each side.
MIN_GROUP = 3
#: Top-up passes of constrained slice moves for a region made by a cut.
TOP_UP_PASSES = 2


@dataclasses.dataclass
class Region:
    """One region: its live state, the half-spaces that bound it (A x <= b) and its history."""

    state: object
    A: np.ndarray
    b: np.ndarray
    parent: int | None
    parent_deaths: int  # deaths of the parent before the cut
    n_side: int  # the parent's live points on this side at the cut
    sibling_side: int  # and on the other side
    log_l: list = dataclasses.field(default_factory=list)  # death log-likelihoods
    counts: list = dataclasses.field(default_factory=list)  # live points at each death
    positions: list = dataclasses.field(default_factory=list)
    contour: float = -np.inf
    active: bool = True
    cut: bool = False  # ended by a cut (its live points went to its children)


@dataclasses.dataclass(frozen=True)
class RegionRun:
    """The weighted dead points of a partitioned run and its evidence.

    Attributes:
      positions: (m, d) dead points (final live points included); log_weight: (m,) their log weights
        (averaged over the simulated volume sequences), normalised to sum 1; log_likelihood: (m,).
      log_z: (n_volume_draws,) log evidence of each simulated volume sequence.
      n_regions: regions made (1: no cut); n_rounds: rounds of all regions together; region_share:
        (n_regions,) posterior mass of each region (regions that were cut hold their dead points only).
      log_z_history: the expected log evidence after each pass over the active regions.
    """

    positions: np.ndarray
    log_weight: np.ndarray
    log_likelihood: np.ndarray
    log_z: np.ndarray
    n_regions: int
    n_rounds: int
    region_share: np.ndarray
    log_z_history: np.ndarray


def _within_cut(t, A, b):
    return jnp.all(A @ t <= b)


def two_groups(x: np.ndarray, rng: np.random.Generator, restarts: int = 4):
    """2-means labels of points x (n, d) in the metric of their covariance (best of `restarts`)."""
    cov = np.cov(x.T) + 1e-12 * np.eye(x.shape[1])
    z = np.linalg.solve(np.linalg.cholesky(cov), (x - x.mean(0)).T).T
    best, best_cost = None, np.inf
    for _ in range(restarts):
        c = z[rng.choice(len(z), 2, replace=False)]
        for _ in range(50):
            lab = np.argmin(((z[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
            if lab.min() == lab.max():
                break
            new = np.stack([z[lab == k].mean(0) for k in (0, 1)])
            if np.allclose(new, c):
                break
            c = new
        cost = ((z - c[lab]) ** 2).sum()
        if lab.min() != lab.max() and cost < best_cost:
            best, best_cost = lab, cost
    return best


def find_cut(x: np.ndarray, rng: np.random.Generator):
    """A hyperplane (w, c) with an empty gap between two groups of the points x (n, d), or None.

    Returns (w, c, side, within_cov): side (n,) True where w . x > c.
    """
    n, d = x.shape
    if n < 2 * MIN_GROUP or n <= d + 1:
        return None
    lab = two_groups(x, rng)
    if lab is None or min(np.sum(lab == 0), np.sum(lab == 1)) < MIN_GROUP:
        return None
    g0, g1 = x[lab == 0], x[lab == 1]
    within = ((g0 - g0.mean(0)).T @ (g0 - g0.mean(0)) + (g1 - g1.mean(0)).T @ (g1 - g1.mean(0))) / (n - 2)
    within = within + 1e-9 * np.trace(within) / d * np.eye(d)
    w = np.linalg.solve(within, g1.mean(0) - g0.mean(0))
    p0, p1 = g0 @ w, g1 @ w
    sd = np.sqrt((np.sum((p0 - p0.mean()) ** 2) + np.sum((p1 - p1.mean()) ** 2)) / (n - 2))
    gap = p1.min() - p0.max()
    if not gap > GAP_SD * sd:
        return None
    c = 0.5 * (p1.min() + p0.max())
    return w, c, x @ w > c, within


def run_regions(log_prior, log_likelihood, draw_prior, key, *, n_live: int, n_inner: int, max_regions: int = 8,
                max_rounds: int = 4000, n_volume_draws: int = 100, bounds=None, progress=None) -> RegionRun:
    """Partitioned nested sampling (module docstring) of prior x likelihood over vectors of size d.

    Args:
      log_prior, log_likelihood: callables of one vector (jax); draw_prior(key, n) -> (n, d).
      key: jax key; n_live: live points per region (half replaced per round); n_inner: slice moves
        per replacement; max_regions: regions at most (1: plain nested sampling); max_rounds:
        give-up bound on all regions' rounds together; n_volume_draws: simulated volume sequences.
      bounds: optional (A, b) half-spaces A x <= b that bound the whole run (draw_prior must draw
        inside them; the evidence is then that of the prior restricted to them).
      progress: optional callable(str) told of the evidence every 10 rounds and of each cut.
    """
    n_delete = max(1, n_live // 2)
    key, k_init = jax.random.split(key)
    x0 = draw_prior(k_init, n_live)
    d = x0.shape[1]
    base_A, base_b = (np.zeros((0, d)), np.zeros(0)) if bounds is None else (np.asarray(bounds[0], float),
                                                                             np.asarray(bounds[1], float))
    h = base_A.shape[0] + max(1, max_regions)  # half-spaces per region at most (one per cut above it)

    def prior_in(t, A, b):
        return jnp.where(_within_cut(t, A, b), log_prior(t), -jnp.inf)

    def algo(A, b, num_delete):
        return blackjax.nss(functools.partial(prior_in, A=A, b=b), log_likelihood,
                            num_inner_steps=n_inner, num_delete=num_delete)

    @jax.jit
    def step(k, state, A, b):
        return algo(A, b, n_delete).step(k, state)

    @jax.jit
    def init(x, A, b):
        return algo(A, b, n_delete).init(x)

    @jax.jit
    def top_up(k, particles, contour, A, b, chol):
        """n_live fresh points above `contour` inside (A, b), moved from the particles whose
        log-likelihood exceeds the contour (the others are padding)."""
        init_fn = functools.partial(init_state_strategy, logprior_fn=functools.partial(prior_in, A=A, b=b),
                                    loglikelihood_fn=log_likelihood)
        kernel = build_slice_kernel(interval=stepping_out, max_expansions=10, max_shrinkage=100)
        move = update_with_mcmc_take_last(slice_constrained_step(init_fn, kernel, covariance_proposal),
                                          n_inner, n_live)
        new, _ = move(k, types.SimpleNamespace(particles=particles), contour, covariance_factor=chol)
        return new

    free_A = np.zeros((h, d))
    free_b = np.ones(h)
    free_A[: base_A.shape[0]], free_b[: base_A.shape[0]] = base_A, base_b
    regions = [Region(state=init(x0, free_A, free_b), A=free_A, b=free_b, parent=None, parent_deaths=0,
                      n_side=n_live, sibling_side=0)]
    rng = np.random.default_rng(int(jax.random.randint(jax.random.fold_in(key, 1), (), 0, 2**31 - 1)))
    rounds, history = 0, []
    while any(r.active for r in regions):
        for i in [j for j, r in enumerate(regions) if r.active]:
            r = regions[i]
            r.state, info = step(jax.random.fold_in(key, 2 * rounds), r.state, r.A, r.b)
            rounds += 1
            ll = np.asarray(info.particles.loglikelihood)
            order = np.argsort(ll)
            r.log_l.extend(ll[order])
            r.counts.extend(range(n_live, n_live - len(ll), -1))
            r.positions.extend(np.asarray(info.particles.position)[order])
            r.contour = float(ll.max())
            x = np.asarray(r.state.particles.position)
            leaves = sum(not q.cut for q in regions)
            cut = find_cut(x, rng) if leaves < max_regions else None
            if cut is not None:
                if progress is not None:
                    progress(f"region {i} cut at log L {r.contour:.2f}: {np.sum(~cut[2])} / {np.sum(cut[2])} live points")
                _split(regions, i, cut, x, top_up, init, jax.random.fold_in(key, 2 * rounds + 1), n_live)
        log_z = _expected_log_z(regions, n_live)
        history.append(log_z)
        for r in regions:
            if r.active and _live_log_mass(r, regions, n_live) - log_z < STOP_LOG_SHARE:
                r.active = False
        if progress is not None and rounds % 10 == 0:
            progress(f"round {rounds}: log evidence {log_z:.2f}, {len(regions)} region(s)")
        if rounds > max_rounds:
            raise RuntimeError(f"nested sampling did not converge in {max_rounds} rounds")
    return _finalise(regions, n_live, key, n_volume_draws, rounds, np.asarray(history))


def _split(regions, i, cut, x, top_up, init, key, n_live):
    """Cut region i by (w . x <= c | w . x > c); each side topped up to n_live points."""
    w, c, side, within = cut
    parent = regions[i]
    parent.active, parent.cut = False, True
    chol = jnp.asarray(np.linalg.cholesky(within))
    rows = int(np.flatnonzero(~np.any(parent.A != 0, axis=1))[0])  # the first unused row
    particles = parent.state.particles
    for s, (sign, mask) in enumerate(((1.0, ~side), (-1.0, side))):
        A, b = parent.A.copy(), parent.b.copy()
        A[rows], b[rows] = sign * w, sign * c
        ll = np.where(mask, np.asarray(particles.loglikelihood), -np.inf)
        pad = particles._replace(loglikelihood=jnp.asarray(ll))
        own = x[mask]
        pts = own
        for p in range(TOP_UP_PASSES):
            new = top_up(jax.random.fold_in(key, 2 * s + p), pad, parent.contour, A, b, chol)
            pts = np.concatenate([own, np.asarray(new.position)[: n_live - len(own)]])
            pad = new._replace(loglikelihood=jnp.where(jnp.arange(n_live) < n_live - len(own),
                                                       new.loglikelihood, -jnp.inf))
        regions.append(Region(state=init(jnp.asarray(pts), A, b), A=A, b=b, parent=i,
                              parent_deaths=len(parent.log_l), n_side=int(mask.sum()),
                              sibling_side=int((~mask).sum()), contour=parent.contour))


def _log_start(r: Region, regions, n_live, draw=None):
    """Log prior volume of region r at its start (expected, or one simulated sequence `draw`)."""
    if r.parent is None:
        return 0.0
    p = regions[r.parent]
    shrink = -np.sum(1.0 / np.asarray(p.counts[: r.parent_deaths]))
    return _log_start(p, regions, n_live) + shrink + np.log(r.n_side / n_live)


def _expected_log_z(regions, n_live):
    terms = []
    for r in regions:
        if not r.log_l:
            continue
        ll, cnt = np.asarray(r.log_l), np.asarray(r.counts)
        log_x = _log_start(r, regions, n_live) - np.cumsum(1.0 / cnt)
        terms.append(ll + log_x + np.log(np.expm1(1.0 / cnt)))
    return float(logsumexp(np.concatenate(terms))) if terms else -np.inf


def _live_log_mass(r: Region, regions, n_live):
    ll = np.asarray(r.state.particles.loglikelihood)
    log_x = _log_start(r, regions, n_live) - np.sum(1.0 / np.asarray(r.counts))
    return float(logsumexp(ll) - np.log(len(ll)) + log_x)


def _finalise(regions, n_live, key, n_draws, rounds, history) -> RegionRun:
    """Weights of all dead points (live points of uncut regions die last) over simulated volumes."""
    rng = np.random.default_rng(int(jax.random.randint(jax.random.fold_in(key, 7), (), 0, 2**31 - 1)))
    for r in regions:
        if not r.cut:  # its live points die in order, the live count falling to 1
            ll = np.asarray(r.state.particles.loglikelihood)
            order = np.argsort(ll)
            r.log_l.extend(ll[order])
            r.counts.extend(range(len(ll), 0, -1))
            r.positions.extend(np.asarray(r.state.particles.position)[order])
    # Simulated log volumes: region starts follow their parents' sequences and a Beta share per cut.
    log_x_end = []  # per region, (n_draws, n_deaths) log X after each death
    share_draw = {}  # per cut region: the first side's share in each simulated sequence
    log_w, pos, lls, owner = [], [], [], []
    for k, r in enumerate(regions):
        cnt = np.asarray(r.counts, float)
        log_t = np.log(rng.uniform(size=(n_draws, cnt.size))) / cnt
        if r.parent is None:
            start = np.zeros(n_draws)
        else:
            px = log_x_end[r.parent]
            base = px[:, r.parent_deaths - 1] if r.parent_deaths > 0 else np.zeros(n_draws)
            if r.parent not in share_draw:  # the first side's share; the second side takes the rest
                share_draw[r.parent] = rng.beta(r.n_side, r.sibling_side, size=n_draws)
                share = share_draw[r.parent]
            else:
                share = 1.0 - share_draw[r.parent]
            start = base + np.log(share)
        log_x = start[:, None] + np.cumsum(log_t, axis=1)
        log_x_end.append(log_x)
        prev = np.concatenate([start[:, None], log_x[:, :-1]], axis=1)
        log_w.append(np.asarray(r.log_l)[None] + prev + np.log(-np.expm1(log_t)))
        pos.append(np.asarray(r.positions))
        lls.append(np.asarray(r.log_l))
        owner.append(np.full(cnt.size, k))
    log_w = np.concatenate(log_w, axis=1)
    log_z = logsumexp(log_w, axis=1)
    lw = logsumexp(log_w - log_z[:, None], axis=0) - np.log(n_draws)
    lw = lw - logsumexp(lw)
    owner = np.concatenate(owner)
    share = np.array([np.exp(logsumexp(lw[owner == k])) if np.any(owner == k) else 0.0
                      for k in range(len(regions))])
    return RegionRun(positions=np.concatenate(pos), log_weight=lw, log_likelihood=np.concatenate(lls),
                     log_z=log_z, n_regions=len(regions), n_rounds=rounds, region_share=share,
                     log_z_history=history)
