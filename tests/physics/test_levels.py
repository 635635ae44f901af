"""Levels and ground-doublet g-values against textbook limits."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import lfjax
from lfjax.physics.levels import ground_g, levels


def test_pure_b20_gives_the_ising_doublet_and_the_quadratic_level_scheme(x64):
    er = lfjax.ion("Er3+")  # J = 15/2, g_J = 6/5
    e = np.asarray(levels(er, {"B20": -1.0}))
    m = np.arange(7.5, -8.0, -1.0)
    expected = np.sort(-(3 * m**2 - 7.5 * 8.5))  # O20 = 3 Jz^2 - J(J+1)
    np.testing.assert_allclose(e, expected - expected[0], atol=1e-9)
    assert np.allclose(e[::2], e[1::2])  # Kramers pairs
    np.testing.assert_allclose(np.asarray(ground_g(er, {"B20": -1.0})), [0.0, 0.0, 2 * 1.2 * 7.5], atol=1e-6)


def test_m_half_doublet_has_the_planar_g_values(x64):
    ce = lfjax.ion("Ce3+")  # J = 5/2, g_J = 6/7: |±1/2> lowest for B20 > 0
    g = np.asarray(ground_g(ce, {"B20": 2.0}))
    np.testing.assert_allclose(g, [6 / 7, 3 * 6 / 7, 3 * 6 / 7], rtol=1e-9)


def test_g_values_are_invariant_under_a_rotation_of_the_field_frame(x64):
    """A D3d field and its 60-degree image (B43, B63 -> -B43, -B63) share levels and g-values."""
    er = lfjax.ion("Er3+")
    p = {"B20": -0.3, "B40": 0.004, "B43": 0.1, "B60": 3e-5, "B63": -8e-4, "B66": 5e-4}
    q = dict(p, B43=-p["B43"], B63=-p["B63"])
    np.testing.assert_allclose(np.asarray(levels(er, p)), np.asarray(levels(er, q)), atol=1e-9)
    np.testing.assert_allclose(np.asarray(ground_g(er, p)), np.asarray(ground_g(er, q)), atol=1e-9)
    # the sum of squared g-values is the trace 2 g_J^2 sum_a Tr(P J_a P J_a): bounded by the
    # |m = J> doublet's 4 g_J^2 J^2 (+ the planar part), and positive
    g = np.asarray(ground_g(er, p))
    assert 0 < np.sum(g**2) <= (2 * 1.2 * 7.5) ** 2 + 1e-9


def test_batched_parameters_give_batched_results(x64):
    er = lfjax.ion("Er3+")
    b20 = jnp.asarray([-1.0, 1.0, -0.5])
    g = np.asarray(ground_g(er, {"B20": b20}))
    e = np.asarray(levels(er, {"B20": b20}))
    assert g.shape == (3, 3) and e.shape == (3, 16)
    np.testing.assert_allclose(g[0], g[2], atol=1e-9)  # the same ground doublet |±15/2>
    assert g[1, 2] == pytest.approx(1.2 * 8, rel=1e-9)  # B20 > 0: |±1/2>, g_perp = g_J (J + 1/2)
    assert g[1, 0] == pytest.approx(1.2, rel=1e-9)  # g_par = 2 g_J m = g_J
