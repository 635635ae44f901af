"""`lfjax fit`: user errors (one line, exit 2, nothing written) and complete fits of real and example files."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from typer.testing import CliRunner

from lfjax.cli.main import app
from lfjax.io.writers import write_qd_dat

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "lfjax" / "examples"
REAL = "data/real"


def _fit(args):
    return runner.invoke(app, ["fit", *map(str, args)])


def _table(tmp_path, body, name="x.csv"):
    path = tmp_path / name
    path.write_text(body)
    return path


def _segments_file(tmp_path):
    temps = np.concatenate([np.full(4, 2.0), np.geomspace(2, 300, 8), np.geomspace(2, 300, 6)])
    fields = np.concatenate([[8000.0, 6000.0, 4000.0, 2000.0], np.full(8, 1000.0), np.full(6, 2000.0)])
    path = tmp_path / "seg.dat"
    write_qd_dat(path, temps, fields, 1e-3 * fields / temps, mass_mg=5.0)
    return path


BAD_INPUTS = [
    (lambda p: p / "missing.dat", [], "cannot read"),
    (lambda p: _table(p, "T,chiT\n2,5\n0,5\n5,6\n10,7\n20,8\n"), [], "x.csv:3: temperature 0 K is not > 0"),
    (lambda p: _table(p, "T,chiT\n2,5\n5,6\n10,7\n"), [], "only 3 usable points"),
    (lambda p: _table(p, "T,chiT\n2,\n5,\n10,\n20,\n50,\n"), [], "'chiT' is empty"),
    (_segments_file, ["--molar-mass", "300"], "seg.dat holds 3 segments"),
    (_segments_file, ["--field-oe", "1000"], "--molar-mass"),
    (lambda p: _table(p, "T,chiT\n2,5\n5,6\n10,7\n20,8\n50,9\n"), ["--quantity", "volts"], "unknown quantity 'volts'"),
    (lambda p: _table(p, "T,chiT\n2,5\n5,6\n10,7\n20,8\n50,9\n"), ["--ion", "Eu"], "Eu3+ has a J = 0"),
]


@pytest.mark.parametrize("make, extra, message", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, make, extra, message):
    path = make(tmp_path)
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("before")
    fresh = tmp_path / "fresh"
    for out in (existing, fresh):
        result = _fit([path, *extra, "--out", out])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
        assert "Traceback" not in result.output
    assert sorted(p.name for p in existing.iterdir()) == ["keep.txt"]
    assert (existing / "keep.txt").read_text() == "before"
    assert not fresh.exists()


def _read_result(out):
    data = json.loads((out / "result.json").read_text())
    assert mpimg.imread(out / "fit.png").shape == (605, 715, 4)  # a decodable 6.5 x 5.5 in figure at 110 dpi
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporaries left
    return data


@pytest.mark.slow
def test_example_mpms_file_fits_and_writes_result_json(tmp_path):
    out = tmp_path / "out"
    result = _fit([EXAMPLES / "er_simulated_1000oe.dat", "--ion", "Er", "--molar-mass", "650", "--starts", "16",
                   "--out", out])
    assert result.exit_code == 0, result.output
    data = _read_result(out)
    assert data["ion"] == "Er3+" and data["model"] == "least-squares"
    assert data["input"]["field_oe"] == 1000.0 and data["input"]["n_points"] == 54
    assert set(data["input"]) >= {"file", "n_points", "T_range_K", "field_oe", "ions_per_formula", "warnings"}
    sol = data["solutions"]
    assert sol and all(s["posterior_mass"] is None for s in sol)
    assert [s["rms_rel_residual"] for s in sol] == sorted(s["rms_rel_residual"] for s in sol)
    keys = {"D_K", "E_K", "D_err_K", "E_err_K", "chi_dia_emu_per_mol", "f_m", "rms_rel_residual"}
    assert keys <= set(sol[0])
    assert sol[0]["rms_rel_residual"] < 0.005
    assert len(data["equivalents"]) == 6
    assert len(data["data"]["T_K"]) == 54 and len(data["data"]["chiT_emu_K_per_mol"]) == 54


# (file, options, per-ion chi T at 300 K by hand: README of shared/data/real)
REAL_FITS = [
    ("Nd3Sb3Mg2O14_MT_1.8_to_300_5000_oe_53.8_mg.dc.dat", ["--ion", "Nd", "--molar-mass", "1070.60", "--ions-per-formula", "3"], 1.339),
    ("Nd3Sb3Zn2O14_MT_5000_oe.dc.dat", ["--ion", "Nd", "--molar-mass", "1152.75", "--ions-per-formula", "3"], 1.301),
    ("Pr3Sb3Mg2O14.dc.dat", ["--ion", "Pr", "--molar-mass", "1060.60", "--ions-per-formula", "3"], 1.209),
    ("KErSe2_Hparatoplate_12.07.2019.dc.dat", ["--ion", "Er", "--molar-mass", "364.30", "--mass-mg", "0.560",
                                               "--field-oe", "1000"], 6.523717e-5 / (1000 * 0.560e-3 / 364.30) * 299.7307),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, options, expected", REAL_FITS)
def test_real_files_through_lfjax_fit(shared_dir, tmp_path, name, options, expected):
    out = tmp_path / "out"
    result = _fit([shared_dir / REAL / name, *options, "--starts", "4", "--out", out])
    assert result.exit_code == 0, result.output
    data = _read_result(out)
    temps = np.array(data["data"]["T_K"])
    i = int(np.argmin(np.abs(temps - 300)))
    assert data["data"]["chiT_emu_K_per_mol"][i] == pytest.approx(expected, rel=5e-3)
    if name.startswith("KErSe2"):
        assert any("zero field" in w for w in data["input"]["warnings"])
        assert data["input"]["field_oe"] == 1000.0


def test_set_fit_reports_levels_and_ground_g_values(tmp_path):
    import jax
    import jax.numpy as jnp

    import lfjax

    temps = np.geomspace(2.0, 300.0, 12)
    with jax.enable_x64(True):
        chi = np.asarray(lfjax.chi(lfjax.ion("Er3+"), {"B20": -0.5}, jnp.asarray(temps), 0.0))
    path = tmp_path / "ax.csv"
    np.savetxt(path, np.c_[temps, chi], delimiter=",", header="T_K,chi_emu_per_mol", comments="")
    out = tmp_path / "out"
    res = _fit([path, "--preset", "axial", "--starts", "4", "--out", out])
    assert res.exit_code == 0, res.output
    best = json.loads((out / "result.json").read_text())["solutions"][0]
    assert len(best["levels_k"]) == 8 and best["levels_k"][0] == 0.0  # one energy per Kramers doublet
    assert best["levels_k"] == sorted(best["levels_k"])
    assert len(best["g_ground"]) == 3 and best["g_ground"] == sorted(best["g_ground"])
    assert "ground g" in res.output
