import itertools

import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.errors import ParameterError
from lfjax.physics import chi_axes, chi_t_powder, equivalents, hamiltonian, ion
from lfjax.physics.operators import (
    STEVENS_NAMES,
    operator_stack,
    rotated_stevens_matrix,
    rotation_unitary,
    spin_matrices,
)
from lfjax.physics.presets import prior_ranges, resolve
from lfjax.physics.symmetry_maps import symmetry_group, symmetry_maps

PRESETS = ["DE", "axial", "D4h", "D3d", "D3h", "D2h", "cubic", "general"]
COUNTS = {"DE": 6, "axial": 1, "D4h": 2, "D3d": 2, "D3h": 2, "D2h": 6, "cubic": 1, "general": 24}


def random_rotation(rng):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def rz(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def numpy_hamiltonian(the_ion, spec, theta):
    """H = sum_s (A theta)_s O_s with numpy (independent of lfjax.hamiltonian)."""
    s = spec.array @ theta
    return np.einsum("s,sij->ij", s, operator_stack(the_ion.j, spec.stevens_names))


def moment_along(h, j, b, zeeman_k, temp_k):
    """<J . b> at field energy zeeman_k (K) along unit b, exact diagonalisation in numpy."""
    jb = np.einsum("a,aij->ij", b, np.stack(spin_matrices(j)))
    w, v = np.linalg.eigh(h + zeeman_k * jb)
    p = np.exp(-(w - w.min()) / temp_k)
    return float(np.einsum("n,in,ij,jn->", p, v.conj(), jb, v).real / p.sum())


@pytest.mark.parametrize("j", [6.0, 7.5, 1.0])
def test_rotation_unitary_turns_j(j):
    rng = np.random.default_rng(0)
    jvec = np.stack(spin_matrices(j))
    for r in [random_rotation(rng), np.diag([1.0, -1, -1]), np.diag([-1.0, -1, 1]), rz(np.pi / 2)]:
        u = rotation_unitary(j, r)
        b = rng.normal(size=3)
        assert np.allclose(u @ u.conj().T, np.eye(len(u)), atol=1e-13)
        assert np.allclose(u @ np.einsum("a,aij->ij", b, jvec) @ u.conj().T, np.einsum("a,aij->ij", r @ b, jvec),
                           atol=1e-12)


def test_wigner_matrix_is_a_representation_and_j_independent():
    rng = np.random.default_rng(1)
    r1, r2 = random_rotation(rng), random_rotation(rng)
    w1, w2 = rotated_stevens_matrix(r1), rotated_stevens_matrix(r2)
    assert np.allclose(rotated_stevens_matrix(r1 @ r2), w1 @ w2, atol=1e-9)
    assert np.allclose(rotated_stevens_matrix(r1, j=7.5), w1, atol=1e-9)
    # a turn by alpha about z: O_k^q (q > 0) -> cos(q alpha) O_k^q + (+-) sin(q alpha) O_k^-q
    w = rotated_stevens_matrix(rz(0.3))
    for name in ("B43", "B66", "B21"):
        i, q = STEVENS_NAMES.index(name), int(name[2])
        assert w[i, i] == pytest.approx(np.cos(q * 0.3))
        assert abs(w[STEVENS_NAMES.index(name[:2] + "-" + name[2]), i]) == pytest.approx(abs(np.sin(q * 0.3)))


@pytest.mark.parametrize("name", PRESETS)
def test_group_counts_identity_first_and_closed(name):
    maps = symmetry_maps(name)
    n = len(resolve(name).names)
    assert maps.shape == (COUNTS[name], n, n)
    assert np.array_equal(maps[0], np.eye(n))
    flat = maps.reshape(len(maps), -1)
    for a, b in itertools.product(maps, maps):
        assert np.abs(flat - (a @ b).ravel()).max(axis=1).min() < 1e-9  # closed under composition
    distinct = np.abs(flat[:, None] - flat[None]).max(-1) + np.eye(len(maps))
    assert distinct.min() > 1e-6


def test_de_maps_are_the_six_equivalents():
    maps = symmetry_maps(("D", "E"))
    assert maps.shape == (6, 2, 2)
    # columns: images of (1, 0) and (0, 1) under the relabellings of lfjax.physics.equivalents
    eq = np.stack([equivalents(1.0, 0.0), equivalents(0.0, 1.0)], axis=-1)  # (6, 2, 2)
    for m in maps:
        assert np.abs(eq - m).max(axis=(1, 2)).min() < 1e-12
    for m in eq:
        assert np.abs(maps - m).max(axis=(1, 2)).min() < 1e-12
    assert np.allclose(symmetry_maps("DE"), maps)


def test_d3d_sixty_degree_turn():
    maps = symmetry_maps(("B20", "B40", "B43", "B60", "B63", "B66"))
    assert np.allclose(maps[1], np.diag([1, 1, -1, 1, -1, 1]), atol=1e-12)
    _, rotations = symmetry_group("D3d")
    assert any(np.allclose(r, rz(np.pi / 3)) for r in rotations[1])
    assert not any(np.allclose(r, rz(np.pi / 6)) for rots in rotations for r in rots)  # 30 deg mixes B43 into B4-3


def test_other_presets_expected_maps():
    assert np.allclose(symmetry_maps("D4h")[1], np.diag([1, 1, -1, 1, -1]))  # 45 degrees about z
    assert np.allclose(symmetry_maps("D3h")[1], np.diag([1, 1, 1, -1]))  # 30 degrees about z


def test_directions_filter():
    z_maps = symmetry_maps("DE", directions=["z"])
    assert z_maps.shape == (2, 2, 2) and np.allclose(z_maps[1], np.diag([1, -1]))
    assert symmetry_maps("D2h", directions="z").shape[0] == 2
    assert symmetry_maps("D2h", directions=["x", "z"]).shape[0] == 1
    assert symmetry_maps("D3d", directions=[(0.3, 0.2, 0.9)]).shape[0] == 1
    assert symmetry_maps("D3d", directions="powder").shape[0] == 2
    assert symmetry_maps("D2h", directions=[(1, 1, 1)]).shape[0] == 6  # every axis permutation fixes (1,1,1)
    assert symmetry_maps("D2h", directions=[(1, 1, 0)]).shape[0] == 2  # identity and x <-> y
    with pytest.raises(ParameterError, match="direction"):
        symmetry_maps("DE", directions=["w"])


def test_names_vanishing_for_the_ion_refused():
    with pytest.raises(ParameterError, match="k > 2J"):
        symmetry_maps(("B20", "B60"), ion="Ce")
    assert symmetry_maps(("B20", "B60"), ion="Er").shape == (1, 2, 2)
    ce = symmetry_maps("D3d", ion="Ce")  # preset: B60, B63, B66 dropped, the 60 degree turn remains
    assert ce.shape == (2, 3, 3) and np.allclose(ce[1], np.diag([1, 1, -1]))


def _random_theta(the_ion, name, rng, n):
    ranges = prior_ranges(the_ion, name, scale_k=200.0)
    lo, hi = np.array(list(ranges.values())).T
    return rng.uniform(lo, hi, size=(n, len(lo)))


@pytest.mark.parametrize("name,ion_name", [("DE", "Er"), ("D3d", "Er"), ("D4h", "Dy"), ("D2h", "Tb"),
                                           ("D3h", "Pr"), ("cubic", "Yb"), ("general", "Ho")])
def test_maps_leave_powder_chi_t_and_spectrum_unchanged(name, ion_name, x64):
    the_ion = ion(ion_name)
    spec = resolve(name, the_ion)
    maps = symmetry_maps(name)
    rng = np.random.default_rng(3)
    theta = _random_theta(the_ion, name, rng, 2)  # (2, n)
    images = np.einsum("mij,bj->bmi", maps, theta)  # (2, n_maps, n)
    temps = np.array([1.8, 5.0, 30.0, 300.0])
    stevens = images @ spec.array.T
    params = {s: jnp.asarray(stevens[..., i]) for i, s in enumerate(spec.stevens_names)}
    chit = np.asarray(chi_t_powder(the_ion, params, temps))  # (2, n_maps, n_T)
    assert np.abs(chit / chit[:, :1] - 1).max() < 1e-8
    trace = np.asarray(chi_axes(the_ion, params, temps)).sum(-1)
    assert np.abs(trace / trace[:, :1] - 1).max() < 1e-8
    eig = np.linalg.eigvalsh(np.asarray(hamiltonian(the_ion, params)))
    assert np.abs(eig - eig[:, :1]).max() < 1e-8 * np.abs(eig).max()


@pytest.mark.parametrize("name,ion_name", [("DE", "Er"), ("D3d", "Er"), ("D4h", "Tm"), ("D2h", "Dy"),
                                           ("cubic", "Er"), ("general", "Nd")])
def test_maps_leave_single_crystal_and_powder_m_unchanged(name, ion_name):
    """M along b for map(theta) equals M along R^T b for theta; a powder average over a set of
    directions closed under the group is then unchanged (numpy exact diagonalisation)."""
    the_ion = ion(ion_name)
    spec = resolve(name, the_ion)
    maps, rotations = symmetry_group(name)
    rng = np.random.default_rng(4)
    theta = _random_theta(the_ion, name, rng, 1)[0]
    h0 = numpy_hamiltonian(the_ion, spec, theta)
    dirs = rng.normal(size=(5, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    group_dirs = np.concatenate([np.einsum("rab,db->da", rots, dirs).reshape(-1, 3) for rots in rotations]
                                + [np.einsum("ab,db->da", rots[0].T, dirs) for rots in rotations])
    for zeeman_k, temp_k in ((0.5, 2.0), (30.0, 2.0), (5.0, 50.0)):
        powder0 = np.mean([moment_along(h0, the_ion.j, b, zeeman_k, temp_k) for b in group_dirs])
        for m, rots in zip(maps, rotations):
            h = numpy_hamiltonian(the_ion, spec, m @ theta)
            for b in dirs[:2]:
                ref = moment_along(h0, the_ion.j, rots[0].T @ b, zeeman_k, temp_k)
                assert moment_along(h, the_ion.j, b, zeeman_k, temp_k) == pytest.approx(ref, rel=1e-9, abs=1e-12)
            powder = np.mean([moment_along(h, the_ion.j, b, zeeman_k, temp_k) for b in group_dirs])
            assert powder == pytest.approx(powder0, rel=1e-9)


def test_non_symmetric_map_changes_single_crystal_data():
    """Control: B43 -> -B43 alone (B63 kept) is no symmetry, and is not in the group."""
    the_ion = ion("Er")
    spec = resolve("D3d")
    theta = np.array([1.0, 0.005, 0.2, 1e-4, 0.001, 0.001])
    fake = np.diag([1.0, 1, -1, 1, 1, 1])
    maps = symmetry_maps("D3d")
    assert np.abs(maps - fake).max(axis=(1, 2)).min() > 0.5
    e0 = np.linalg.eigvalsh(numpy_hamiltonian(the_ion, spec, theta))
    e1 = np.linalg.eigvalsh(numpy_hamiltonian(the_ion, spec, fake @ theta))
    assert np.abs(e0 - e1).max() > 1e-3


@pytest.mark.parametrize("name,ion_name", [("D3d", "Er"), ("D4h", "Dy"), ("D3h", "Tm"), ("axial", "Er"),
                                           ("DE", "Er"), ("D2h", "Tb"), ("general", "Nd")])
def test_maps_leave_lfjax_powder_magnetization_unchanged(name, ion_name, x64):
    """The default powder rule of lfjax.magnetization is itself invariant under every map: turns about
    z for the product rules (3-, 4-, 6-fold axes), axis permutations and the 24 cube turns for the
    reduced Lebedev rule (DE, D2h, general)."""
    from lfjax.physics.magnetization import magnetization

    the_ion = ion(ion_name)
    spec = resolve(name)
    maps = symmetry_maps(name)
    theta = _random_theta(the_ion, name, np.random.default_rng(5), 1)[0]
    stevens = (maps @ theta) @ spec.array.T  # (n_maps, m)
    params = {s: jnp.asarray(stevens[:, i]) for i, s in enumerate(spec.stevens_names)}
    temps, fields = np.array([2.0, 2.0, 2.0, 20.0]), np.array([1000.0, 20000.0, 70000.0, 70000.0])
    m = np.asarray(magnetization(the_ion, params, temps, fields))
    assert np.abs(m / m[:1] - 1).max() < 1e-8


@pytest.mark.parametrize("name,ion_name", [("DE", "Er"), ("D2h", "Tb"), ("general", "Er")])
def test_maps_turn_lfjax_single_crystal_magnetization(name, ion_name, x64):
    """M along b for map(theta) equals M along R^T b for theta (lfjax.magnetization, directions as vectors).

    Single-crystal identities behind the powder invariance checked above."""
    from lfjax.physics.magnetization import magnetization

    the_ion = ion(ion_name)
    spec = resolve(name)
    maps, rotations = symmetry_group(name)
    rng = np.random.default_rng(6)
    theta = _random_theta(the_ion, name, rng, 1)[0]
    temps, fields = np.array([2.0, 2.0, 20.0]), np.array([1000.0, 70000.0, 70000.0])
    b = rng.normal(size=3)
    b /= np.linalg.norm(b)
    for m_i, rots in list(zip(maps, rotations))[:6]:
        turned = {s: v for s, v in zip(spec.stevens_names, spec.array @ (m_i @ theta))}
        plain = {s: v for s, v in zip(spec.stevens_names, spec.array @ theta)}
        got = np.asarray(magnetization(the_ion, turned, temps, fields, direction=tuple(b)))
        ref = np.asarray(magnetization(the_ion, plain, temps, fields, direction=tuple(rots[0].T @ b)))
        assert np.allclose(got, ref, rtol=1e-9, atol=1e-12)
