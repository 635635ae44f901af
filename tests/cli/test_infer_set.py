"""`lfjax infer SET.toml`: the set route of the command, and its choice between the two routes."""

import json
from pathlib import Path

import jax
import numpy as np
import pytest
from typer.testing import CliRunner

from lfjax.cli.infer import _is_single_file_de
from lfjax.cli.main import app
from lfjax.io.writers import write_qd_dat
from lfjax.physics import chi_t_powder, ion

runner = CliRunner()
MOLAR_MASS = 500.0


def _set(tmp_path, n=20):
    temps = np.geomspace(1.8, 300.0, n)
    with jax.enable_x64(True):
        chi_t = np.asarray(chi_t_powder(ion("Er"), {"D": 5.0, "E": 0.5}, temps, field_oe=1000.0))
    chi = (chi_t / temps) * (1 + 0.003 * np.random.default_rng(1).normal(size=n))
    fields = np.full(n, 1000.0)
    write_qd_dat(tmp_path / "m.dat", temps, fields, chi * fields * 20e-3 / MOLAR_MASS, mass_mg=20.0, name="sim")
    toml = tmp_path / "set.toml"
    toml.write_text(f'ion = "Er3+"\nmolar_mass_g_per_mol = {MOLAR_MASS}\n[[data]]\nfile = "m.dat"\nkind = "chi"\n'
                    'field_oe = 1000\nlabel = "chi"\n')
    return toml


def test_routes_of_the_command():
    assert _is_single_file_de([Path("a.dat")], "default")
    assert not _is_single_file_de([Path("a.toml")], "default")
    assert not _is_single_file_de([Path("a.dat"), Path("b.dat")], "default")
    assert not _is_single_file_de([Path("a.dat")], "er3_axial")


@pytest.mark.slow
def test_infer_set_writes_the_route_and_the_ess(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["infer", str(_set(tmp_path)), "--samples", "100", "--route", "importance",
                              "--no-refine", "--out", str(out)])
    assert res.exit_code == 0, res.output
    result = json.loads((out / "result.json").read_text())
    assert result["engine"] == "infer" and result["route"] == "importance" and result["smc"] is None
    imp = result["importance"]
    assert imp["n_draws"] == 100 and 1.0 <= imp["ess"] <= 100.0
    assert imp["ess_fraction"] == imp["ess"] / 100
    assert f"ESS {imp['ess']:.1f} of 100" in res.output and "route: importance" in res.output
    assert result["predictive_rms_rel_percent"]["chi"] < 1.5  # 0.3 % noise
    rows = np.loadtxt(out / "samples.csv", delimiter=",", skiprows=1)
    assert rows.shape == (100, 4)
    assert np.all(rows[:, 1] >= -1e-9) and np.all(rows[:, 1] <= np.abs(rows[:, 0]) / 3 + 1e-9)  # folded wedge
