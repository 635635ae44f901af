import csv
import io

import pytest
from typer.testing import CliRunner

from lfjax.cli.main import app
from lfjax.physics import ion

runner = CliRunner()


def test_simulate_stdout_columns():
    result = runner.invoke(app, ["simulate", "--param", "D=-5", "--param", "E=1", "--temps", "2,10,300"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["case", "T_K", "chi_x", "chi_y", "chi_z", "chi_emu_per_mol", "chiT_emu_K_per_mol"]
    assert len(rows) == 3
    last = rows[-1]
    assert float(last["chiT_emu_K_per_mol"]) == pytest.approx(ion("Er").curie_constant, rel=2e-3)
    assert float(last["chi_emu_per_mol"]) * 300 == pytest.approx(float(last["chiT_emu_K_per_mol"]))


def test_simulate_units_and_errors(tmp_path):
    out_k = tmp_path / "k.csv"
    out_cm = tmp_path / "cm.csv"
    runner.invoke(app, ["simulate", "--param", "D=-1.438777", "--temps", "2:20:4", "--output", str(out_k)])
    runner.invoke(app, ["simulate", "--param", "D=-1", "--unit", "cm-1", "--temps", "2:20:4", "--output", str(out_cm)])
    assert out_k.read_text() == out_cm.read_text()
    res = runner.invoke(app, ["simulate", "--param", "D=-1", "--chi-dia", "0.01", "--f-m", "1.0", "--temps", "10",
                              "--field-oe", "1000"])
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert rows[0]["chi_x"] == ""  # axes undefined at finite field


def test_batch_mode(tmp_path):
    table = tmp_path / "p.csv"
    table.write_text("D,E,chi_dia,f_m,field_oe\n-5,1,0,1,0\n3,0.5,0.002,0.98,1000\n")
    out = tmp_path / "o.csv"
    plot = tmp_path / "o.png"
    res = runner.invoke(app, ["simulate", "--params-csv", str(table), "--temps", "2:300:8", "--output", str(out),
                              "--plot", str(plot)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["case"] for r in rows] == ["0"] * 8 + ["1"] * 8
    assert plot.stat().st_size > 1000


@pytest.mark.parametrize(
    "args,message",
    [
        (["--ion", "Xx", "--param", "D=1"], "unknown ion"),
        (["--ion", "Eu3+", "--param", "D=1"], "J = 0"),
        (["--param", "Q=1"], "unknown parameter"),
        (["--param", "D=1", "--temps", "0:10:5"], "temperature"),
        (["--param", "D=1", "--temps", "-3,4"], "temperatures must be"),
        (["--param", "D=1", "--temps-file", "/nonexistent/t.txt"], "cannot read"),
        (["--params-csv", "/nonexistent/p.csv"], "cannot read"),
        (["--param", "D=abc"], "bad value"),
    ],
)
def test_bad_input_one_line_exit_2(args, message, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("keep me")
    res = runner.invoke(app, ["simulate", *args, "--output", str(out)])
    assert res.exit_code == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], res.stderr
    assert out.read_text() == "keep me"
    assert "Traceback" not in res.output
