import numpy as np

from lfjax.inference.posterior_modes import find_modes
from lfjax.physics import equivalents


def _scatter(centres, counts, sigma, seed=0):
    rng = np.random.default_rng(seed)
    pts = np.concatenate([rng.normal(c, sigma, (n, 2)) for c, n in zip(centres, counts)])
    pick = rng.integers(0, 6, len(pts))
    return np.asarray(equivalents(pts[:, 0], pts[:, 1]))[np.arange(len(pts)), pick]


def test_two_modes_found_with_their_mass_from_all_six_equivalents():
    eq = _scatter([(-6.0, 0.5), (5.0, 1.6)], [600, 400], 0.25)
    modes = find_modes(eq[:, 0], eq[:, 1])
    assert len(modes) == 2
    assert abs(modes[0].d_k + 6) < 0.3 and abs(modes[0].e_k - 0.5) < 0.3
    assert abs(modes[1].d_k - 5) < 0.3 and abs(modes[1].e_k - 1.6) < 0.3
    assert abs(modes[0].mass - 0.6) < 0.03 and abs(modes[1].mass - 0.4) < 0.03


def test_mode_on_wedge_edge_is_not_split():
    # E = 0 is a wedge edge: samples with E of both signs fold onto one side
    eq = _scatter([(-8.0, 0.0)], [500], 0.2, seed=2)
    modes = find_modes(eq[:, 0], eq[:, 1])
    assert len(modes) == 1 and modes[0].mass > 0.95


def test_small_clusters_dropped():
    eq = _scatter([(-6.0, 0.5), (9.0, 2.0)], [990, 10], 0.2, seed=3)
    assert len(find_modes(eq[:, 0], eq[:, 1], min_mass=0.02)) == 1
