import logging

import numpy as np
import pytest

from lfjax.errors import ParameterError
from lfjax.physics import ion
from lfjax.physics.operators import STEVENS_NAMES, stevens_operator
from lfjax.physics.presets import operator_widths, preset, prior_ranges, resolve

D2H = ("B20", "B22", "B40", "B42", "B44", "B60", "B62", "B64", "B66")


@pytest.mark.parametrize(
    "name,expected",
    [
        ("DE", ("D", "E")),
        ("axial", ("B20", "B40", "B60")),
        ("D4d", ("B20", "B40", "B60")),
        ("dinfh", ("B20", "B40", "B60")),
        ("D∞h", ("B20", "B40", "B60")),
        ("s8", ("B20", "B40", "B60")),
        ("D4h", ("B20", "B40", "B44", "B60", "B64")),
        ("c4v", ("B20", "B40", "B44", "B60", "B64")),
        ("D2d", ("B20", "B40", "B44", "B60", "B64")),
        ("C4h", ("B20", "B40", "B44", "B60", "B64")),
        ("D3d", ("B20", "B40", "B43", "B60", "B63", "B66")),
        ("C3V", ("B20", "B40", "B43", "B60", "B63", "B66")),
        ("d3", ("B20", "B40", "B43", "B60", "B63", "B66")),
        ("D3h", ("B20", "B40", "B60", "B66")),
        ("D6h", ("B20", "B40", "B60", "B66")),
        ("C6v", ("B20", "B40", "B60", "B66")),
        ("D2h", D2H),
        ("C2v", D2H),
        ("d2", D2H),
        ("cubic", ("B40", "B60")),
        ("general", STEVENS_NAMES),
    ],
)
def test_preset_names(name, expected):
    assert preset(name) == expected


def test_general_has_all_27_terms():
    assert len(preset("general")) == 27 and len(set(preset("general"))) == 27


def test_unknown_preset_lists_valid_names():
    with pytest.raises(ParameterError) as err:
        preset("C5v")
    for valid in ("DE", "axial", "D4h", "D3d", "D3h", "D2h", "cubic", "general"):
        assert valid in str(err.value)


def test_terms_above_2j_dropped_with_note(caplog):
    with caplog.at_level(logging.INFO, logger="lfjax"):
        names = preset("D3d", ion("Ce"))
    assert names == ("B20", "B40", "B43")  # J = 5/2: no k = 6
    assert "B60" in caplog.text and "k > 2J" in caplog.text
    assert resolve("D3d", ion("Ce")).notes and not resolve("D3d", ion("Er")).notes
    assert preset("D3d", "Pr3+") == preset("D3d") == preset("D3d", "Tm")  # J = 4, 6 keep k = 6
    assert preset("general", ion(1.5, g=2.0)) == ("B20", "B21", "B2-1", "B22", "B2-2")
    with pytest.raises(ParameterError, match="no ligand-field term"):
        preset("cubic", ion(1.5, g=2.0))


def test_cubic_constraint_matrix_and_cubic_invariance():
    spec = resolve("cubic")
    assert spec.stevens_names == ("B40", "B44", "B60", "B64")
    assert np.allclose(spec.array, [[1, 0], [5, 0], [0, 1], [0, -21]])
    # independent check of 5 and -21: the combined operators commute with a 90 degree turn about x,
    # i.e. J_x -> J_x, J_y -> J_z, J_z -> -J_y, written in the |m> basis of J = 6 via exp(-i pi/2 Jx)
    from scipy.linalg import expm

    from lfjax.physics.operators import spin_matrices

    jx = spin_matrices(6.0)[0]
    u = expm(-1j * np.pi / 2 * jx)
    for k, c in ((4, 5.0), (6, -21.0)):
        op = stevens_operator(6.0, k, 0) + c * stevens_operator(6.0, k, 4)
        assert np.abs(u @ op @ u.conj().T - op).max() < 1e-8 * np.abs(op).max()
        wrong = stevens_operator(6.0, k, 0) + (c + 1) * stevens_operator(6.0, k, 4)
        assert np.abs(u @ wrong @ u.conj().T - wrong).max() > 1e-3 * np.abs(wrong).max()


def test_d_e_map_onto_stevens():
    spec = resolve(("d", "E"))
    assert spec.names == ("D", "E") and spec.stevens_names == ("B20", "B22")
    assert np.allclose(spec.array, [[1 / 3, 0], [0, 1]])
    with pytest.raises(ParameterError, match="twice"):
        resolve(("D", "B20"))


def test_prior_ranges_erbium_analytic():
    er = ion("Er")
    ranges = prior_ranges(er, "D3d", scale_k=500.0)
    # O20 = 3 Jz^2 - J(J+1): eigenvalues 105 (m = 15/2) and -63 (m = 1/2), spread 168
    assert ranges["B20"] == pytest.approx((-500 / 168, 500 / 168))
    # O40 spread from its polynomial in m, computed here independently
    m = np.arange(-7.5, 8.5)
    x = 7.5 * 8.5
    o40 = 35 * m**4 - (30 * x - 25) * m**2 + 3 * x * x - 6 * x
    assert ranges["B40"][1] == pytest.approx(500 / np.ptp(o40))
    assert prior_ranges(er, ("D", "E"))["D"][1] == pytest.approx(3 * 500 / 168)


@pytest.mark.parametrize("name", ["D3d", "cubic", "D2h"])
def test_prior_bound_splits_levels_by_scale(name):
    tb = ion("Tb")
    scales = {2: 300.0, 4: 500.0, 6: 800.0}
    ranges = prior_ranges(tb, name, scale_k=scales)
    spec = resolve(name, tb)
    for i, n in enumerate(spec.names):
        theta = np.zeros(len(spec.names))
        theta[i] = ranges[n][1]
        s = spec.array @ theta
        h = sum(v * stevens_operator(tb.j, *divmod_name(sn)) for v, sn in zip(s, spec.stevens_names))
        eig = np.linalg.eigvalsh(h)
        k = int(n[1])
        assert eig[-1] - eig[0] == pytest.approx(scales[k], rel=1e-10)
    widths = operator_widths(tb, name)
    assert set(widths) == set(spec.names)


def divmod_name(name):
    from lfjax.physics.operators import parse_stevens_name

    return parse_stevens_name(name)


def test_prior_ranges_bad_scale():
    with pytest.raises(ParameterError, match="scale_k"):
        prior_ranges(ion("Er"), "axial", scale_k={2: 100.0, 4: 100.0})
    with pytest.raises(ParameterError, match="scale_k"):
        prior_ranges(ion("Er"), "axial", scale_k=-1.0)


def test_frame_cosine_terms_even_under_c2_about_y():
    """The documented frame: C2 about y leaves every q >= 0 term and flips every q < 0 term."""
    from lfjax.physics.operators import rotated_stevens_matrix

    w = rotated_stevens_matrix(np.diag([-1.0, 1.0, -1.0]))
    signs = np.array([-1.0 if "-" in n else 1.0 for n in STEVENS_NAMES])
    assert np.allclose(w, np.diag(signs), atol=1e-10)
    # and every preset's operators commute with the point operations of its group: here the
    # C3 turn about z for D3d (O_k^q with q in {0, 3, 6})
    c, s = np.cos(2 * np.pi / 3), np.sin(2 * np.pi / 3)
    w3 = rotated_stevens_matrix(np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]))
    idx = [STEVENS_NAMES.index(n) for n in preset("D3d")]
    assert np.allclose(w3[np.ix_(idx, idx)], np.eye(len(idx)), atol=1e-10)


def _rz(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


C2Y = np.diag([-1.0, 1.0, -1.0])
RX90 = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
# Rotational generators of each point group in the documented frame (inversion and mirrors act
# on Stevens operators like the rotations I * sigma, so D3h brings C2z = I * sigma_h).
GENERATORS = {
    "axial": [_rz(np.pi / 4), C2Y],  # D4d -> D8 to k <= 6
    "D4h": [_rz(np.pi / 2), C2Y],
    "D3d": [_rz(2 * np.pi / 3), C2Y],
    "D3h": [_rz(2 * np.pi / 3), C2Y, _rz(np.pi)],
    "D2h": [_rz(np.pi), C2Y],
    "cubic": [_rz(np.pi / 2), RX90],
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_preset_is_the_invariant_subspace_of_its_group(name):
    """Independent of the preset table: the operators invariant under the group's generators."""
    from lfjax.physics.operators import operator_stack, rotated_stevens_matrix

    norms = np.linalg.norm(operator_stack(6.0, STEVENS_NAMES).reshape(27, -1), axis=1)
    stack = np.concatenate([norms[:, None] * rotated_stevens_matrix(g) / norms[None, :] - np.eye(27)
                            for g in GENERATORS[name]])
    _, sing, vt = np.linalg.svd(stack)
    invariant = vt[sing < 1e-8].T  # (27, d): null space, stack has >= 27 rows
    spec = resolve(name)
    a = np.zeros((27, len(spec.names)))
    a[[STEVENS_NAMES.index(s) for s in spec.stevens_names]] = spec.array
    a = norms[:, None] * a
    assert invariant.shape[1] == a.shape[1]
    proj = invariant @ invariant.T
    assert np.abs(proj @ a - a).max() < 1e-8 * np.abs(a).max()
