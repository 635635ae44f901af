"""`lfjax infer` with its saved solvers: written on the first run, read on the next, and a damaged
cache never fails the command (it traces again, with at most one warning line)."""

import json
import logging

import jax
import numpy as np
import pytest
from typer.testing import CliRunner

from lfjax.cli.main import app
from lfjax.engines import exported
from lfjax.io.writers import write_qd_dat
from lfjax.physics import chi_t_powder, ion

runner = CliRunner()
MOLAR_MASS = 500.0


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The command's saved solvers go to a fresh folder; the in-process table starts empty."""
    target = tmp_path / "exported"
    monkeypatch.setattr(exported, "default_folder", lambda: target)
    exported.forget()
    exported._WARNED[0] = False
    yield target
    exported.forget()
    exported._WARNED[0] = False


def _measurement(path):
    rng = np.random.default_rng(3)
    temps = np.geomspace(1.8, 300.0, 40)
    with jax.enable_x64(True):
        chi_t = np.asarray(chi_t_powder(ion("Er"), {"D": -6.0, "E": 0.8}, temps, field_oe=1000.0))
    chi = (0.99 * chi_t / temps + 0.001) * (1 + 0.003 * rng.normal(size=temps.size))
    fields = np.full(temps.size, 1000.0)
    write_qd_dat(path, temps, fields, chi * fields * 20e-3 / MOLAR_MASS, mass_mg=20.0, name="sim")
    return path


def _solutions(out):
    return [(s["D_K"], s["E_K"], s["chi_dia_emu_per_mol"], s["f_m"], s["rms_rel_residual"])
            for s in json.loads((out / "result.json").read_text())["solutions"]]


def test_damaged_saved_solvers_are_traced_again_with_the_same_result(tmp_path, folder, caplog):
    data = _measurement(tmp_path / "m.dat")
    args = ["infer", str(data), "--molar-mass", str(MOLAR_MASS), "--samples", "100", "--no-grid-check"]
    first = runner.invoke(app, args + ["--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    files = sorted(folder.glob("*" + exported.SUFFIX))
    assert any(p.name.startswith("refine.solve.fast-") for p in files), files
    for i, path in enumerate(files):  # garbage, truncated, empty
        blob = path.read_bytes()
        path.write_bytes([b"junk" * 100, blob[: len(blob) // 3], b""][i % 3])
    exported.forget()  # as a new process would
    with caplog.at_level(logging.WARNING, logger="lfjax"):
        second = runner.invoke(app, args + ["--out", str(tmp_path / "b")])
    assert second.exit_code == 0, second.output
    assert _solutions(tmp_path / "a") == _solutions(tmp_path / "b")
    assert abs(_solutions(tmp_path / "a")[0][0]) == pytest.approx(6.0, abs=1.0)
    assert second.stderr.count("saved solver") <= 1
    assert len([r for r in caplog.records if "saved solver" in r.getMessage()]) == 1, caplog.text
    assert all(p.read_bytes().startswith(exported.MAGIC) for p in files)  # rebuilt
