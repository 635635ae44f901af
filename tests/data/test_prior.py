"""The prior: canonical wedge uniform, invariant under the six equivalence maps."""

import jax
import numpy as np

from lfjax.data.config import DataConfig
from lfjax.data.prior import random_equivalent, sample_theta
from lfjax.physics.equivalents import canonical, equivalents
from lfjax.symmetry import sample_wedge


def _hist(de, d_max):
    h, _, _ = np.histogram2d(de[:, 0], de[:, 1], bins=8, range=[[-d_max, d_max], [-d_max / 2, d_max / 2]])
    return h


def test_canonical_wedge_is_uniform():
    de = np.asarray(sample_wedge(jax.random.key(0), 200_000, 15.0))
    assert np.all(np.abs(de[:, 0]) <= 15.0) and np.all(de[:, 1] >= 0) and np.all(de[:, 1] <= np.abs(de[:, 0]) / 3 + 1e-6)
    # uniform area density: |D| has density 2|D|/d_max^2, mean 2 d_max / 3; E/|D| uniform in [0, 1/3]
    assert abs(np.abs(de[:, 0]).mean() - 10.0) < 0.05
    assert abs((de[:, 1] / np.abs(de[:, 0])).mean() - 1 / 6) < 0.002
    assert abs((de[:, 0] > 0).mean() - 0.5) < 0.005


def test_prior_is_invariant_under_the_six_maps():
    cfg = DataConfig()
    theta = np.asarray(sample_theta(jax.random.key(1), 100_000, cfg))
    base = _hist(theta[:, :2], cfg.d_max_k)
    eq = np.asarray(equivalents(theta[:, 0], theta[:, 1]))
    for k in range(6):
        mapped = _hist(eq[:, k], cfg.d_max_k)
        occupied = base > 100
        rel = np.abs(mapped[occupied] - base[occupied]) / np.sqrt(base[occupied])
        assert rel.max() < 5.0, (k, rel.max())  # counts agree within Poisson noise
    # each map's image folds back onto the same canonical point
    can = np.asarray(canonical(theta[:, 0], theta[:, 1]))
    can_k = np.asarray(canonical(eq[:1000, 3, 0], eq[:1000, 3, 1]))
    np.testing.assert_allclose(can_k, can[:1000], atol=1e-4)


def test_random_equivalent_picks_each_map_equally_often():
    de = np.tile(np.array([[-9.0, 1.0]], np.float32), (60_000, 1))
    out = np.asarray(random_equivalent(jax.random.key(2), de))
    eq = np.asarray(equivalents(-9.0, 1.0))
    which = np.argmin(np.abs(out[:, None, :] - eq[None]).sum(-1), axis=1)
    counts = np.bincount(which, minlength=6)
    assert np.all(np.abs(counts - 10_000) < 400), counts


def test_error_model_priors():
    cfg = DataConfig(sigma_dia_emu_per_mol=0.004, sigma_m=0.05)
    theta = np.asarray(sample_theta(jax.random.key(3), 100_000, cfg))
    assert abs(theta[:, 2].std() - 0.004) < 1e-4 and abs(theta[:, 2].mean()) < 1e-4
    assert abs(theta[:, 3].std() - 0.05) < 1e-3 and abs(theta[:, 3].mean() - 1) < 1e-3


def test_fold_theta_maps_into_the_wedge_and_keeps_the_curve_parameters():
    from lfjax.data.prior import fold_theta

    theta = np.asarray(sample_theta(jax.random.key(5), 5000, DataConfig()))
    folded = np.asarray(fold_theta(theta))
    assert np.all(folded[:, 1] >= 0) and np.all(folded[:, 1] <= np.abs(folded[:, 0]) / 3 + 1e-5)
    np.testing.assert_array_equal(folded[:, 2:], theta[:, 2:])
    # the folded pair is one of the six equivalents of the drawn pair
    eq = np.asarray(equivalents(theta[:, 0], theta[:, 1]))
    assert np.all(np.min(np.abs(eq - folded[:, None, :2]).sum(-1), axis=1) < 1e-4)
