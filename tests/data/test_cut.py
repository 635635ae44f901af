"""Curves cut off below a temperature: training draws, masks, network input, a model trained on them."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.data.config import DataConfig
from lfjax.data.cut import CUT_FRACTION, draw_cut, network_input, point_mask
from lfjax.data.normalise import Normalisation
from lfjax.data.stream import make_batch
from lfjax.errors import ModelMismatchError

REPO = Path(__file__).resolve().parents[2]
CFG = DataConfig(preset="axial", scale_k=1000.0, n_temps=16, t_cut_max_k=20.0)


def _norm(cfg):
    n = cfg.n_temps
    return Normalisation(lo=0.0, hi=12.0, x_mean=np.full(n, 0.5, np.float32), x_std=np.full(n, 0.25, np.float32),
                         theta_mean=np.zeros(5, np.float32), theta_std=np.ones(5, np.float32))


def test_cut_draws_are_whole_or_log_uniform_up_to_the_maximum():
    t = np.asarray(draw_cut(jax.random.key(0), CFG, 20000))
    whole = np.isclose(t, CFG.t_min_k)
    assert abs(1 - whole.mean() - CUT_FRACTION) < 0.02
    cut = np.log(t[~whole])
    assert cut.min() >= np.log(CFG.t_min_k) - 1e-6 and cut.max() <= np.log(CFG.t_cut_max_k) + 1e-6
    # log-uniform: the mean of log t is the middle of the log range
    assert abs(cut.mean() - 0.5 * (np.log(CFG.t_min_k) + np.log(CFG.t_cut_max_k))) < 0.03


def test_mask_and_input_hide_exactly_the_points_below_the_cut():
    temps = CFG.temps_k()
    t_cut = np.array([CFG.t_min_k, temps[3], 0.5 * (temps[5] + temps[6])], np.float32)  # 5.0 K, 11.9 K
    mask = np.asarray(point_mask(CFG, t_cut))
    assert mask.shape == (3, 16)
    assert mask[0].all() and mask[1].sum() == 13 and mask[2].sum() == 10 and not mask[2, 5] and mask[2, 6]
    norm = _norm(CFG)
    x = jnp.asarray(np.random.default_rng(0).uniform(0.2, 0.8, (3, 16)), jnp.float32)
    inp = np.asarray(network_input(norm, CFG, x, t_cut))
    assert inp.shape == (3, CFG.n_inputs) == (3, 17)
    feats = np.asarray(norm.features(x))
    np.testing.assert_allclose(inp[:, :16][mask], feats[mask], rtol=1e-6)
    assert np.all(inp[:, :16][~mask] == 0.0)
    # the cut-off's position: 0 for whole curves, rising with the cut
    assert inp[0, -1] == 0.0 and 0 < inp[1, -1] < inp[2, -1] < 1
    # values below the cut do not reach the input
    x2 = x.at[1, :3].set(99.0)
    np.testing.assert_array_equal(np.asarray(network_input(norm, CFG, x2, t_cut)), inp)


def test_models_without_a_cut_range_keep_their_input():
    cfg = DataConfig(preset="axial", n_temps=16)
    norm = _norm(cfg)
    x = jnp.full((2, 16), 0.5)
    assert cfg.n_inputs == 16
    np.testing.assert_array_equal(np.asarray(network_input(norm, cfg, x)), np.asarray(norm.features(x)))
    assert "t_cut_k" not in make_batch(jax.random.key(0), cfg, 4)


def test_batches_carry_their_cuts_and_the_config_checks_the_range():
    batch = make_batch(jax.random.key(1), CFG, 256)
    t = np.asarray(batch["t_cut_k"])
    assert t.shape == (256,) and np.all(t >= CFG.t_min_k - 1e-6) and np.all(t <= CFG.t_cut_max_k + 1e-4)
    assert 0.3 < np.mean(t > CFG.t_min_k * 1.001) < 0.7
    with pytest.raises(ValueError, match="t_cut_max_k"):
        DataConfig(preset="axial", t_cut_max_k=400.0)
    with pytest.raises(ValueError, match="not to DE"):
        DataConfig(t_cut_max_k=10.0)


def test_a_model_trained_on_cut_curves_ignores_what_lies_below_the_cut(tiny_cut_model):
    model = tiny_cut_model
    assert model.t_cut_max_k == 20.0
    bank = model.latent_bank()
    assert bank["t_cut_k"].shape == (len(bank["chi_t"]),)
    curve = bank["chi_t"][0]
    t_cut = float(model.temps_k[6])
    spoiled = curve.copy()
    spoiled[:6] *= 3.0  # a low-temperature drop or rise the model must not see
    a = model.sample(curve, 32, key=0, t_cut_k=t_cut)
    b = model.sample(spoiled, 32, key=0, t_cut_k=t_cut)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.log_prob(curve, a, t_cut_k=t_cut), model.log_prob(spoiled, a, t_cut_k=t_cut))
    ood_a, ood_b = model.ood_scores(curve, t_cut_k=t_cut), model.ood_scores(spoiled, t_cut_k=t_cut)
    assert float(ood_a["recon_rel_rms"]) == pytest.approx(float(ood_b["recon_rel_rms"]))
    # whole curves still work, and see the points the cut hides
    assert not np.array_equal(model.sample(spoiled, 32, key=0), b)
    with pytest.raises(ModelMismatchError, match="cut-off"):
        model.sample(curve, 4, key=0, t_cut_k=50.0)


def test_a_model_of_whole_curves_refuses_a_cut():
    from lfjax.models.trained import load_model

    model = load_model("default")  # the (D, E) model: whole curves
    assert model.t_cut_max_k == 0
    with pytest.raises(ModelMismatchError, match="whole curves"):
        model.encode(np.ones(model.n_points), t_cut_k=10.0)
