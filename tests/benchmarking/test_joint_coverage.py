"""The joint-set calibration benchmark at tiny size: a consistent report, an objective checked in numpy."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.benchmarking import joint_coverage as jc
from lfjax.physics import chi, magnetization
from lfjax.spec import model_spec

NA_MUB = 5584.939  # emu/mol per mu_B per ion (PHYSICS.md)


@pytest.fixture(scope="module")
def report(tmp_path_factory):  # ~30-50 s on 2 cores: one compile of the fit and of the sampler's target
    out = tmp_path_factory.mktemp("jc") / "joint_coverage_axial.json"
    rep = jc.run("axial", n_sets=1, seed=3, n_draws=128, n_starts=4, noise="known", n_temps=8, n_fields=4,
                 max_rounds=1, out=str(out))
    return rep, json.loads(out.read_text()), out


def _numpy_objective(spec, theta, data, sigmas):
    """sum of ((model - d) / (|d| sigma))^2 (M(H): floor 5 % of max |d|) + the two nuisance priors."""
    lf, chi_dia, f_m = np.asarray(theta[:-2]), theta[-2], theta[-1]
    with jax.enable_x64(True):
        params = {n: jnp.asarray(v, jnp.float64) for n, v in zip(spec.names, lf)}
        total = (chi_dia / 0.002) ** 2 + ((f_m - 1) / 0.02) ** 2
        for d, sigma in zip(data, sigmas):
            t, h, y = (np.asarray(d[k]) for k in ("temps_k", "fields_oe", "values"))
            if d["kind"] == "chi":
                model = f_m * np.asarray(chi(spec.ion, params, jnp.asarray(t), 0.0, dtype=jnp.float64)) + chi_dia
                w = np.abs(y)
            else:
                model = f_m * np.asarray(magnetization(spec.ion, params, jnp.asarray(t), jnp.asarray(h),
                                                       dtype=jnp.float64)) + chi_dia * h / NA_MUB
                w = np.maximum(np.abs(y), 0.05 * np.max(np.abs(y)))
            total += np.sum(((model - y) / (w * sigma)) ** 2)
    return total


def test_report_file_is_the_returned_report_and_complete(report):
    rep, disk, out = report
    assert disk["complete"] and disk["n_sets_done"] == len(disk["sets"]) == 1
    assert disk["coverage90"] == rep["coverage90"] and disk["sets"][0]["truth"] == rep["sets"][0]["truth"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".tmp_")]  # atomic write left nothing
    assert disk["jax_version"] == jax.__version__ and len(disk["loadavg_start"]) == len(disk["loadavg_end"]) == 3
    assert disk["config"]["noise_mode"] == "known" and disk["spec"]["preset"] == "axial"


def test_fractions_flags_and_objectives_are_consistent(report):
    _, disk, _ = report
    for key in ("fit_no_worse_than_truth", "coverage90", "coverage50"):
        assert 0.0 <= disk[key] <= 1.0
        assert disk[key + "_se"] == pytest.approx(np.sqrt(disk[key] * (1 - disk[key]) / disk["n_sets_done"]))
    for s in disk["sets"]:
        assert s["in90"] >= s["in50"]
        assert s["in90"] == (s["truth_log_posterior"] >= s["posterior_logpost_q10"])
        assert set(s["marginal_ranks"]) == {"B20", "B40", "B60", "chi_dia_emu_per_mol", "f_m"}
        assert all(0.0 <= v <= 1.0 for v in s["marginal_ranks"].values())
        assert set(s["derived_ranks"]) == {"E1_doublet_k", "E2_doublet_k", "E3_doublet_k", "g1", "g2", "g3"}
        assert all(0.0 <= v <= 1.0 for v in s["derived_ranks"].values())
        assert s["in50"] == (s["truth_log_posterior"] >= s["posterior_logpost_q50"])
        assert s["posterior_logpost_q10"] <= s["posterior_logpost_q50"]
        assert np.isfinite(s["best_objective"]) and np.isfinite(s["truth_objective"])
        assert np.isfinite(s["truth_log_prior"])  # the truth lies inside the prior box
        assert s["truth_log_posterior"] == pytest.approx(s["truth_log_likelihood"] + s["truth_log_prior"])
        assert s["fit_no_worse_than_truth"] == (s["best_objective"] <= s["truth_objective"] + jc.OBJ_TOL)
        assert 0 < s["ess"] <= 128 * len(s["ess_rounds"]) and 0.3e-2 <= s["noise"] <= 1e-2
        assert s["sigmas_fit"] == [s["noise"], s["noise"]]  # known noise: the fit uses the true level
    assert disk["fit_no_worse_than_truth"] == np.mean([s["fit_no_worse_than_truth"] for s in disk["sets"]])


def test_truth_objective_matches_an_independent_numpy_sum(report):
    _, disk, _ = report
    spec = model_spec("Er3+", preset="axial")
    s = disk["sets"][0]
    theta = [s["truth"][n] for n in (*spec.names, "chi_dia_emu_per_mol", "f_m")]
    lo, hi = spec.low, spec.high
    assert np.all((np.asarray(theta[:3]) >= lo) & (np.asarray(theta[:3]) <= hi))
    expected = _numpy_objective(spec, theta, s["data"], s["sigmas_fit"])
    assert s["truth_objective"] == pytest.approx(expected, rel=1e-9)


def test_simulated_data_follow_the_error_model():
    spec = model_spec("Er3+", preset="axial")
    lf = np.array([-0.5, 0.004, -3e-5])
    exact = jc.simulate_set(spec, lf, 0.001, 1.02, 0.0, np.random.default_rng(0), n_temps=6, n_fields=3)
    noisy = jc.simulate_set(spec, lf, 0.001, 1.02, 0.01, np.random.default_rng(0), n_temps=6, n_fields=3)
    with jax.enable_x64(True):
        params = {n: jnp.asarray(v) for n, v in zip(spec.names, lf)}
        chi0 = np.asarray(chi(spec.ion, params, jnp.asarray(exact[0].temps_k), 0.0, dtype=jnp.float64))
    np.testing.assert_allclose(exact[0].values, 1.02 * chi0 + 0.001, rtol=1e-12)
    assert exact[0].noise is None  # integrated noise by default
    rel = noisy[0].values / exact[0].values - 1
    assert 0 < np.max(np.abs(rel)) < 0.05  # 1 % relative noise
    # Er3+ at 2 K and 5 T: M below the free-ion saturation g_J J = 9 mu_B, increasing with H
    m = exact[1].values
    assert np.all(np.diff(m) > 0) and m[-1] < 9.0 * 1.02 + 0.001 * 5e4 / NA_MUB


def test_oriented_mh_curve_has_its_field_along_the_axis():
    spec = model_spec("Er3+", preset="axial")
    lf = np.array([-0.5, 0.0, 0.0])  # B20 < 0 alone: easy axis z (ground doublet +-15/2)
    powder = jc.simulate_set(spec, lf, 0.0, 1.0, 0.0, np.random.default_rng(0), n_temps=4, n_fields=3)
    along_z = jc.simulate_set(spec, lf, 0.0, 1.0, 0.0, np.random.default_rng(0), n_temps=4, n_fields=3,
                              mh_direction="z")
    with jax.enable_x64(True):
        params = {n: jnp.asarray(v) for n, v in zip(spec.names, lf)}
        m_z = np.asarray(magnetization(spec.ion, params, jnp.asarray(along_z[1].temps_k),
                                       jnp.asarray(along_z[1].fields_oe), direction="z", dtype=jnp.float64))
    assert along_z[1].direction == "z" and powder[1].direction == "powder"
    np.testing.assert_allclose(along_z[1].values, m_z, rtol=1e-12)
    np.testing.assert_allclose(along_z[0].values, powder[0].values, rtol=1e-12)  # chi stays powder
    along_x = jc.simulate_set(spec, lf, 0.0, 1.0, 0.0, np.random.default_rng(0), n_temps=4, n_fields=3,
                              mh_direction="x")
    assert np.all(along_z[1].values > powder[1].values) and np.all(powder[1].values > along_x[1].values)
    assert along_z[1].values[-1] == pytest.approx(9.0, abs=0.01)  # g_J J = 6/5 x 15/2 at 5 T, 2 K


def test_hpd_check_is_calibrated_on_a_gaussian():
    """Truths drawn from N(0, I_3), the posterior itself: coverages 0.9 and 0.5 within sampling error."""
    rng = np.random.default_rng(0)
    n_sets, n_draws = 2000, 400
    flags = []
    for _ in range(n_sets):
        truth = rng.standard_normal(3)
        draws = rng.standard_normal((n_draws, 3))
        flags.append(jc.hpd_flags(-0.5 * truth @ truth, -0.5 * np.sum(draws**2, axis=1))[:2])
    flags = np.asarray(flags)
    assert abs(flags[:, 0].mean() - 0.9) < 0.025 and abs(flags[:, 1].mean() - 0.5) < 0.04
    assert np.all(flags[:, 0] >= flags[:, 1])


def test_totals_binomial_errors_and_low_ess_split():
    sets = [{"fit_no_worse_than_truth": True, "in90": i < 3, "in50": i < 1, "ess": e, "ess_fraction": e / 100,
             "wall_s": 1.0, "best_theta": [0.5 * (i - 1), 0.0, 0.01, 1.0]} for i, e in enumerate([100.0, 80.0, 2.0, 60.0])]
    failed = {"fit_no_worse_than_truth": False, "in90": None, "in50": None, "ess": 0.0, "ess_fraction": 0.0,
              "wall_s": 1.0, "best_theta": [0.0, 0.0, 0.0, 1.0]}
    assert jc.totals([*sets, failed])["n_posterior_failed"] == 1
    assert jc.totals([*sets, failed])["coverage90"] == 0.75  # failed posteriors are not counted as misses
    t = jc.totals(sets, min_ess=50.0, ranges=[(-0.6, 0.6), (-1.0, 1.0)])
    assert t["n_best_outside_prior_box"] == 1  # only the last: B20 = 1.0 > 0.6
    assert t["coverage90"] == 0.75 and t["coverage90_se"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))
    assert t["n_sets_ess_ok"] == 3 and t["coverage90_ess_ok"] == pytest.approx(2 / 3)
    assert t["coverage50"] == 0.25 and t["median_ess"] == 70.0 and t["fit_no_worse_than_truth"] == 1.0


def test_smc_sampler_records_its_tempering(tmp_path):
    rep = jc.run("axial", n_sets=3, seed=3, n_draws=64, n_starts=4, noise="known", n_temps=8, n_fields=4,
                 sampler="smc", n_mcmc=1, out=str(tmp_path / "smc.json"), indices=[2])
    assert [s["index"] for s in rep["sets"]] == [2] and rep["complete"]  # a shard of one set
    s = rep["sets"][0]
    assert rep["config"]["sampler"] == "smc" and rep["config"]["n_mcmc"] == 1
    assert s["smc_betas"][-1] == 1.0 and s["smc_steps"] == len(s["smc_ess"]) == len(s["smc_betas"])
    assert s["ess"] == pytest.approx(64 * min(s["smc_ess"])) and 0 < s["ess"] <= 64
    assert s["in90"] == (s["truth_log_posterior"] >= s["posterior_logpost_q10"])
    assert set(s["marginal_ranks"]) == {"B20", "B40", "B60", "chi_dia_emu_per_mol", "f_m"}
    assert all(0.0 <= v <= 1.0 for v in s["marginal_ranks"].values())
    with pytest.raises(ValueError, match="sampler"):
        jc.run("axial", n_sets=1, sampler="mcmc")


def test_nested_sampler_records_its_evidence(tmp_path):
    rep = jc.run("axial", n_sets=3, seed=3, n_draws=200, n_starts=2, noise="known", n_temps=8, n_fields=4,
                 sampler="nested", n_live=32, out=str(tmp_path / "ns.json"), indices=[1])
    s = rep["sets"][0]
    assert rep["config"]["sampler"] == "nested" and rep["config"]["n_live"] == 32 and rep["config"]["n_mcmc"] is None
    assert s["ns_rounds"] >= 1 and s["log_evidence_sd"] > 0 and np.isfinite(s["log_evidence"])
    assert 0 < s["ess"] and s["ess_fraction"] <= 1.0
    assert s["in90"] == (s["truth_log_posterior"] >= s["posterior_logpost_q10"])
    assert all(0.0 <= v <= 1.0 for v in s["marginal_ranks"].values())


def _shard(indices, in90, **config):
    sets = [{"index": i, "fit_no_worse_than_truth": True, "in90": f, "in50": False, "ess": 100.0,
             "ess_fraction": 0.2, "wall_s": 10.0, "best_theta": [0.0, 0.0, 0.0, 1.0]} for i, f in zip(indices, in90)]
    cfg = {"preset": "axial", "ion": "Er3+", "n_sets": 4, "max_wall_s": None} | config
    return {"config": cfg, "device": "cpu", "wall_s": 20.0, "sets": sets, "spec": {}}


def test_shards_merge_into_one_report_sorted_by_set():
    merged = jc.merge([_shard([3, 0], [True, False]), _shard([1, 2], [True, True], max_wall_s=60.0)])
    assert [s["index"] for s in merged["sets"]] == [0, 1, 2, 3] and merged["complete"]
    assert [s["shard"] for s in merged["sets"]] == [0, 1, 1, 0]
    assert merged["coverage90"] == 0.75 and merged["n_sets_done"] == 4 and merged["sum_set_wall_s"] == 40.0
    assert [sh["n_sets"] for sh in merged["shards"]] == [2, 2]
    with pytest.raises(ValueError, match="more than one"):
        jc.merge([_shard([0], [True]), _shard([0], [False])])
    with pytest.raises(ValueError, match="other configurations"):
        jc.merge([_shard([0], [True]), _shard([1], [True], preset="D3d")])
    # reports from before M(H) could be oriented had powder M(H)
    assert jc.merge([_shard([0], [True]), _shard([1], [True], mh_direction="powder")])["n_sets_done"] == 2
    with pytest.raises(ValueError, match="other configurations"):
        jc.merge([_shard([0], [True]), _shard([1], [True], mh_direction="x")])


def test_totals_summarise_the_hpd_ranks():
    sets = [{"fit_no_worse_than_truth": True, "in90": r >= 0.1, "in50": r >= 0.5, "hpd_rank": r, "ess": 100.0,
             "ess_fraction": 1.0, "wall_s": 1.0, "best_theta": None} for r in (0.05, 0.3, 0.5, 0.95)]
    t = jc.totals(sets)
    assert t["mean_hpd_rank"] == pytest.approx(0.45) and t["hpd_rank_histogram_5"] == [1, 1, 1, 0, 1]
    for s, r in zip(sets, (0.1, 0.2, 0.3, 0.6)):
        s["marginal_ranks"] = {"B20": r, "f_m": 1 - r}
    assert jc.totals(sets)["mean_marginal_rank"] == pytest.approx({"B20": 0.3, "f_m": 0.7})
    sets[0]["marginal_ranks"] = {"B20": 0.0, "f_m": 0.97}  # beyond every draw in B20; outside 5-95 % in f_m
    t = jc.totals(sets)
    assert t["marginal_rank_extreme_fraction"] == pytest.approx(1 / 8)
    assert t["marginal_rank_outside_5_95_fraction"] == pytest.approx(2 / 8)
    assert "derived_rank_extreme_fraction" not in t  # no set recorded them
    for s in sets:
        s["derived_ranks"] = {"g1": 0.5, "g3": 0.999}
    t = jc.totals(sets)
    assert t["derived_rank_extreme_fraction"] == pytest.approx(0.5) and t["mean_derived_rank"]["g1"] == 0.5


def test_a_set_is_claimed_once(tmp_path):
    assert jc.claim(str(tmp_path / "claims"), 7)
    assert not jc.claim(str(tmp_path / "claims"), 7)
    assert jc.claim(str(tmp_path / "claims"), 8)


def test_indices_must_be_sets_of_the_benchmark():
    with pytest.raises(ValueError, match="indices"):
        jc.run("axial", n_sets=2, indices=[2])
    with pytest.raises(ValueError, match="indices"):
        jc.run("axial", n_sets=2, indices=[1, 1])


def test_mode_shares_compare_draws_with_the_laplace_weights():
    rec = jc.mode_shares("axial", index=1, n_starts=2, n_particles=48, n_mcmc=1, n_temps=8, n_fields=4)
    assert len(rec["laplace_weights"]) == len(rec["draw_shares"]) >= 1
    assert sum(rec["laplace_weights"]) == pytest.approx(1.0) and sum(rec["draw_shares"]) == pytest.approx(1.0)
    assert 0 <= rec["truth_component"] < len(rec["draw_shares"]) and 0.0 <= rec["hpd_rank"] <= 1.0
    assert rec["draws_dchi2_q50"] >= 0.0 and rec["draws_dchi2_q90"] >= rec["draws_dchi2_q50"]


def test_tied_rank_counts_equal_draws_half():
    draws = np.array([0.0, 1e-9, 2e-9, 0.5, 1.0])
    assert jc.tied_rank(0.0, draws) == pytest.approx(0.3)  # three zeros up to rounding, two above
    assert jc.tied_rank(0.75, draws) == pytest.approx(0.8)
    assert jc.tied_rank(2.0, draws) == 1.0 and jc.tied_rank(-1.0, draws) == 0.0
