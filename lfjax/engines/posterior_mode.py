"""Mode of the noise-integrated posterior, from a fit's optimum, by damped Newton steps.

`lfjax sample` scores a curve c without a given noise level with sigma_c integrated out:
  -log post(theta) = sum_c (n_c / 2) log RSS_c(theta) + |p(theta)|^2 / 2 + known-noise terms,
with RSS_c the sum of squared relative residuals r_c and p the nuisance prior residuals. The fit's
optimum is this mode only once the noise levels are self-consistent (sigma_c^2 = RSS_c / n_c),
which noise passes approach slowly where one curve gains weight at every pass. Here, in the
prior-scale units u of `Problem.theta_scale`, with J_c = d r_c / du:
  gradient  g = sum_c (n_c / RSS_c) J_c^T r_c + P^T p
  Hessian   H = sum_c [(n_c / RSS_c) J_c^T J_c - (2 n_c / RSS_c^2) (J_c^T r_c)(J_c^T r_c)^T] + P^T P
(Gauss-Newton in each residual; the rank-one terms are the dependence of sigma_c on theta), and
steps (H + mu diag(H_gn)) du = -g with mu raised until the log posterior increases.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.engines import exported
from lfjax.engines import likelihood as lk

MAX_ITER = 10
#: Stop when the log posterior gains less than this in a step.
TOL = 1e-3
DAMPING = (0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


@functools.partial(jax.jit, static_argnames=("problem",))
def _residual_parts(problem, theta, jdata):
    """Per-curve relative residuals and the nuisance prior residuals at one theta (jitted: the
    eager calls cost ~0.1 s each, and polish makes dozens)."""
    return lk.relative_residuals(problem, theta, jdata), lk.prior_residuals(problem, theta)


def _log_post(problem, theta, jdata) -> float:
    from lfjax.engines import importance

    # one row, not `importance.log_target`'s chunks of CHUNK rows
    ll, lp = exported.call("importance.log_target", importance._log_target, (problem,), jnp.asarray(theta)[None], jdata)
    return float(ll[0] + lp[0])


def newton_system(problem, theta, jdata):
    """(gradient g (n_theta,), Hessian H, its Gauss-Newton part) of -log post in prior-scale units."""
    from lfjax.engines import fit as ef

    ones = jnp.ones(len(problem.curves))
    _, _, jac = ef.diagnose(problem, np.asarray(theta)[None], jdata, ones)  # sigma_c = 1: d r / d theta
    jac = jac[0] * problem.theta_scale()[None, :]
    rel, prior = exported.call("posterior_mode.residuals", _residual_parts, (problem,), jnp.asarray(theta), jdata)
    rel, prior = [np.asarray(r) for r in rel], np.asarray(prior)
    jp = jac[sum(c.n for c in problem.curves):]
    g, h_gn, rank_one = jp.T @ prior, jp.T @ jp, np.zeros_like(jp.T @ jp)
    start = 0
    for info, r in zip(problem.curves, rel):
        j = jac[start:start + info.n]
        start += info.n
        jr = j.T @ r
        rss = float(r @ r)
        w = 1.0 / info.noise**2 if info.noise is not None else info.n / rss
        g = g + w * jr
        h_gn = h_gn + w * j.T @ j
        if info.noise is None:
            rank_one = rank_one + 2 * info.n / rss**2 * np.outer(jr, jr)
    return g, h_gn - rank_one, h_gn


#: Relative margin (of each box width) that `into_box` keeps from the prior bounds.
BOX_MARGIN = 1e-6


def into_box(problem: lk.Problem, theta: np.ndarray) -> np.ndarray:
    """theta with its free parameters clipped into their prior box (a margin inside each bound)."""
    out = np.array(theta, float)
    for i, (lo, hi) in enumerate(problem.ranges):
        pad = BOX_MARGIN * (hi - lo)
        out[i] = np.clip(out[i], lo + pad, hi - pad)
    return out


def polish(problem: lk.Problem, theta: np.ndarray, jdata, max_iter: int = MAX_ITER) -> tuple[np.ndarray, float, int]:
    """(theta at the mode of the noise-integrated posterior near `theta`, log posterior there, Newton
    steps taken). float64."""
    theta = np.asarray(theta, float)
    scale = problem.theta_scale()
    with jax.enable_x64(True):
        best = _log_post(problem, theta, jdata)
        if not np.isfinite(best) and problem.wedge_d_max_k is None and problem.n_free:
            # a least-squares optimum outside the prior box: start from its projection into the box
            theta = into_box(problem, theta)
            best = _log_post(problem, theta, jdata)
        for it in range(max_iter):
            g, h, h_gn = newton_system(problem, theta, jdata)
            for mu in DAMPING:
                try:
                    du = np.linalg.solve(h + mu * np.diag(np.diag(h_gn)), -g)
                except np.linalg.LinAlgError:
                    continue
                trial = theta + scale * du
                value = _log_post(problem, trial, jdata)
                if np.isfinite(value) and value > best:
                    break
            else:
                return theta, best, it
            gain = value - best
            theta, best = trial, value
            if gain < TOL:
                return theta, best, it + 1
    return theta, best, max_iter
