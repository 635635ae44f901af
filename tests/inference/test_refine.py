"""Least-squares refinement: it finds fits at least as good as the truth and every grid mode."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax import ion
from lfjax.inference.fit import FitConfig, run_fit
from lfjax.inference.grid import scan
from lfjax.inference.refine import (
    CurveModel,
    FitData,
    Problem,
    covariance,
    full_jacobian,
    refine,
)
from lfjax.io.readers import ReaderOptions
from lfjax.io.writers import write_qd_dat
from lfjax.physics import chi_t_powder
from lfjax.symmetry import de_group, distance


def _dist(a, b):
    return float(distance(de_group(), np.asarray(a, float), np.asarray(b, float)))


#: refine and scan run in float64 (the entry points run_fit / run_infer switch it on themselves)
pytestmark = pytest.mark.usefixtures("x64")
ER = ion("Er3+")
PROBLEM = Problem(ER, ("D", "E", "chi_dia", "f_m"))


def simulated(truth, seed, field_oe=0.0, n=50):
    """An irregular measurement from 1.8 K: (temps, chi T per ion, rss of the truth)."""
    d, e, chi_dia, f_m = truth
    rng = np.random.default_rng(seed)
    temps = np.geomspace(1.8, 300, n) * np.concatenate([[1.0], 1 + rng.uniform(-0.03, 0.03, n - 1)])
    with jax.enable_x64(True):
        exact = np.asarray(chi_t_powder(ER, {"D": d, "E": e}, temps, field_oe=field_oe))
    clean = f_m * exact + chi_dia * temps
    data = clean * (1 + 0.003 * rng.standard_normal(n))
    rss_truth = float(np.sum((clean / data - 1) ** 2))
    return temps, data, rss_truth


def _wedge_starts(n, seed, d_max=15.0):
    rng = np.random.default_rng(seed)
    d = rng.uniform(-d_max, d_max, n)
    return np.stack([d, rng.uniform(0, 1, n) * np.abs(d) / 3], axis=1)


CASES = [
    ((-6.0, 0.4, 0.002, 0.98), 1),
    ((-4.0, 0.15, -0.004, 1.03), 2),  # D < 0, small E: ties with D > 0, E ~ D/3 are common
    ((-9.0, 0.3, 0.003, 0.97), 3),
    ((5.0, 1.5, -0.002, 1.01), 4),
]


def _check_fit(solutions, temps, data, rss_truth, modes):
    assert solutions[0].rss <= rss_truth * (1 + 1e-9)
    assert all(a.rss <= b.rss for a, b in zip(solutions, solutions[1:]))
    for mode in modes:
        assert any(_dist((s.values["D"], s.values["E"]), (mode.d_k, mode.e_k)) <= 0.5
                   for s in solutions), f"grid mode {mode} missing"
    for s in solutions:
        assert 0 <= s.values["E"] <= abs(s.values["D"]) / 3 + 1e-12


@pytest.mark.parametrize("truth, seed", CASES[:1] + [pytest.param(*c, marks=pytest.mark.slow) for c in CASES[1:]])
def test_zero_field_fit_beats_truth_and_lists_every_grid_mode(truth, seed):
    temps, data, rss_truth = simulated(truth, seed)
    grid = scan(ER, temps, data)
    seeds = np.array([[m.d_k, m.e_k] for m in grid.modes])
    solutions = refine(PROBLEM, temps, data, np.zeros_like(temps), np.concatenate([seeds, _wedge_starts(24, seed)]))
    _check_fit(solutions, temps, data, rss_truth, grid.modes)
    best = solutions[0]
    assert best.log_likelihood == pytest.approx(grid.modes[0].log_likelihood, abs=0.5)
    assert np.all(np.isfinite([best.errors["chi_dia"], best.errors["f_m"]]))
    on_mirror = abs(best.values["E"] - abs(best.values["D"]) / 3) < 1e-3
    assert np.isfinite(best.errors["D"]) != on_mirror


@pytest.mark.slow
@pytest.mark.parametrize("truth, seed, field", [((-6.0, 0.4, 0.002, 0.98), 5, 1000.0),
                                                ((-3.0, 0.1, -0.003, 1.02), 6, 2000.0)])
def test_mpms_file_at_finite_field_fits_at_least_as_well_as_truth(tmp_path, truth, seed, field):
    temps, data, rss_truth = simulated(truth, seed, field_oe=field)
    mass_mg, molar = 12.0, 650.0
    moments = data / temps * field * (mass_mg * 1e-3 / molar)
    path = tmp_path / "sim.dat"
    write_qd_dat(path, temps[::-1], np.full(temps.size, field), moments[::-1], mass_mg=mass_mg)
    result = run_fit(FitConfig(data=path, ion="Er", reader=ReaderOptions(molar_mass_g_per_mol=molar), starts=16, seed=seed))
    assert result.measurement.n_points == temps.size
    _check_fit(list(result.solutions), temps, data, rss_truth, result.grid_modes)


@pytest.mark.parametrize("point", [(0.0, 0.0), (-5.0, 0.0), (6.0, 2.0)])
def test_jacobian_is_finite_at_degeneracies_and_mirror_lines(point):
    temps = np.geomspace(2, 300, 8)
    with jax.enable_x64(True):
        data_chi = np.asarray(chi_t_powder(ER, {"D": 1.0, "E": 0.2}, temps))
        for field in (0.0, 1000.0):
            data = FitData(*(jnp.asarray(a) for a in (temps, data_chi, np.full(8, field), np.ones(8), np.ones(8))))
            mode = CurveModel.FIELD if field else CurveModel.ZERO
            res, jac, _ = full_jacobian(PROBLEM, np.array(point), data, mode)
            assert np.all(np.isfinite(res)) and np.all(np.isfinite(jac))
            assert np.any(jac[:, 0] != 0)


def test_mirror_lines_give_undefined_errors():
    temps, data, _ = simulated((-6.0, 0.0, 0.0, 1.0), 8, n=40)
    with jax.enable_x64(True):
        clean = np.asarray(chi_t_powder(ER, {"D": -6.0, "E": 0.0}, temps))
    on_line = refine(PROBLEM, temps, clean, np.zeros_like(temps), np.array([[-6.0, 0.0]]))[0]
    assert on_line.values["E"] < 1e-3 and np.isnan(on_line.errors["E"]) and np.isfinite(on_line.errors["D"])


def test_covariance_marks_undetermined_parameters():
    rng = np.random.default_rng(0)
    jac = rng.standard_normal((20, 3))
    full = covariance(jac, 2.0)
    np.testing.assert_allclose(full, 2.0 * np.linalg.inv(jac.T @ jac), rtol=1e-10)
    jac[:, 1] = 0.0
    cov = covariance(jac, 2.0)
    assert np.isnan(cov[1, 1]) and np.isfinite(cov[0, 0]) and np.isfinite(cov[2, 2])


def test_solver_compiles_once_for_similar_data(x64):
    from lfjax.inference.compiled import TRACES

    counts = []
    for n, n_starts, seed in ((40, 5, 9), (50, 11, 10)):  # both pad to 64 points and 16 starts
        temps, data, _ = simulated((-5.0, 0.5, 0.001, 1.0), seed, n=n)
        refine(PROBLEM, temps, data, np.zeros_like(temps), _wedge_starts(n_starts, seed))
        counts.append(dict(TRACES))
    assert counts[0].get("refine.solve.fast", 0) >= 1
    assert counts[1] == counts[0]  # nothing traced (so nothing compiled) for the second data set


def test_refine_refuses_to_run_in_float32():
    temps, data, _ = simulated((-5.0, 0.5, 0.001, 1.0), 3, n=40)
    with jax.enable_x64(False), pytest.raises(RuntimeError, match="float64"):
        refine(PROBLEM, temps, data, np.zeros_like(temps), _wedge_starts(4, 3))


def test_problem_validation():
    with pytest.raises(ValueError, match="not both"):
        Problem(ER, ("D", "B20"))
    with pytest.raises(ValueError, match="at least one ligand-field"):
        Problem(ER, ("chi_dia", "f_m"))
    with pytest.raises(ValueError, match="unknown parameter"):
        Problem(ER, ("D", "Q7"))


@pytest.mark.slow
def test_stevens_parameters_b20_b22_reproduce_the_d_e_fit():
    temps, data, _ = simulated((-6.0, 0.4, 0.002, 0.98), 7, n=40)
    de = refine(PROBLEM, temps, data, np.zeros_like(temps), _wedge_starts(8, 7))[0]
    bkq = Problem(ER, ("B20", "B22", "chi_dia", "f_m"))
    starts = _wedge_starts(8, 7) / np.array([3.0, 1.0])
    best = refine(bkq, temps, data, np.zeros_like(temps), starts)[0]
    assert best.rss == pytest.approx(de.rss, rel=1e-6)
    assert _dist((3 * best.values["B20"], best.values["B22"]), (de.values["D"], de.values["E"])) < 1e-3


def test_starts_pad_to_few_batch_shapes_with_copies_of_the_first():
    from lfjax.inference.refine import _pad_rows

    for m, rows in ((1, 4), (4, 4), (5, 16), (16, 16), (17, 32), (64, 64)):
        a = np.arange(2.0 * m).reshape(m, 2)
        out = _pad_rows(a)
        assert out.shape == (rows, 2)
        np.testing.assert_array_equal(out[:m], a)
        np.testing.assert_array_equal(out[m:], np.broadcast_to(a[0], (rows - m, 2)))
