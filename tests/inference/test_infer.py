"""`lfjax infer` end to end on simulated measurements with known truth (the shipped model)."""

import json

import jax
import numpy as np
import pytest
from typer.testing import CliRunner

from lfjax.cli.main import app
from lfjax.inference.infer import ModelMismatchError, resample, solution_masses
from lfjax.io.writers import write_qd_dat
from lfjax.physics import chi_t_powder, ion
from lfjax.symmetry import de_group, distance, fold


def _dist(a, b):
    return float(distance(de_group(), np.asarray(a, float), np.asarray(b, float)))


runner = CliRunner()
MOLAR_MASS = 500.0


def _measurement(path, d, e, chi_dia, f_m, field_oe=1000.0, seed=0, t_lo=1.8, t_hi=300.0, n=60):
    rng = np.random.default_rng(seed)
    temps = np.sort(np.geomspace(t_lo, t_hi, n) * rng.uniform(0.99, 1.01, n))
    fields = field_oe + rng.normal(0, 0.1, n)
    with jax.enable_x64(True):
        chi_t = np.asarray(chi_t_powder(ion("Er"), {"D": d, "E": e}, temps, field_oe=field_oe))
    chi = (f_m * chi_t / temps + chi_dia) * (1 + 0.003 * rng.normal(size=n))
    write_qd_dat(path, temps, fields, chi * fields * 20e-3 / MOLAR_MASS, mass_mg=20.0, name="sim")
    return path


def test_resample_log_linear_and_extrapolation():
    t = np.geomspace(2.0, 300.0, 30)
    y = 3.0 + 0.5 * np.log(t)
    grid = np.geomspace(1.8, 300.0, 64)
    out, warnings = resample(t, y, grid, "x")
    assert np.allclose(out, 3.0 + 0.5 * np.log(grid))
    assert len(warnings) == 1 and "low-T end" in warnings[0]
    with pytest.raises(ModelMismatchError, match="model needs"):
        resample(t[t > 5], y[t > 5], grid, "x")


def test_solution_masses_share_draws():
    class S:
        def __init__(self, d, e):
            self.values = {"D": d, "E": e}

    draws = np.array([[-6.0, 0.5]] * 70 + [[5.0, 1.6]] * 30)
    masses = solution_masses(draws, [S(5.1, 1.6), S(-6.1, 0.4)])
    assert masses == pytest.approx([0.3, 0.7])


@pytest.mark.parametrize("truth", [(-6.0, 0.8, 0.002, 1.01), (9.0, 1.0, -0.003, 0.98)])
def test_infer_end_to_end(tmp_path, truth):
    d, e, chi_dia, f_m = truth
    data = _measurement(tmp_path / "m.dat", d, e, chi_dia, f_m, seed=int(abs(d)))
    out = tmp_path / "out"
    res = runner.invoke(app, ["infer", str(data), "--molar-mass", str(MOLAR_MASS), "--ion", "Er3+",
                              "--samples", "500", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "± nan" not in res.output  # an undetermined error is named, not printed as nan
    result = json.loads((out / "result.json").read_text())
    assert {"ion", "model", "input", "data", "solutions", "equivalents"} <= set(result)
    assert result["input"]["n_points"] == 60 and result["input"]["field_oe"] == pytest.approx(1000, abs=1)
    sols = result["solutions"]
    best = sols[0]
    for key in ("D_K", "E_K", "D_err_K", "E_err_K", "chi_dia_emu_per_mol", "f_m", "posterior_mass", "rms_rel_residual"):
        assert key in best
    # the truth (any equivalent) is among the solutions, within 3 sigma or 1 K
    near = [s for s in sols if _dist((s["D_K"], s["E_K"]), (d, e)) < 1.0]
    assert near, sols
    # every comparably good fit is listed, and no better one is missed by the grid
    assert all(s["delta_log_likelihood"] <= 1e-9 for s in sols)
    assert sum(s["posterior_mass"] for s in sols) == pytest.approx(1.0)
    assert sorted(p.name for p in out.iterdir()) == ["fit.png", "posterior.png", "result.json", "samples.csv", "vae.png"]
    rows = np.loadtxt(out / "samples.csv", delimiter=",", skiprows=1)
    assert rows.shape == (500, 6)
    np.testing.assert_allclose(rows[:, 4:], fold(de_group(), rows[:, :2]), atol=1e-4)  # canonical columns
    assert result["posterior"]["n_samples"] == 500 and len(result["equivalents"]) == 6


def test_infer_figures_show_the_draws_the_neighbours_and_the_fits(tmp_path):
    from lfjax.inference.infer import InferConfig, run_infer
    from lfjax.inference.infer_report import VAE_NEIGHBOURS, figures
    from lfjax.io.readers import ReaderOptions

    data = _measurement(tmp_path / "m.dat", -6.0, 0.8, 0.002, 1.01, seed=6)
    result = run_infer(InferConfig(data=data, samples=300, reader=ReaderOptions(molar_mass_g_per_mol=MOLAR_MASS)))
    figs = figures(result)
    post = figs["posterior.png"].axes[0]
    draws, crosses = post.collections[:2]
    assert len(draws.get_offsets()) == 300 and post.get_xlabel() == "D (K)" and post.get_ylabel() == "E (K)"
    np.testing.assert_allclose(np.sort(np.asarray(draws.get_offsets()), axis=0), np.sort(result.samples[:, :2], axis=0),
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(crosses.get_offsets()), result.equivalents)
    vae = figs["vae.png"].axes[0]
    assert len(vae.collections[0].get_offsets()) == VAE_NEIGHBOURS
    top = figs["fit.png"].axes[0]
    m = result.measurement
    assert len(top.lines) == 1 + min(4, len(result.solutions))
    np.testing.assert_allclose(top.lines[0].get_xdata(), m.temps_k)
    np.testing.assert_allclose(top.lines[1].get_ydata(), m.chi_t_emu_k_per_mol * (1 + result.solutions[0].residuals_rel))
    assert top.get_legend().get_texts()[1].get_text().startswith("#1 D=")


def test_wrong_ion_and_bad_range_exit_2_and_write_nothing(tmp_path):
    data = _measurement(tmp_path / "m.dat", -6.0, 0.8, 0.0, 1.0)
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").write_text("old")
    res = runner.invoke(app, ["infer", str(data), "--molar-mass", "500", "--ion", "Dy3+", "--out", str(out)])
    assert res.exit_code == 2 and "trained for Er3+" in res.stderr and "lfjax fit" in res.stderr
    narrow = _measurement(tmp_path / "n.dat", -6.0, 0.8, 0.0, 1.0, t_lo=20.0)
    res = runner.invoke(app, ["infer", str(narrow), "--molar-mass", "500", "--out", str(out)])
    assert res.exit_code == 2 and "model needs" in res.stderr, res.stderr
    res = runner.invoke(app, ["infer", str(data), "--out", str(out)])
    assert res.exit_code == 2 and "molar" in res.stderr.lower(), res.stderr
    assert (out / "result.json").read_text() == "old" and sorted(p.name for p in out.iterdir()) == ["result.json"]


def test_infer_imports_no_training_code_and_no_optimiser(tmp_path):
    import subprocess
    import sys

    data = _measurement(tmp_path / "m.dat", -6.0, 0.8, 0.0, 1.0)
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from lfjax.cli.main import app\n"
        f"r = CliRunner().invoke(app, ['infer', {str(data)!r}, '--molar-mass', '500', '--samples', '100',\n"
        f"                              '--no-grid-check', '--out', {str(tmp_path / 'out')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('lfjax.training', 'optax')))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "result.json").is_file()
