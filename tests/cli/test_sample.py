"""`lfjax sample`: a tiny run writes samples.csv, result.json and figures; bad input exits 2 with nothing written."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import lfjax
from lfjax.cli.main import app

runner = CliRunner()
ION = lfjax.ion("Er3+")


def _table(tmp_path, d=-7.0, e=0.5, n=12):
    temps = np.geomspace(2.0, 300.0, n)
    with jax.enable_x64(True):
        chi = np.asarray(lfjax.chi(ION, {"D": d, "E": e}, jnp.asarray(temps), 0.0))
    path = tmp_path / "de.csv"
    noise = 1 + 0.003 * np.random.default_rng(0).standard_normal(n)
    np.savetxt(path, np.c_[temps, chi * noise], delimiter=",", header="T_K,chi_emu_per_mol", comments="")
    return path


def test_sample_writes_outputs(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["sample", str(_table(tmp_path)), "--preset", "DE", "--particles", "96",
                              "--mcmc-steps", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    header = (out / "samples.csv").read_text().splitlines()[0]
    assert header == "D,E,chi_dia_emu_per_mol,f_m"
    samples = np.loadtxt(out / "samples.csv", delimiter=",", skiprows=1)
    assert samples.shape == (96, 4)
    assert np.all(samples[:, 1] <= np.abs(samples[:, 0]) / 3 + 1e-9)  # folded to the canonical wedge
    result = json.loads((out / "result.json").read_text())
    assert result["diagnostics"]["betas"][-1] == 1.0
    assert {r["name"] for r in result["posterior"]} == {"D", "E", "chi_dia_emu_per_mol", "f_m"}
    assert result["p_d_negative"] > 0.5
    assert (out / "corner.png").stat().st_size > 0 and (out / "band_1.png").stat().st_size > 0
    derived = result["derived"]  # D = -7 K: an easy axis, the |±15/2> doublet, g_z near 18
    assert list(derived) == ["E1_doublet_k", "E2_doublet_k", "E3_doublet_k", "g1", "g2", "g3"]
    assert 0 < derived["E1_doublet_k"]["mean"] < derived["E2_doublet_k"]["mean"]
    assert derived["g3"]["q05"] <= derived["g3"]["q50"] <= derived["g3"]["q95"] and derived["g3"]["mean"] > 15
    assert "E1_doublet_k" in res.output and "g3" in res.output
    assert (out / "derived.png").stat().st_size > 0


def test_sample_unknown_preset_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["sample", str(_table(tmp_path)), "--preset", "nonsense", "--out", str(out)])
    assert res.exit_code == 2
    assert "nonsense" in res.output and len(res.output.strip().splitlines()) == 1
    assert not out.exists()


def test_sample_importance_route_writes_its_diagnostics(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["sample", str(_table(tmp_path)), "--preset", "DE", "--route", "importance",
                              "--draws", "200", "--starts", "4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    result = json.loads((out / "result.json").read_text())
    assert result["route"] == "importance"
    diag = result["diagnostics"]
    assert diag["n_draws_per_round"] == 200 and 0 < diag["ess"] <= 200 * len(diag["ess_fraction_per_round"])
    assert diag["reliable"] == (diag["ess"] >= 100)
    assert diag["n_components"] >= 6  # each optimum with its six (D, E) images
    samples = np.loadtxt(out / "samples.csv", delimiter=",", skiprows=1)
    assert samples.shape == (200, 4)
    assert result["p_d_negative"] > 0.5  # D = -7 K
    assert "importance sampling" in res.output


def test_sample_unknown_route_exits_2(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["sample", str(_table(tmp_path)), "--route", "mcmc", "--out", str(out)])
    assert res.exit_code == 2 and "--route" in res.output and not out.exists()


def test_sample_plug_in_noise_conditions_on_the_fits_levels(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["sample", str(_table(tmp_path, e=0.0, n=30)), "--preset", "axial", "--route", "importance",
                              "--draws", "200", "--starts", "4", "--plug-in-noise", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "noise levels from the fit" in res.output
    result = json.loads((out / "result.json").read_text())
    assert result["noise_levels"].startswith("plug-in")
    (curve,) = result["curves"]
    # 0.3 % noise on 30 points: the rms at the optimum (5 parameters) is 0.27 % on average
    assert 0.0015 < curve["noise_rel"] < 0.0045


def test_sample_smc_started_from_prior_and_fit_says_so(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["sample", str(_table(tmp_path)), "--preset", "DE", "--route", "smc", "--start", "both",
                              "--particles", "96", "--mcmc-steps", "2", "--starts", "4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    result = json.loads((out / "result.json").read_text())
    assert result["route"] == "smc" and result["diagnostics"]["start"] == "both"
    assert result["diagnostics"]["betas"][-1] == 1.0
    assert result["p_d_negative"] > 0.5  # D = -7 K
    assert np.isfinite(result["diagnostics"]["log_evidence"])


def test_sample_unknown_start_exits_2(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["sample", str(_table(tmp_path)), "--start", "middle", "--out", str(out)])
    assert res.exit_code == 2 and "--start" in res.output and not out.exists()


def test_sample_replicas_pool_runs_and_report_their_agreement(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["sample", str(_table(tmp_path)), "--preset", "DE", "--particles", "64",
                              "--mcmc-steps", "2", "--replicas", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "2 independent runs: log evidence" in res.output
    samples = np.loadtxt(out / "samples.csv", delimiter=",", skiprows=1)
    assert samples.shape == (128, 4)
    rep = json.loads((out / "result.json").read_text())["diagnostics"]["replicas"]
    assert rep["n_runs"] == 2 and len(rep["log_evidence"]) == 2
    assert set(rep["rhat"]) == {"D", "E", "chi_dia_emu_per_mol", "f_m"}
    assert rep["log_evidence_span"] == max(rep["log_evidence"]) - min(rep["log_evidence"])


def test_sample_zero_replicas_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["sample", str(_table(tmp_path)), "--preset", "DE", "--replicas", "0", "--out", str(out)])
    assert res.exit_code == 2
    assert "--replicas" in res.output and len(res.output.strip().splitlines()) == 1
    assert not out.exists()


def test_sample_nested_route_writes_its_diagnostics(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["sample", str(_table(tmp_path)), "--preset", "DE", "--route", "nested", "--live", "64",
                              "--particles", "300", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "nested sampling:" in res.output and "log evidence" in res.output
    result = json.loads((out / "result.json").read_text())
    assert result["route"] == "nested"
    diag = result["diagnostics"]
    assert diag["n_live"] == 64 and diag["log_evidence_sd"] > 0 and diag["ess"] > 50
    assert 0 < len(diag["log_evidence_history"]) <= diag["n_rounds"]
    # the draws come from Metropolis chains started at the nested draws
    assert diag["chains"]["n_chains"] == 64 and diag["chains"]["n_keep"] == 2000 and "Metropolis chains" in res.output
    assert 0 < diag["chains"]["acceptance"] < 1
    # the default model's known noise: (chi_dia, f_m) integrated out, then drawn (columns 3 and 4)
    assert diag["integrated_nuisances"] is True and "integrated out in closed form" in res.output
    samples = np.loadtxt(out / "samples.csv", delimiter=",", skiprows=1)
    assert samples.shape == (300, 4) and result["p_d_negative"] > 0.5


@pytest.mark.parametrize("flag, value", [("--chain-steps", "-1"), ("--regions", "0")])
def test_sample_nested_route_refuses_bad_settings(tmp_path, flag, value):
    out = tmp_path / "out"
    res = runner.invoke(app, ["sample", str(_table(tmp_path)), "--preset", "DE", "--route", "nested", flag, value,
                              "--out", str(out)])
    assert res.exit_code == 2
    assert flag in res.output and len(res.output.strip().splitlines()) == 1
    assert not out.exists()
