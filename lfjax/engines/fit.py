"""Global fit of a measurement set: batched Levenberg-Marquardt from many prior draws, distinct optima.

1. Starts: `n_starts` draws of the ligand-field prior (nuisances at their prior means), plus any
   given starts (the (D, E) wedge-grid modes for the DE preset).
2. Screening and exploration (sets with more than `explore_points` points on some curve): the set
   is thinned to at most `explore_points` per curve (`likelihood.thinned`: log-spaced in T, even
   in H); the starts are the best `n_starts` of `screen x n_starts` prior draws by objective on
   it; every start runs Levenberg-Marquardt to a loose tolerance on it, with one noise pass
   (step 4); the best distinct optima (at most `n_refine`, within `REFINE_MARGIN` of the best's
   objective there) go on to the full data with one more noise pass. Real M(T) runs carry hundreds of points that the search does not need: this is what
   makes many starts affordable on a CPU. Without thinning, every start runs to the final
   tolerance with `noise_passes` passes.
3. Levenberg-Marquardt (`optimistix.LevenbergMarquardt`, float64) over a fixed batch of starts
   in one compiled call (`lax.map`) on the weighted residuals of `likelihood.weighted_residuals`,
   in units of the prior scale of each entry (so B20 and B66 are equally well conditioned), the
   ligand-field parameters through a sine map onto their prior box (`_box_maps`: the uniform
   prior has no mode outside it, so an optimum that wants to leave it stays on its bound). The
   final refinement after an exploration stage profiles (chi_dia, f_m) out in closed form at every
   step (`likelihood.profiled_residuals`: the error model is linear in both), so those runs move
   only the ligand field and lambda and converge in fewer steps. The
   Jacobian is forward-mode through the eigensolver's degeneracy-safe JVP (all columns for about
   the price of one evaluation) for curves at finite field and for axial models; sets with
   zero-field chi curves of other models, whose Van Vleck JVP is costly, use central differences
   (`fd_jvp`, two evaluations per column).
4. Curves without a given noise level: a first pass uses sigma_c = `initial_noise`; sigma_c is
   then set to the best solution's rms relative residual on that curve and every optimum is
   refined again (twice): the fixed point is the profile-likelihood (ML) noise estimate.
   With sigma_c fixed, optima are compared by the objective (log L = -objective / 2 + const).
5. Optima within `within` log-likelihood units of the best are listed once modulo the likelihood's
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

from lfjax.engines import exported
from lfjax.engines import likelihood as lk
from lfjax.engines._batches import in_batches
from lfjax.physics.blocks import is_axial

BATCH = 16
MAX_STEPS = 200
NOISE_FLOOR = 1e-4
FD_STEP = 1e-6
#: (rtol, max_steps) of the exploratory and the final Levenberg-Marquardt runs.
EXPLORE = (1e-5, 40)
FINAL = (1e-6, 60)
#: (rtol, max_steps) of a full-data pass that a noise update and another pass follow.
PROVISIONAL = (1e-5, 20)
#: After a provisional pass, optima with objective above best x (1 + NEAR_MARGIN) + NEAR_SLACK stop.
NEAR_MARGIN = 0.02
NEAR_SLACK = 8.0
#: The final refinement repeats noise passes (at most this many more) until every estimated noise
#: level is within NOISE_RTOL of the rms it produces: then the optimum is also the mode of the
#: noise-integrated posterior `lfjax sample` explores (-(n_c / 2) log RSS_c is the profile of sigma_c).
NOISE_EXTRA_PASSES = 4
NOISE_RTOL = 0.01
#: Exploratory optima refined on the full data are those within this relative margin of the best.
REFINE_MARGIN = 0.25
#: Exploratory optima closer than this (max over theta of |difference| / `Problem.theta_scale`) are
#: one optimum: loose-tolerance copies of the best must not take the places of other basins.
SAME_BASIN = 1e-3
#: Prior draws screened per start: the starts are the best of `SCREEN x n_starts` draws.
SCREEN = 8


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


def batch_size(n: int) -> int:
    """Rows per compiled batch for n starts: the next power of two, at most `BATCH`.

    Padding rows are computed like real ones (`lax.map` runs each in turn), so 4 refinements in a
    batch of 16 would cost 16; powers of two keep the number of compiled shapes small.
    """
    return min(BATCH, 1 << max(0, int(n) - 1).bit_length())


def jacobian_mode(problem: lk.Problem) -> str:
    """"fd" where some chi curve is at zero field and its Van Vleck sum needs an eigensolver (JVP
    costly), else "forward". Axial models take the diagonal path (`physics.blocks`) at zero field,
    whose JVP is cheap: forward mode there is ~5x faster than central differences (simulated
    er3_axial chi T + M(H) set: 8 LM runs of 40 steps 1.5 s against 7.7 s)."""
    zero_field = any(c.kind == "chi" and c.field_oe == 0.0 for c in problem.curves)
    return "fd" if zero_field and not is_axial(problem.spec.stevens_names) else "forward"


def _residual_fn(problem):
    """Weighted residuals of the full theta in prior-scale units u: (fn(u, (data, sigmas)), center, scale)."""
    center = jnp.asarray(problem.theta_center())
    scale = jnp.asarray(problem.theta_scale())

    def fn(u, args):
        data, sigmas = args
        return lk.weighted_residuals(problem, center + scale * u, data, sigmas)

    return (fd_jvp(fn) if jacobian_mode(problem) == "fd" else fn), center, scale


def reduced_index(problem) -> np.ndarray:
    """Entries of theta the Levenberg-Marquardt runs move: all but (chi_dia, f_m), which are profiled."""
    k = problem.n_free
    return np.asarray([i for i in range(problem.n_theta) if i not in (k, k + 1)], dtype=int)


def _profiled_fn(problem):
    """Residuals with (chi_dia, f_m) profiled (`likelihood.profiled_residuals`), in units u of the
    other entries: (fn, to_u(theta), to_theta(u, data, sigmas))."""
    idx = jnp.asarray(reduced_index(problem))
    center = jnp.asarray(problem.theta_center())[idx]
    scale = jnp.asarray(problem.theta_scale())[idx]
    template = jnp.asarray(problem.theta_center())

    def embed(u):
        return template.at[idx].set(center + scale * u)

    def fn(u, args):
        data, sigmas = args
        return lk.profiled_residuals(problem, embed(u), data, sigmas)[0]

    def to_u(theta):
        return (theta[idx] - center) / scale

    def to_theta(u, data, sigmas):
        return lk.profiled_residuals(problem, embed(u), data, sigmas)[1]

    return (fd_jvp(fn) if jacobian_mode(problem) == "fd" else fn), to_u, to_theta


#: How far inside its prior bound (as a fraction of the half-width) a start on or beyond it begins.
BOX_START_MARGIN = 1e-3


def _box_maps(problem, center, scale):
    """(u_of_w, w_of_u) between the LM variables w and the linear units u = (theta - center) / scale.

    The ligand-field prior is uniform on a box, so the posterior has no mode outside it: the free
    entries (the first n_free of u) move as theta = mid + half sin(w), which keeps every LM step in
    the box and lets an optimum settle on a bound; the other entries (nuisances, lambda, with
    Gaussian priors) are w = u. The (D, E) wedge problem keeps w = u (its prior is the wedge's six
    images, not a box). A start on or beyond a bound begins `BOX_START_MARGIN` inside it.
    """
    k = 0 if problem.wedge_d_max_k is not None else problem.n_free
    if k == 0:
        return (lambda w: w), (lambda u: u)
    lo, hi = np.asarray(problem.ranges, float).T
    mid, half = jnp.asarray((lo + hi) / 2), jnp.asarray((hi - lo) / 2)
    c, sc = center[:k], scale[:k]

    def u_of_w(w):
        return w.at[:k].set((mid + half * jnp.sin(w[:k]) - c) / sc)

    def w_of_u(u):
        x = jnp.clip((c + sc * u[:k] - mid) / half, -1 + BOX_START_MARGIN, 1 - BOX_START_MARGIN)
        return u.at[:k].set(jnp.arcsin(x))

    return u_of_w, w_of_u


@functools.partial(jax.jit, static_argnames=("problem", "max_steps", "rtol", "profiled"))
def _solve_batch(problem, max_steps, rtol, profiled, theta0, data, sigmas):
    """LM from each row of theta0 (BATCH, n_theta): (theta (BATCH, n_theta), ok (BATCH,), steps (BATCH,)).

    `profiled`: the runs move the ligand field (and lambda) only; (chi_dia, f_m) are profiled at
    every step, so the starts' nuisance entries are ignored and the returned ones are optimal for
    the returned rest. Used for the final refinement: from the same prior draws the unprofiled
    runs explore better (with f_m held near 1 early on, the ligand field must explain the scale).
    """
    center, scale = jnp.asarray(problem.theta_center()), jnp.asarray(problem.theta_scale())
    if profiled:
        fn, to_u, to_theta = _profiled_fn(problem)
        idx = reduced_index(problem)
        center, scale = center[idx], scale[idx]
    else:
        fn, _, _ = _residual_fn(problem)
        to_u = lambda t: (t - center) / scale  # noqa: E731
        to_theta = lambda u, data, sigmas: center + scale * u  # noqa: E731
    u_of_w, w_of_u = _box_maps(problem, center, scale)
    solver = optx.LevenbergMarquardt(rtol=rtol, atol=rtol)  # w is of order 1 in every entry

    def one(t0):
        sol = optx.least_squares(lambda w, args: fn(u_of_w(w), args), solver, w_of_u(to_u(t0)), args=(data, sigmas),
                                 max_steps=max_steps, throw=False)
        theta = to_theta(u_of_w(sol.value), data, sigmas)
        return theta, sol.result == optx.RESULTS.successful, sol.stats["num_steps"]

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


def solve(problem: lk.Problem, theta0: np.ndarray, data, sigmas, tolerance=FINAL, say=None,
          profiled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """LM from every start (n, n_theta) to `tolerance` (rtol, max_steps); optima and convergence
    flags. `profiled`: (chi_dia, f_m) profiled out (see `_solve_batch`)."""
    rtol, max_steps = tolerance
    t0 = time.perf_counter()
    theta, ok, steps = in_batches(
        lambda t: exported.call("fit.solve", _solve_batch, (problem, max_steps, rtol, profiled), t, data, sigmas),
        theta0, batch_size(len(theta0)))
    if say is not None:
        say(f"  {len(theta)} LM runs on {problem.n_points} points: median {np.median(steps):.0f} steps "
            f"(max {np.max(steps)}), {time.perf_counter() - t0:.1f} s")
    return theta, ok


def diagnose(problem: lk.Problem, theta: np.ndarray, data, sigmas):
    """(objective (n,), rss per curve (n, n_curves), Jacobian (n, N + p, n_theta))."""
    return tuple(in_batches(lambda t: exported.call("fit.diagnose", _diagnose, (problem,), t, data, sigmas), theta,
                            batch_size(len(theta))))


def initial_sigmas(problem: lk.Problem, initial_noise: float) -> np.ndarray:
    return np.asarray([c.noise if c.noise is not None else initial_noise for c in problem.curves], float)


def run_fit(
    problem: lk.Problem,
    data,
    *,
    n_starts: int = 32,
    seed: int = 0,
    extra_starts=None,
    initial_noise: float = 0.01,
    within: float = 2.0,
    noise_passes: int = 2,
    explore_points: int | None = 25,
    n_refine: int = 4,
    screen: int = SCREEN,
    progress=None,
) -> FitResult:
    """Global fit (see the module docstring). Runs in float64.

    Args:
      problem, data: from `likelihood.build`.
      n_starts: LM starts, the best by objective of `screen x n_starts` prior draws (screen = 1:
        plain prior draws); seed: their seed; extra_starts: (m, n_theta) further starts.
      initial_noise: sigma_c of curves without a noise level in the first pass.
      within: list optima with dlogL >= -within.
      explore_points: points per curve of the exploratory fits (None: no exploration stage).
      n_refine: distinct exploratory optima refined on the full data.
      progress: optional callable(message) told about each stage.
    """
    t0 = time.perf_counter()
    say = progress or (lambda message: None)
    with jax.enable_x64(True):
        sigmas = initial_sigmas(problem, initial_noise)
        estimated = tuple(c.noise is None for c in problem.curves)
        explore = explore_points is not None and max(c.n for c in problem.curves) > explore_points
        small, small_data = lk.thinned(problem, data, explore_points) if explore else (problem, data)
        small_jdata = lk.to_jax(small_data)
        starts = np.array(lk.draw_prior(problem, jax.random.key(seed), n_starts * max(screen, 1)))
        k = problem.n_free
        starts[:, k:] = problem.theta_center()[k:]
        if screen > 1:
            obj = objective(small, starts, small_jdata, sigmas)
            starts = starts[np.argsort(np.where(np.isfinite(obj), obj, np.inf))[:n_starts]]
            say(f"screened {n_starts * screen} prior draws on {small.n_points} points: best {n_starts} kept")
        if extra_starts is not None and len(extra_starts):
            starts = np.concatenate([starts, np.asarray(extra_starts, float).reshape(-1, problem.n_theta)])
        n_started = len(starts)
        if explore:
            say(f"exploring from {len(starts)} starts on {small.n_points} of {problem.n_points} points")
            theta, _, sigmas = _passes(small, small_jdata, starts, sigmas, estimated, min(noise_passes, 1),
                                       EXPLORE, say, n_refine)
            starts = theta[_worth_refining(theta, objective(small, theta, small_jdata, sigmas), n_refine, within,
                                           problem.theta_scale())]
            say(f"refining {len(starts)} optima on all {problem.n_points} points")
        jdata = lk.to_jax(data)
        theta, ok, sigmas = _passes(problem, jdata, starts, sigmas, estimated,
                                    min(noise_passes, 1) if explore else noise_passes,
                                    FINAL if explore else (1e-8, MAX_STEPS), say, profiled=explore)
        obj, rss, jac = diagnose(problem, theta, jdata, jnp.asarray(sigmas))
        solutions = _solutions(problem, theta, ok, obj, rss, jac, jdata, within)
    return FitResult(problem=problem, solutions=solutions, sigmas=sigmas, noise_estimated=estimated,
                     n_starts=n_started, n_finite=int(np.isfinite(obj).sum()), wall_s=time.perf_counter() - t0)


@functools.partial(jax.jit, static_argnames=("problem",))
def _objective_batch(problem, theta, data, sigmas):
    return jax.lax.map(lambda t: jnp.sum(lk.weighted_residuals(problem, t, data, sigmas) ** 2), theta)


def objective(problem: lk.Problem, theta: np.ndarray, jdata, sigmas) -> np.ndarray:
    """(n,) objective of each row of theta (float64, inside `jax.enable_x64`)."""
    sig = jnp.asarray(sigmas)
    return in_batches(lambda t: (exported.call("fit.objective", _objective_batch, (problem,), t, jdata, sig),), theta,
                      BATCH)[0]


def _passes(problem, jdata, starts, sigmas, estimated, noise_passes, tolerance, say=None, keep_best=None,
            profiled=False):
    """LM from the starts, then `noise_passes` times: sigma_c of estimated curves := best's rms, refit.

    In the profiled final refinement a pass that a noise update follows stops at `PROVISIONAL`, only
    optima within `NEAR_MARGIN` (relative) + `NEAR_SLACK` of the best's objective go on, and up to
    `NOISE_EXTRA_PASSES` more passes run until the noise levels are self-consistent (`NOISE_RTOL`).

    `keep_best`: refit only that many distinct optima after a noise update. Returns
    (theta (n, n_theta), ok (n,), sigmas (n_curves,)).
    """
    passes = noise_passes if any(estimated) else 0
    first = PROVISIONAL if passes and profiled and tolerance == FINAL else tolerance
    theta, ok = solve(problem, starts, jdata, jnp.asarray(sigmas), first, say, profiled)
    extra = NOISE_EXTRA_PASSES if profiled and passes else 0
    for i in range(passes + extra):
        obj, rss, _ = diagnose(problem, theta, jdata, jnp.asarray(sigmas))
        finite = np.isfinite(obj)
        if not finite.any():
            break
        best = int(np.nanargmin(np.where(finite, obj, np.inf)))
        rms = np.sqrt(rss[best] / np.asarray([c.n for c in problem.curves]))
        new = np.where(estimated, np.maximum(rms, NOISE_FLOOR), sigmas)
        if i >= passes and np.max(np.abs(new / sigmas - 1)) <= NOISE_RTOL:
            break  # the noise levels are the rms of the optimum they produced: the ML fixed point
        sigmas = new
        keep = _distinct_rows(theta, obj, problem.theta_scale())[:keep_best]
        if profiled:  # final refinement: optima far behind the best cannot end within `within` of it
            keep = keep[obj[keep] <= obj[best] * (1 + NEAR_MARGIN) + NEAR_SLACK]
        theta, ok = solve(problem, theta[keep], jdata, jnp.asarray(sigmas), tolerance, say, profiled)
    return theta, ok, sigmas


def _worth_refining(theta, obj, n_refine: int, within: float, scale) -> np.ndarray:
    """Distinct exploratory optima worth a full-data fit: at most n_refine, best first, whose
    thinned-set objective is within `REFINE_MARGIN` of the best's (relative) plus 4 x within."""
    rows = _distinct_rows(theta, obj, scale)
    best = obj[rows[0]]
    keep = [i for i in rows if obj[i] <= best * (1 + REFINE_MARGIN) + 4 * within]
    return np.asarray(keep[:n_refine])


def _distinct_rows(theta, obj, scale) -> np.ndarray:
    """Indices of finite optima, best first, dropping those within `SAME_BASIN` x scale of a better one."""
    order = [i for i in np.argsort(np.where(np.isfinite(obj), obj, np.inf)) if np.isfinite(obj[i])]
    scale = np.asarray(scale, float)
    kept: list[int] = []
    for i in order:
        if all(np.max(np.abs(theta[i] - theta[j]) / scale) > SAME_BASIN for j in kept):
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
