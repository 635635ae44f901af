import numpy as np
import pytest

from lfjax.physics.operators import STEVENS_NAMES, parse_stevens_name, spin_matrices, stevens_operator


@pytest.mark.parametrize("j", [0.5, 1.0, 2.5, 4.0, 7.5, 8.0])
def test_spin_algebra(j):
    jx, jy, jz = spin_matrices(j)
    assert np.allclose(jx @ jy - jy @ jx, 1j * jz)
    assert np.allclose(jx @ jx + jy @ jy + jz @ jz, j * (j + 1) * np.eye(jx.shape[0]))


@pytest.mark.parametrize("name", STEVENS_NAMES)
def test_stevens_hermitian_traceless(name):
    op = stevens_operator(7.5, *parse_stevens_name(name))
    assert np.allclose(op, op.conj().T)
    assert abs(np.trace(op)) < 1e-9 * np.abs(op).max()
    k, q = parse_stevens_name(name)
    assert np.allclose(op.imag, 0) if q >= 0 else np.allclose(op.real, 0)


def test_low_order_forms():
    j = 7.5
    jx, jy, jz = spin_matrices(j)
    x = j * (j + 1)
    eye = np.eye(16)
    assert np.allclose(stevens_operator(j, 2, 0), 3 * jz @ jz - x * eye)
    assert np.allclose(stevens_operator(j, 2, 2), jx @ jx - jy @ jy)
    jp = jx + 1j * jy
    o44 = (np.linalg.matrix_power(jp, 4) + np.linalg.matrix_power(jp.conj().T, 4)) / 2
    assert np.allclose(stevens_operator(j, 4, 4), o44)


def test_o40_diagonal():
    j = 4.0
    m = j - np.arange(9)
    x = j * (j + 1)
    expected = 35 * m**4 - (30 * x - 25) * m**2 + 3 * x * x - 6 * x
    assert np.allclose(np.diag(stevens_operator(j, 4, 0)).real, expected)


@pytest.mark.parametrize("bad", ["B23x", "B8", "B27", "B4-5", "C20"])
def test_bad_names(bad):
    with pytest.raises(ValueError, match="unknown Stevens parameter"):
        parse_stevens_name(bad)
