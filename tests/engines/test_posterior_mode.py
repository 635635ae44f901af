"""The noise-integrated posterior's mode: the Newton system against finite differences, and polish."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from _sim import simulate_curves

import lfjax
from lfjax.engines import fit, importance, posterior_mode
from lfjax.engines import likelihood as lk
from lfjax.spec import model_spec

ION = lfjax.ion("Er3+")


def _problem():
    spec = model_spec(ION, preset="axial")
    curves = simulate_curves(ION, {"B20": -0.6, "B40": 0.003, "B60": -2e-5}, n_t=10, n_h=5, seed=0, noise=0.01)
    return lk.build(curves, spec)  # both curves' noise unknown: integrated out by the sampler


def test_gradient_is_that_of_the_log_posterior_and_polish_climbs():
    problem, data = _problem()
    result = fit.run_fit(problem, data, n_starts=8, seed=0, noise_passes=0)  # sigma 1 %: not self-consistent
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        start = result.solutions[0].theta
        scale = problem.theta_scale()

        def neg_log_post(t):
            ll, lp = importance.log_target(problem, t[None], jdata)
            return -float(ll[0] + lp[0])

        g, h, h_gn = posterior_mode.newton_system(problem, start, jdata)
        fd = np.array([(neg_log_post(start + 1e-6 * scale * e) - neg_log_post(start - 1e-6 * scale * e)) / 2e-6
                       for e in np.eye(problem.n_theta)])
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max())
        assert np.all(np.linalg.eigvalsh(h_gn) > 0) and np.allclose(h, h.T)
        theta, value, steps = posterior_mode.polish(problem, start, jdata)
        assert steps >= 1 and value == pytest.approx(-neg_log_post(theta), rel=1e-12)
        assert -neg_log_post(theta) > -neg_log_post(start)
        g_after, _, h_gn_after = posterior_mode.newton_system(problem, theta, jdata)
        # the gain a further Gauss-Newton step predicts (the Newton decrement) is what polish stops at
        before = 0.5 * g @ np.linalg.solve(h_gn, g)
        after = 0.5 * g_after @ np.linalg.solve(h_gn_after, g_after)
        assert after < 0.05 and after < 0.1 * before  # 0.75 -> 0.035 here
