"""The SMC fallback's starting density: draws and density agree, and it is normalised."""

import jax
import numpy as np

import lfjax
from lfjax.engines import likelihood as lk
from lfjax.inference import proposal as prop
from lfjax.io.curves import Curve


def _problem():
    temps = np.geomspace(2.0, 300.0, 8)
    curve = Curve(kind="chi", temps_k=temps, fields_oe=np.zeros(8), values=np.ones(8), label="chi")
    return lk.build([curve], lfjax.model_spec(lfjax.ion("Er3+"), preset="axial"))[0]


def test_fitted_reference_is_a_normalised_density_of_its_draws():
    problem = _problem()
    rng = np.random.default_rng(0)
    lo, hi = np.array(problem.ranges).T
    # "amortized draws": two clusters inside the box, plus chi_dia and f_m near their prior means
    centre = np.where(rng.random(4000)[:, None] < 0.3, lo + 0.2 * (hi - lo), lo + 0.7 * (hi - lo))
    lf = centre + 0.03 * (hi - lo) * rng.normal(size=(4000, lo.size))
    theta_q = np.column_stack([lf, 1e-4 * rng.normal(size=4000), 1 + 0.01 * rng.normal(size=4000)])
    ref = prop.fitted_reference(theta_q, problem, 20000, jax.random.key(1), defensive=0.1)
    assert ref.theta.shape == (20000, problem.n_theta)
    # the draws follow the mixture: 90 % near the clusters, the rest from the prior
    np.testing.assert_allclose(np.median(ref.theta, 0)[-1], 1.0, atol=0.01)
    with jax.enable_x64(True):
        log_r = np.asarray(jax.vmap(ref.log_r)(jax.numpy.asarray(ref.theta)))
        log_p = np.asarray(jax.vmap(lambda t: lk.log_prior(problem, t))(jax.numpy.asarray(ref.theta)))
    log_p = log_p - lk.log_prior_norm(problem)
    assert np.all(np.isfinite(log_r))
    # E_r[prior / r] = integral of the (normalised) prior = 1: draws and density belong together
    ratio = np.exp(log_p - log_r)
    assert abs(ratio.mean() - 1.0) < 4 * ratio.std() / np.sqrt(ratio.size) + 0.01, ratio.mean()
