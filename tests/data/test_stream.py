"""The on-the-fly stream: float32 curves, the error model, noise, and the normalisation."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.data.config import DataConfig
from lfjax.data.normalise import Normalisation, fit_normalisation
from lfjax.data.stream import make_batch, simulate_chi_t
from lfjax.physics.ions import ion
from lfjax.physics.second_order import chi_t_powder_de


_JITTED = {}


def _batch(key, cfg, n, norm=None):
    """make_batch under jit, compiled once per (cfg, n, norm) (eager dispatch is slow)."""
    fn = _JITTED.setdefault((cfg, n, id(norm)), jax.jit(lambda k: make_batch(k, cfg, n, norm=norm)))
    return fn(key)


def test_float32_stream_agrees_with_float64(x64):
    cfg = DataConfig()
    theta = np.asarray(_batch(jax.random.key(0), cfg, 256)["theta"], np.float64)
    c32 = np.asarray(jax.jit(lambda d, e: simulate_chi_t(cfg, d, e))(theta[:, 0].astype(np.float32), theta[:, 1].astype(np.float32)))
    c64 = np.asarray(chi_t_powder_de(ion("Er3+"), theta[:, 0], theta[:, 1], cfg.temps_k(), dtype=jnp.float64))
    assert c32.dtype == np.float32
    assert np.max(np.abs(c32 - c64) / np.abs(c64)) < 2e-5


def test_batch_applies_error_model_exactly_without_noise():
    cfg = DataConfig(noise_rel=0.0, n_temps=32)
    batch = _batch(jax.random.key(1), cfg, 64)
    theta, chi_t = np.asarray(batch["theta"]), np.asarray(batch["chi_t"])
    clean = np.asarray(simulate_chi_t(cfg, theta[:, 0], theta[:, 1]))
    expected = theta[:, 3:4] * clean + theta[:, 2:3] * cfg.temps_k()[None]
    np.testing.assert_allclose(chi_t, expected, rtol=1e-5)
    assert chi_t.shape == (64, 32)


def test_noise_is_relative_with_the_configured_size():
    cfg = DataConfig(noise_rel=0.003)
    noisy = np.asarray(_batch(jax.random.key(2), cfg, 2000)["chi_t"])
    clean = np.asarray(_batch(jax.random.key(2), dataclasses.replace(cfg, noise_rel=0.0), 2000)["chi_t"])
    rel = noisy / clean - 1
    assert abs(rel.std() - 0.003) < 1e-4


def test_same_key_same_batch_and_fold_in_gives_new_batches():
    cfg = DataConfig(n_temps=16)
    a = _batch(jax.random.key(3), cfg, 8)
    b = _batch(jax.random.key(3), cfg, 8)
    c = _batch(jax.random.fold_in(jax.random.key(3), 1), cfg, 8)
    np.testing.assert_array_equal(a["chi_t"], b["chi_t"])
    assert not np.allclose(a["chi_t"], c["chi_t"])


def test_normalisation_is_global_min_max_and_round_trips():
    cfg = DataConfig(n_temps=16, norm_curves=2000)
    norm = fit_normalisation(cfg, chunk=2000)
    chi_t = np.asarray(_batch(jax.random.key(4), cfg, 2000)["chi_t"])
    x = np.asarray(_batch(jax.random.key(4), cfg, 2000, norm=norm)["x"])
    np.testing.assert_allclose(x, (chi_t - norm.lo) / (norm.hi - norm.lo), rtol=1e-5, atol=1e-6)
    assert -0.1 < x.min() < 0.1 and 0.9 < x.max() < 1.1  # global min-max of a prior sample
    again = fit_normalisation(cfg, chunk=2000)  # fixed key: the same normalisation every time
    assert again.lo == norm.lo and again.hi == norm.hi and np.array_equal(again.x_mean, norm.x_mean)
    back = np.asarray(norm.denormalise(norm.normalise(jnp.asarray(chi_t[:10]))))
    np.testing.assert_allclose(back, chi_t[:10], rtol=1e-5)
    again = Normalisation.from_dict(norm.to_dict())
    assert again.lo == norm.lo and np.array_equal(again.theta_std, norm.theta_std)
    assert again.lo == norm.lo and np.array_equal(again.x_std, norm.x_std)
    assert abs(norm.theta_mean[0]) < 0.3 and abs(norm.theta_std[3] - cfg.sigma_m) < 2e-3
    assert norm.theta_mean[1] > 0.5  # canonical E >= 0: the flow target is folded by default
