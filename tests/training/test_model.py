"""The trained-model interface on a tiny run, and the shipped default model on an easy curve."""

import jax
import numpy as np
import pytest

from lfjax.data.stream import simulate_chi_t
from lfjax.evaluation.heldout import BANDWIDTH_K
from lfjax.evaluation.metrics import kde_modes
from lfjax.models.trained import load_model
from lfjax.physics.equivalents import equivalents
from lfjax.training import checkpoint as ckpt


@pytest.fixture(scope="module")
def tiny_model(tiny_run):
    return load_model(tiny_run[0])


def test_interface_shapes_and_units(tiny_model, tiny_run):
    m = tiny_model
    assert m.theta_names == ("D", "E", "chi_dia", "f_m") and m.ion.name == "Er3+" and m.field_oe == 0.0
    assert m.temps_k.shape == (16,) and np.isclose(m.temps_k[0], 1.8) and np.isclose(m.temps_k[-1], 300)
    chi_t = np.asarray(simulate_chi_t(m.config.data, np.array([-6.0, 4.0]), np.array([1.0, 0.5])))
    x = m.normalise(chi_t)
    np.testing.assert_allclose(x, (chi_t - m.norm.lo) / (m.norm.hi - m.norm.lo), rtol=1e-6)
    assert m.encode(chi_t).shape == (2, 3)
    rec = m.reconstruct(chi_t)
    assert rec.shape == (2, 16) and np.all(np.abs(rec / chi_t - 1) < 0.5)  # emu K/mol, right scale
    assert m.sample(chi_t[0], 50, key=jax.random.key(0)).shape == (50, 4)
    assert m.sample_batch(chi_t, 30, key=jax.random.key(1)).shape == (2, 30, 4)
    with pytest.raises(ValueError, match="16 points on the model grid"):
        m.encode(np.ones(10))
    # a workdir, the checkpoints folder and a step folder all load the same model
    step = load_model(tiny_run[0] / "checkpoints" / "300")
    np.testing.assert_array_equal(step.encode(chi_t), m.encode(chi_t))


def test_samples_are_symmetrised_over_the_six_maps(tiny_model):
    chi_t = np.asarray(simulate_chi_t(tiny_model.config.data, np.array(-8.0), np.array(0.5)))
    s = tiny_model.sample(chi_t, 6000, key=jax.random.key(2))
    # the six maps are rotations by 120 deg and reflections of (D, sqrt(3) E): equal weight means
    # the six sectors of the hexagonal prior hold equal shares of the draws
    angle = np.arctan2(np.sqrt(3) * s[:, 1], s[:, 0])
    sector = np.floor((angle + np.pi) / (np.pi / 3)).astype(int) % 6
    counts = np.bincount(sector, minlength=6)
    assert np.all(np.abs(counts - 1000) < 150), counts
    assert np.allclose(np.mean(s[:, 1]), 0.0, atol=0.3)


def test_sample_batch_compiles_once_per_shape(tiny_model):
    chi_t = np.asarray(simulate_chi_t(tiny_model.config.data, np.full(3, -5.0), np.full(3, 1.0)))
    # the jitted sampler is shared by every model of one config: an earlier test may have compiled
    # this shape already, so the cache grows by at most one entry, and never on later calls
    before = tiny_model._sample._cache_size()
    tiny_model.sample_batch(chi_t, 20, key=jax.random.key(0))
    first = tiny_model._sample._cache_size()
    assert first - before <= 1
    for i in range(1, 4):
        tiny_model.sample_batch(chi_t, 20, key=jax.random.key(i))
    assert tiny_model._sample._cache_size() == first


def test_latent_bank_and_ood(tiny_model):
    bank = tiny_model.latent_bank()
    assert bank["z"].shape == (20_000, 3) and bank["theta"].shape == (20_000, 4) and bank["chi_t"].shape == (20_000, 16)
    assert np.array_equal(tiny_model.latent_bank()["z"], bank["z"])  # cached, deterministic
    scores = tiny_model.ood_scores(bank["chi_t"][-500:])
    assert scores["flagged"].mean() < 0.05  # in-distribution curves: about 1 % flagged
    weird = bank["chi_t"][-50:] * np.linspace(0.3, 2.0, 16)  # shapes no ligand field produces
    assert tiny_model.ood_scores(weird)["flagged"].mean() > 0.8


def test_missing_or_corrupt_model_is_a_clear_error(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="does not exist"):
        load_model(tmp_path / "nothing")
    (tmp_path / "run" / "checkpoints" / "5" / "meta").mkdir(parents=True)
    with pytest.raises(ckpt.CheckpointError, match="no readable metadata"):
        load_model(tmp_path / "run")


def test_default_model_finds_the_six_equivalents_of_an_easy_curve():
    model = load_model("default")
    d, e = 12.0, 0.5  # a D > 0 curve: sharp in D and E (D < 0 leaves E broad)
    truth = np.asarray(equivalents(d, e))
    chi_t = np.asarray(simulate_chi_t(model.config.data, np.array(d), np.array(e)))
    samples = model.sample(chi_t, 3000, key=jax.random.key(0))
    dist = np.linalg.norm(samples[:, None, :2] - truth[None], axis=-1)  # (n, 6) K
    nearest = dist.argmin(axis=1)
    assert np.mean(dist.min(axis=1) < 1.0) > 0.9  # draws sit on the six equivalents
    counts = np.bincount(nearest, minlength=6)
    assert np.all(counts > 300), counts  # each of the six modes is populated
    mode = kde_modes(samples[None, :, :2], BANDWIDTH_K)[0]
    assert abs(mode[0] - d) < 0.5 and abs(mode[1] - e) < 0.3
    assert abs(np.median(samples[:, 3]) - 1.0) < 0.03 and abs(np.median(samples[:, 2])) < 0.002
