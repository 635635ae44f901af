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


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_mh_sweep_matches_library_magnetization(tmp_path):
    import jax
    import numpy as np

    from lfjax.constants import NA_MUB_EMU_PER_MOL
    from lfjax.physics.magnetization import magnetization

    out, plot = tmp_path / "mh.csv", tmp_path / "mh.png"
    res = runner.invoke(app, ["simulate", "--preset", "D3d", "--param", "B20=-1.2", "--param", "B43=0.04",
                              "--mh", "--temp", "2,5", "--fields", "0:70000:10000", "--chi-dia", "-0.001",
                              "--f-m", "0.97", "--output", str(out), "--plot", str(plot)])
    assert res.exit_code == 0, res.output
    rows = _rows(out.read_text())
    assert [r["T_K"] for r in rows] == ["2"] * 8 + ["5"] * 8
    fields = np.array([float(r["H_Oe"]) for r in rows])
    assert np.allclose(fields[:8], np.arange(0, 70001, 10000))
    with jax.enable_x64(True):
        m = np.asarray(magnetization(ion("Er"), {"B20": -1.2, "B43": 0.04}, np.repeat([2.0, 5.0], 8), fields))
    m_exp_emu = 0.97 * NA_MUB_EMU_PER_MOL * m - 0.001 * fields
    assert np.allclose([float(r["M_emu_per_mol"]) for r in rows], m_exp_emu, rtol=1e-8, atol=1e-8)
    assert np.allclose([float(r["M_muB_per_ion"]) for r in rows], m_exp_emu / NA_MUB_EMU_PER_MOL, rtol=1e-8,
                       atol=1e-10)
    assert rows[0]["chi_emu_per_mol"] == ""  # M / H undefined at H = 0
    assert float(rows[1]["chi_emu_per_mol"]) == pytest.approx(float(rows[1]["M_emu_per_mol"]) / 10000)
    # Er3+ at 2 K and 7 T: well below the free-ion moment g J = 9 mu_B, growing with field
    moments = [float(r["M_muB_per_ion"]) for r in rows[:8]]
    assert 3 < moments[-1] < 9 and all(np.diff(moments) > 0)
    assert plot.stat().st_size > 1000


def test_preset_applies_cubic_constraint_and_names():
    res = runner.invoke(app, ["simulate", "--preset", "cubic", "--param", "B40=0.01", "--param", "B60=1e-5",
                              "--temps", "2,30"])
    explicit = runner.invoke(app, ["simulate", "--param", "B40=0.01", "--param", "B44=0.05", "--param", "B60=1e-5",
                                   "--param", "B64=-2.1e-4", "--temps", "2,30"])
    assert res.exit_code == 0, res.output
    assert res.stdout == explicit.stdout
    row = _rows(res.stdout)[0]
    assert float(row["chi_x"]) == pytest.approx(float(row["chi_z"]), rel=1e-8)  # cubic: isotropic chi
    de = runner.invoke(app, ["simulate", "--preset", "DE", "--param", "D=-5", "--temps", "2,30"])
    plain = runner.invoke(app, ["simulate", "--param", "B20=-1.6666666666666667", "--temps", "2,30"])
    assert de.stdout == plain.stdout


def test_direction_and_mean_field_values():
    import jax
    import numpy as np

    from lfjax.physics.magnetization import chi

    base = ["simulate", "--param", "D=-3", "--param", "E=0.5", "--temps", "2,20"]
    zero = _rows(runner.invoke(app, [*base]).stdout)
    along_z = _rows(runner.invoke(app, [*base, "--direction", "z"]).stdout)
    assert [r["chi_emu_per_mol"] for r in along_z] == [r["chi_z"] for r in zero]
    lam = 0.05
    mf = _rows(runner.invoke(app, [*base, "--direction", "z", "--mean-field", str(lam)]).stdout)
    for r0, r1 in zip(zero, mf):
        chi0 = float(r0["chi_z"])
        assert float(r1["chi_emu_per_mol"]) == pytest.approx(chi0 / (1 - lam * chi0), rel=1e-8)
        assert float(r1["chi_x"]) == pytest.approx(float(r0["chi_x"]) / (1 - lam * float(r0["chi_x"])), rel=1e-8)
    res = runner.invoke(app, [*base, "--direction", "1,1,0", "--field-oe", "5000", "--mean-field", "-0.02"])
    assert res.exit_code == 0, res.output
    with jax.enable_x64(True):
        ref = np.asarray(chi(ion("Er"), {"D": -3.0, "E": 0.5}, np.array([2.0, 20.0]), 5000.0, (1.0, 1.0, 0.0), -0.02))
    assert np.allclose([float(r["chi_emu_per_mol"]) for r in _rows(res.stdout)], ref, rtol=1e-8)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--preset", "C5v", "--param", "B20=1"], "unknown preset"),
        (["--preset", "D3d", "--param", "B22=1"], "not in preset"),
        (["--param", "D=1", "--direction", "up"], "bad direction"),
        (["--param", "D=1", "--direction", "0,0,0"], "bad direction"),
        (["--param", "D=1", "--mh", "--temp", "2", "--fields", "0:70000:0"], "bad field spec"),
        (["--param", "D=1", "--mh", "--temp", "2", "--fields", "10:0:1"], "bad field spec"),
        (["--param", "D=1", "--mh", "--fields", "0:100:10"], "--mh needs"),
        (["--param", "D=1", "--temp", "2"], "belong to M(H)"),
        (["--param", "D=1", "--mh", "--temp", "-2", "--fields", "0:100:10"], "temperatures must be"),
        (["--param", "D=1", "--mean-field", "nan"], "mean field"),
    ],
)
def test_new_flags_bad_input_one_line_exit_2(args, message, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("keep me")
    res = runner.invoke(app, ["simulate", *args, "--output", str(out)])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], res.stderr
    assert out.read_text() == "keep me"


def test_params_csv_with_preset(tmp_path):
    table = tmp_path / "p.csv"
    table.write_text("B40,B60,chi_dia\n0.01,1e-5,0\n-0.02,,0.001\n")
    res = runner.invoke(app, ["simulate", "--preset", "Oh", "--params-csv", str(table), "--temps", "2,30"])
    assert res.exit_code == 0, res.output
    rows = _rows(res.stdout)
    second = runner.invoke(app, ["simulate", "--param", "B40=-0.02", "--param", "B44=-0.1", "--chi-dia", "0.001",
                                 "--temps", "2,30"])
    assert [r["chiT_emu_K_per_mol"] for r in rows[2:]] == [r["chiT_emu_K_per_mol"] for r in _rows(second.stdout)]
