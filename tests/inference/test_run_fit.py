"""`run_fit` (the library behind `lfjax fit`): precision at the entry point and compile-once solvers."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import matplotlib.image as mpimg
import numpy as np

from lfjax.inference.compiled import TRACES
from lfjax.inference.fit import FitConfig, draw_starts, run_fit
from lfjax.inference.refine import Problem
from lfjax.inference.report import fit_plot, result_dict, write_outputs
from lfjax.physics import chi_t_powder_de, ion
from lfjax.symmetry import de_group, distance, fold

#: Padded to 128 points (refine.PAD = 32): a length no other default test uses, so the first fit below
#: compiles its own shapes and the counts are exact.
N_POINTS = 100


def _csv(path, d, e, chi_dia=0.001, f_m=1.01, seed=0):
    rng = np.random.default_rng(seed)
    temps = np.geomspace(1.8, 300, N_POINTS)
    with jax.enable_x64(True):
        chi_t = np.asarray(chi_t_powder_de(ion("Er3+"), d, e, temps, dtype=jnp.float64))
    y = (f_m * chi_t + chi_dia * temps) * (1 + 0.002 * rng.normal(size=N_POINTS))
    path.write_text("T,chiT\n" + "".join(f"{t:.6g},{v:.8g}\n" for t, v in zip(temps, y)))
    return path


def test_two_fits_of_same_shaped_data_trace_every_function_once(tmp_path):
    assert not jax.config.jax_enable_x64  # run_fit switches float64 on by itself, only inside
    before = dict(TRACES)
    first = run_fit(FitConfig(data=_csv(tmp_path / "a.csv", -7.0, 0.8), starts=8, grid_step_k=0.5))
    after_first = dict(TRACES)
    second = run_fit(FitConfig(data=_csv(tmp_path / "b.csv", 4.0, 1.1, seed=1), starts=8, grid_step_k=0.5))
    assert dict(TRACES) == after_first  # the second fit traced (so compiled) nothing
    new = {k: v - before.get(k, 0) for k, v in after_first.items() if v != before.get(k, 0)}
    # the grid is scanned twice per fit (seeds, completeness check) but its curve function traced once
    assert new.get("grid.de_curves") == 1, new
    assert 1 <= new.get("refine.solve.fast", 0) <= 2, new  # one trace per start-batch shape
    assert not jax.config.jax_enable_x64
    # and the fits are right: the truths are among the solutions (modulo the six equivalents)
    for result, truth in ((first, (-7.0, 0.8)), (second, (4.0, 1.1))):
        found = np.array([[s.values["D"], s.values["E"]] for s in result.solutions])
        assert np.min(distance(de_group(), found, np.array(truth))) < 0.3
    _check_report(first, tmp_path / "out")


def _check_report(result, out):
    """result.json values and the fit figure's content, and the files written all-or-nothing."""
    record = result_dict(result)
    best = result.solutions[0]
    assert record["solutions"][0]["D_K"] == best.values["D"] and record["solutions"][0]["delta_log_likelihood"] == 0
    assert all(r["delta_log_likelihood"] <= 0 for r in record["solutions"])
    eq = np.array(record["equivalents"])
    assert eq.shape == (6, 2)
    np.testing.assert_allclose(fold(de_group(), eq), np.broadcast_to(eq[0], (6, 2)), atol=1e-9)
    fig = fit_plot(result)
    top, bottom = fig.axes
    n_models = min(4, len(result.solutions))
    assert len(top.lines) == 1 + n_models and len(bottom.lines) == n_models + 1  # + the zero line
    m = result.measurement
    np.testing.assert_allclose(top.lines[0].get_ydata(), m.chi_t_emu_k_per_mol)
    np.testing.assert_allclose(top.lines[1].get_ydata(), m.chi_t_emu_k_per_mol * (1 + best.residuals_rel))
    np.testing.assert_allclose(bottom.lines[0].get_ydata(), 100 * best.residuals_rel, atol=1e-9)
    assert top.get_xscale() == "log" and bottom.get_xlabel() == "T (K)" and bottom.get_ylabel() == "residual (%)"
    assert [t.get_text() for t in top.get_legend().get_texts()][1].startswith("#1 D=")
    paths = write_outputs(result, out)
    assert [p.name for p in paths] == ["result.json", "fit.png"] and sorted(p.name for p in out.iterdir()) == [
        "fit.png", "result.json"]
    assert json.loads((out / "result.json").read_text())["solutions"] == json.loads(json.dumps(record["solutions"]))
    assert mpimg.imread(out / "fit.png").shape[:2] == (605, 715)  # 6.5 x 5.5 in at 110 dpi


def test_wedge_starts_are_area_uniform():
    problem = Problem(ion("Er3+"), ("E", "D", "chi_dia", "f_m"))  # columns in field_names order: E, D
    starts = draw_starts(problem, 50_000, 15.0, key=jax.random.key(0))
    e, d = starts[:, 0], starts[:, 1]
    assert np.all((e >= 0) & (e <= np.abs(d) / 3 + 1e-5)) and np.all(np.abs(d) <= 15)
    # area-uniform on the wedge: |D| has density 2|D| / d_max^2 (mean 10 K), E / |D| uniform on [0, 1/3]
    assert abs(np.abs(d).mean() - 10.0) < 0.1 and abs((e / np.abs(d)).mean() - 1 / 6) < 0.003
