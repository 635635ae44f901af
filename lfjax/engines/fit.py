"""Global fit of a measurement set: batched Levenberg-Marquardt from many prior draws, distinct optima.

1. Starts: `n_starts` draws of the ligand-field prior (nuisances at their prior means), plus any
   given starts (the (D, E) wedge-grid modes for the DE preset).
2. Levenberg-Marquardt (`optimistix.LevenbergMarquardt`, float64) over a fixed batch of starts
   in one compiled call (`lax.map`: under `vmap` the solver's loop with the finite-difference
   Jacobian below does not finish compiling on jax 0.10 / optimistix 0.1) on the weighted residuals of `likelihood.weighted_residuals`, in units of the
   prior scale of each entry (so B20 and B66 are equally well conditioned).
3. Curves without a given noise level: a first pass uses sigma_c = `initial_noise`; sigma_c is
   then set to the best solution's rms relative residual on that curve and every optimum is
   refined again (twice): the fixed point is the profile-likelihood (ML) noise estimate.
   With sigma_c fixed, optima are compared by the objective (log L = -objective / 2 + const).
4. Optima within `within` log-likelihood units of the best are listed once modulo the likelihood's
   symmetry group (the maps that leave every curve's prediction unchanged), best first, with
   1-sigma errors from (J^T J)^-1 scaled by the reduced chi-square max(1, objective / (N - p)).
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from lfjax.engines import likelihood as lk

BATCH = 16
MAX_STEPS = 200
NOISE_FLOOR = 1e-4
FD_STEP = 1e-6


@dataclasses.dataclass(frozen=True, eq=False)
class Solution:
    """One optimum: theta (n_theta,) physical units, its 1-sigma errors, objective, per-curve rms."""

    theta: np.ndarray
    errors: np.ndarray
    objective: float
    rms_rel_residual: np.ndarray
    rms_rel_overall: float
    dlogL: float
    converged: bool


@dataclasses.dataclass(frozen=True, eq=False)
class FitResult:
    """Distinct optima best first, the noise levels used, and bookkeeping."""

    problem: lk.Problem
    solutions: tuple[Solution, ...]
    sigmas: np.ndarray
    noise_estimated: tuple[bool, ...]
    n_starts: int
    n_finite: int
    wall_s: float


def fd_jvp(fn, step: float = FD_STEP):
    """`fn(u, args)` whose derivative in u is the central-difference Jacobian J (m, p).

    J[:, j] = (fn(u + h e_j) - fn(u - h e_j)) / 2h is computed from the primal u only, and the
    JVP is J @ du, linear in du (so linearisation and transposition work as for any linear map).
    The analytic derivative through the eigensolver costs ~100 forward evaluations per parameter
    on CPU; in float64 with u of order 1 the central difference is accurate to ~1e-10 relative
    and costs two.
    """

    @jax.custom_jvp
    def wrapped(u, args):
        return fn(u, args)

    @wrapped.defjvp
    def _jvp(primals, tangents):
        u, args = primals
        du, _ = tangents
        out = fn(u, args)
        eye = jnp.eye(u.shape[0], dtype=u.dtype)
        jac = jax.vmap(lambda e: (fn(u + step * e, args) - fn(u - step * e, args)) / (2 * step))(eye).T
        return out, jac @ du

    return wrapped


def _residual_fn(problem):
    center = jnp.asarray(problem.theta_center())
    scale = jnp.asarray(problem.theta_scale())

    def fn(u, args):
        data, sigmas = args
        return lk.weighted_residuals(problem, center + scale * u, data, sigmas)

    return fd_jvp(fn), center, scale


@functools.partial(jax.jit, static_argnames=("problem", "max_steps"))
def _solve_batch(problem, theta0, data, sigmas, max_steps=MAX_STEPS):
    """LM from each row of theta0 (BATCH, n_theta); returns (theta (BATCH, n_theta), ok (BATCH,))."""
    fn, center, scale = _residual_fn(problem)
    solver = optx.LevenbergMarquardt(rtol=1e-9, atol=1e-12)

    def one(t0):
        sol = optx.least_squares(fn, solver, (t0 - center) / scale, args=(data, sigmas),
                                 max_steps=max_steps, throw=False)
        return center + scale * sol.value, sol.result == optx.RESULTS.successful

    return jax.lax.map(one, theta0)


@functools.partial(jax.jit, static_argnames=("problem",))
def _diagnose(problem, theta, data, sigmas):
    """Objective (B,), per-curve rss of relative residuals (B, n_curves), Jacobian (B, N+p, n_theta)."""

    fn, center, scale = _residual_fn(problem)

    def one(t):
        res = lk.weighted_residuals(problem, t, data, sigmas)
        rel = lk.relative_residuals(problem, t, data)
        jac_u = jax.jacfwd(fn)((t - center) / scale, (data, sigmas))
        return jnp.sum(res**2), jnp.stack([jnp.sum(r**2) for r in rel]), jac_u / scale

    return jax.vmap(one)(theta)


def _batched(fn, theta, *args):
    """Applies a batch function over rows of theta in fixed batches of BATCH (one compilation)."""
    n = theta.shape[0]
    pad = (-n) % BATCH
    padded = np.concatenate([theta, np.repeat(theta[:1], pad, axis=0)]) if pad else theta
    outs = [fn(jnp.asarray(padded[i:i + BATCH]), *args) for i in range(0, padded.shape[0], BATCH)]
    return [np.concatenate([np.asarray(o[k]) for o in outs])[:n] for k in range(len(outs[0]))]


def solve(problem: lk.Problem, theta0: np.ndarray, data, sigmas) -> tuple[np.ndarray, np.ndarray]:
    """LM from every start (n, n_theta); returns optima and convergence flags."""
    return tuple(_batched(lambda t: _solve_batch(problem, t, data, sigmas), np.asarray(theta0, float)))


def diagnose(problem: lk.Problem, theta: np.ndarray, data, sigmas):
    """(objective (n,), rss per curve (n, n_curves), Jacobian (n, N + p, n_theta))."""
    return tuple(_batched(lambda t: _diagnose(problem, t, data, sigmas), np.asarray(theta, float)))


def initial_sigmas(problem: lk.Problem, initial_noise: float) -> np.ndarray:
    return np.asarray([c.noise if c.noise is not None else initial_noise for c in problem.curves], float)


def run_fit(
    problem: lk.Problem,
    data,
    *,
    n_starts: int = 64,
    seed: int = 0,
    extra_starts=None,
    initial_noise: float = 0.01,
    within: float = 2.0,
    noise_passes: int = 2,
) -> FitResult:
    """Global fit (see the module docstring). Runs in float64.

    Args:
      problem, data: from `likelihood.build`.
      n_starts: prior draws; seed: their seed; extra_starts: (m, n_theta) further starts.
      initial_noise: sigma_c of curves without a noise level in the first pass.
      within: list optima with dlogL >= -within.
    """
    t0 = time.perf_counter()
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        starts = np.array(lk.draw_prior(problem, jax.random.key(seed), n_starts))
        k = problem.n_free
        starts[:, k:] = problem.theta_center()[k:]
        if extra_starts is not None and len(extra_starts):
            starts = np.concatenate([starts, np.asarray(extra_starts, float).reshape(-1, problem.n_theta)])
        sigmas = initial_sigmas(problem, initial_noise)
        estimated = tuple(c.noise is None for c in problem.curves)
        theta, ok = solve(problem, starts, jdata, jnp.asarray(sigmas))
        obj, rss, _ = diagnose(problem, theta, jdata, jnp.asarray(sigmas))
        for _ in range(noise_passes if any(estimated) else 0):
            finite = np.isfinite(obj)
            if not finite.any():
                break
            best = int(np.nanargmin(np.where(finite, obj, np.inf)))
            rms = np.sqrt(rss[best] / np.asarray([c.n for c in problem.curves]))
            sigmas = np.where(estimated, np.maximum(rms, NOISE_FLOOR), sigmas)
            keep = _distinct_rows(theta, obj)
            theta_k, ok_k = solve(problem, theta[keep], jdata, jnp.asarray(sigmas))
            theta, ok = theta_k, ok_k
            obj, rss, _ = diagnose(problem, theta, jdata, jnp.asarray(sigmas))
        obj, rss, jac = diagnose(problem, theta, jdata, jnp.asarray(sigmas))
        solutions = _solutions(problem, theta, ok, obj, rss, jac, jdata, within)
    return FitResult(problem=problem, solutions=solutions, sigmas=sigmas, noise_estimated=estimated,
                     n_starts=len(starts), n_finite=int(np.isfinite(obj).sum()), wall_s=time.perf_counter() - t0)


def _distinct_rows(theta, obj, rel: float = 1e-7) -> np.ndarray:
    """Indices of finite optima, dropping exact repeats (within rel of the scale), best first."""
    order = [i for i in np.argsort(np.where(np.isfinite(obj), obj, np.inf)) if np.isfinite(obj[i])]
    kept: list[int] = []
    for i in order:
        if all(np.max(np.abs(theta[i] - theta[j]) / (np.abs(theta[j]) + 1e-9)) > rel for j in kept):
            kept.append(int(i))
    return np.asarray(kept or [0])


def errors_from_jacobian(jac: np.ndarray, objective: float, rcond: float = 1e-10) -> np.ndarray:
    """1-sigma errors sqrt(diag((J^T J)^-1) s^2), s^2 = max(1, objective / (N - p)).

    Columns are normalised first. A zero column (e.g. E at E = 0, where the curve is even in E)
    and directions of J^T J with eigenvalue below rcond x the largest are undetermined: the
    inverse is taken on the others, and a parameter with weight > 1e-6 on an undetermined
    direction gets NaN.
    """
    n, p = jac.shape
    s2 = max(1.0, objective / max(n - p, 1))
    norms = np.linalg.norm(jac, axis=0)
    live = norms > 1e-9 * max(float(norms.max()), 1e-300)
    out = np.full(p, np.nan)
    if not live.any():
        return out
    jn = jac[:, live] / norms[live]  # columns of unit norm: the eigenvalue cut is scale-free
    w, v = np.linalg.eigh(jn.T @ jn)
    small = w <= rcond * max(float(w.max()), 1e-300)
    inv = np.where(small, 0.0, 1.0 / np.where(small, 1.0, w))
    var = (v**2) @ inv
    undetermined = (v[:, small] ** 2).sum(axis=1) > 1e-6
    out[live] = np.where(undetermined, np.nan, np.sqrt(var * s2) / norms[live])
    return out


def _solutions(problem, theta, ok, obj, rss, jac, jdata, within) -> tuple[Solution, ...]:
    from lfjax.engines.modes import distinct_optima

    finite = np.isfinite(obj) & np.all(np.isfinite(theta), axis=1)
    idx = np.nonzero(finite)[0]
    if idx.size == 0:
        return ()
    best = float(np.min(obj[idx]))
    ns = np.asarray([c.n for c in problem.curves])
    errors = {int(i): errors_from_jacobian(jac[i], float(obj[i])) for i in idx}
    near = [int(i) for i in idx if -(obj[i] - best) / 2 >= -within]
    kept = distinct_optima(problem, theta, obj, near, errors, jdata)
    out = []
    for i in kept:
        out.append(Solution(theta=theta[i], errors=errors[i], objective=float(obj[i]),
                            rms_rel_residual=np.sqrt(rss[i] / ns), rms_rel_overall=float(np.sqrt(rss[i].sum() / ns.sum())),
                            dlogL=float(-(obj[i] - best) / 2), converged=bool(ok[i])))
    return tuple(out)
