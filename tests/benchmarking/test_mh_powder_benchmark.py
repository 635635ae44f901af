"""The powder M(H) benchmark at tiny size: all three implementations agree, the accuracy table holds."""

import numpy as np
import pytest

from lfjax.benchmarking import _mcphase, mh_powder
from lfjax.physics import ion


@pytest.fixture(scope="module")
def report():  # ~30 s on 2 cores (five compiles, a 1088-direction float64 reference)
    return mh_powder.run(n_curves=4, n_loop=1, n_prior=3, n_hard=2)


@pytest.mark.slow
def test_three_implementations_agree_with_float64_and_report_rates(report):
    rows = report["rows"]
    expected = {"lfjax", "lfjax_jaxlib_eigh", "plain_jnp", "numpy_loop", "lfjax_6x18"}
    assert set(rows) == expected | ({"mcphase"} if _mcphase.available() else set())
    assert rows["lfjax"]["directions"] == rows["lfjax_jaxlib_eigh"]["directions"] == report["rule"]["wedge_directions"] == 32
    assert report["host_eigh_threads"] >= 1
    assert rows["lfjax_6x18"]["directions"] == 24
    hemisphere = report["rule"]["n_theta"] * report["rule"]["n_phi"]
    assert rows["plain_jnp"]["directions"] == rows["numpy_loop"]["directions"] == hemisphere == 8 * 18
    for row in rows.values():
        assert row["curves_per_s"] > 0 and row["seconds"] > 0
    # the full hemisphere at the same resolution is the same rule: the baselines agree with lfjax
    assert rows["numpy_loop"]["max_rel_diff_vs_f64"] < 1e-9
    if _mcphase.available():  # McPhase's own code on the same hemisphere rule; its constants differ at 1e-6
        assert rows["mcphase"]["directions"] == hemisphere and rows["mcphase"]["max_rel_diff_vs_f64"] < 3e-5
        assert report["speedup_vs_mcphase"] == pytest.approx(rows["lfjax"]["curves_per_s"] / rows["mcphase"]["curves_per_s"])
    assert rows["lfjax"]["max_rel_diff_vs_f64"] < 1e-4 and rows["plain_jnp"]["max_rel_diff_vs_f64"] < 1e-4
    assert len(report["loadavg_start"]) == 3 and len(report["loadavg_end"]) == 3


@pytest.mark.slow
def test_accuracy_classes_within_bound(report):
    acc = report["accuracy"]
    assert set(acc) == {"prior_500K", "ising", "weak_30K", "moderate_100K"}
    for label in ("prior_500K", "ising", "weak_30K"):
        assert acc[label]["max_quadrature_f64"] < mh_powder.BOUND, label
        assert acc[label]["max_end_to_end_f32"] < mh_powder.BOUND, label
        assert len(acc[label]["end_to_end_f32"]) == len(acc[label]["fields_oe"]) == 3
        assert acc[label]["n_above_bound_quadrature_f64"] == 0
        assert np.isfinite(acc[label]["max_quadrature_f64_6x18"])  # the faster rule is reported, not bounded


def test_draws_lie_in_the_prior_and_ising_draws_have_ising_ground_doublets():
    from lfjax.physics.operators import operator_stack, spin_matrices
    from lfjax.physics.presets import prior_ranges

    er = ion("Er")
    classes = mh_powder.draw_classes(er, 50, 20, seed=1)
    bounds = np.array([prior_ranges(er, mh_powder.NAMES)[nm][1] for nm in mh_powder.NAMES])
    for values in classes.values():
        assert np.all(np.abs(values) <= bounds)
    h = np.einsum("np,pij->nij", classes["ising"], operator_stack(er.j, mh_powder.NAMES))
    _, vecs = np.linalg.eigh(h)
    ground = vecs[:, :, :2]
    jz = np.einsum("nia,ij,njb->nab", ground.conj(), spin_matrices(er.j)[2], ground)
    jx = np.einsum("nia,ij,njb->nab", ground.conj(), spin_matrices(er.j)[0], ground)
    g_par = 2 * er.g * np.abs(np.linalg.eigvalsh(jz)[:, 1])
    g_perp = 2 * er.g * np.abs(np.linalg.eigvalsh(jx)[:, 1])
    assert np.all(g_par > 15.0) and np.all(g_perp < 1.0)  # |+-15/2>: g_par -> 2 g J = 18
