"""The symmetry group of the powder integrand and the wedge rules built on it (numpy brute force)."""

import numpy as np
import pytest

from lfjax.constants import MUB_OVER_KB_K_PER_OE
from lfjax.physics import ion
from lfjax.physics.operators import operator_stack, spin_matrices
from lfjax.physics.sphere import integrand_symmetries, powder_quadrature

D3D = ("B20", "B40", "B43", "B60", "B63", "B66")


def integrand(the_ion, values, names, temp_k, field_oe, dirs):
    """M(b) . b (mu_B/ion) by np.linalg.eigh of H_LF + g mu_B B J.b, float64, per direction (n, 3)."""
    h = np.einsum("p,pij->ij", values, operator_stack(the_ion.j, names))
    jb = np.einsum("da,aij->dij", dirs, np.stack(spin_matrices(the_ion.j)))
    levels, vecs = np.linalg.eigh(h + the_ion.g * MUB_OVER_KB_K_PER_OE * field_oe * jb)
    diag = np.real(np.einsum("dji,djk,dki->di", vecs.conj(), jb, vecs))
    w = np.exp(-(levels - levels[:, :1]) / temp_k)
    return -the_ion.g * np.sum(w * diag, -1) / np.sum(w, -1)


def _random_dirs(n, seed):
    b = np.random.default_rng(seed).normal(size=(n, 3))
    return b / np.linalg.norm(b, axis=1, keepdims=True)


@pytest.mark.parametrize("n_rot, mirror, order", [(3, True, 12), (3, False, 6), (4, True, 16), (6, True, 24),
                                                  (1, False, 2), (2, True, 8)])
def test_group_is_closed_orthogonal_and_of_order_4n(n_rot, mirror, order):
    group = integrand_symmetries(n_rot, mirror)
    assert group.shape == (order, 3, 3)
    assert np.allclose(np.einsum("gab,gcb->gac", group, group), np.eye(3))
    for a in group:
        for b in group:
            assert np.any(np.all(np.isclose(group, a @ b, atol=1e-12), axis=(1, 2)))
    with pytest.raises(ValueError, match="n_rot"):
        integrand_symmetries(0, True)


def test_d3d_integrand_has_the_12_symmetries_and_no_halving_reflection():
    """The wedge phi in [0, pi/3] is a fundamental domain: phi -> pi/3 - phi is no symmetry once B43 or
    B63 is non-zero (it holds when they vanish), while all 12 group maps are (to round-off)."""
    er = ion("Er")
    values = np.array([-0.8, 4e-3, 0.15, -5e-5, 8e-4, 6e-4])  # K; |B43| splits the levels by ~240 K
    dirs = _random_dirs(40, 0)
    halving = np.array([[0.5, np.sqrt(3) / 2, 0.0], [np.sqrt(3) / 2, -0.5, 0.0], [0.0, 0.0, 1.0]])  # phi -> pi/3 - phi
    assert np.allclose(halving @ np.array([np.cos(0.2), np.sin(0.2), 0.0]), [np.cos(np.pi / 3 - 0.2),
                                                                          np.sin(np.pi / 3 - 0.2), 0.0])
    for field in (2e4, 7e4):
        f = integrand(er, values, D3D, 2.0, field, dirs)
        for g in integrand_symmetries(3, True):
            assert np.allclose(integrand(er, values, D3D, 2.0, field, dirs @ g.T), f, rtol=1e-9, atol=1e-12)
        mirrored = integrand(er, values, D3D, 2.0, field, dirs @ halving.T)
        assert np.max(np.abs(mirrored / f - 1)) > 1e-2
    no_odd = values * np.array([1, 1, 0, 1, 0, 1])  # B43 = B63 = 0: the turn by pi/3 is a symmetry
    f = integrand(er, no_odd, D3D, 2.0, 7e4, dirs)
    assert np.allclose(integrand(er, no_odd, D3D, 2.0, 7e4, dirs @ halving.T), f, rtol=1e-9)


@pytest.mark.parametrize("n_rot, n_theta, n_phi", [(3, 6, 18), (3, 8, 18), (4, 12, 24), (6, 12, 24)])
def test_wedge_rule_integrates_invariant_polynomials_as_the_whole_sphere(n_rot, n_theta, n_phi):
    """Group averages of random polynomials of degree <= 10: wedge rule == Lebedev order 47 on the sphere."""
    from scipy.integrate import lebedev_rule

    dirs, w = powder_quadrature(n_rot, True, n_theta, n_phi)
    pts, pw = lebedev_rule(47)
    group = integrand_symmetries(n_rot, True)
    rng = np.random.default_rng(n_rot + n_theta)
    for _ in range(3):
        powers = rng.integers(0, 6, (6, 3))
        powers = powers[powers.sum(1) <= 10]
        coeffs = rng.normal(size=powers.shape[0])

        def invariant(b):  # b (n, 3) -> mean over the group of sum_k c_k prod_a (g b)_a^p_ka
            images = np.einsum("gab,nb->gna", group, b)
            mono = np.prod(images[:, :, None, :] ** powers[None, None], axis=-1)
            return np.mean(mono @ coeffs, axis=0)

        assert np.isclose(np.dot(w, invariant(dirs)), np.dot(pw, invariant(pts.T)) / pw.sum(), rtol=1e-10, atol=1e-12)
