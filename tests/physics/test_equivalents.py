import numpy as np

from lfjax.physics import apply_errors, canonical, equivalents
from lfjax.physics.error_model import apply_errors_chi_t


def test_six_maps_form_a_group_orbit(x64):
    rng = np.random.default_rng(0)
    d, e = rng.uniform(-15, 15, 50), rng.uniform(-5, 5, 50)
    eq = np.asarray(equivalents(d, e))
    assert eq.shape == (50, 6, 2)
    assert np.allclose(eq[:, 0], np.stack([d, e], -1))
    # the orbit of any member is the same set of six points
    for k in range(6):
        other = np.asarray(equivalents(eq[:, k, 0], eq[:, k, 1]))
        for i in range(50):
            dist = np.abs(other[i][:, None, :] - eq[i][None, :, :]).sum(-1)
            assert np.all(dist.min(axis=1) < 1e-9)


def test_tensor_invariants_preserved(x64):
    d, e = -5.0, 1.2
    eq = np.asarray(equivalents(d, e))
    for dd, ee in eq:
        diag = sorted([-dd / 3 + ee, -dd / 3 - ee, 2 * dd / 3])
        assert np.allclose(diag, sorted([-d / 3 + e, -d / 3 - e, 2 * d / 3]))


def test_canonical_in_wedge_and_unique(x64):
    rng = np.random.default_rng(1)
    d, e = rng.uniform(-15, 15, 200), rng.uniform(-5, 5, 200)
    can = np.asarray(canonical(d, e))
    assert np.all(can[:, 1] >= 0) and np.all(can[:, 1] <= np.abs(can[:, 0]) / 3 + 1e-9)
    eq = np.asarray(equivalents(d, e))
    for k in range(6):
        assert np.allclose(np.asarray(canonical(eq[:, k, 0], eq[:, k, 1])), can, atol=1e-9)
    assert np.allclose(np.asarray(canonical(-4.0, 0.5)), [-4.0, 0.5])


def test_error_model():
    chi = np.ones((2, 5))
    out = np.asarray(apply_errors(chi, np.array([0.01, -0.01]), np.array([1.1, 0.9])))
    assert np.allclose(out[0], 1.11) and np.allclose(out[1], 0.89)
    temps = np.linspace(1, 5, 5)
    assert np.allclose(np.asarray(apply_errors_chi_t(chi * temps, temps, 0.002, 1.0)), temps * 1.002)
