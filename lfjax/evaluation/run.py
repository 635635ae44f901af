"""`evaluate`: a trained model against fresh prior curves, the exact-posterior oracle and least squares.

Test curves: `data.stream.make_batch` with the model's own config (prior, chi_dia, f_m, point
noise) from a key derived from `seed` and a fixed tag (training keys come from train.seed through
a different path, so the curves are fresh). Reported (see `summary` keys):

- lfjax top mode (posterior only) and lfjax refined (the refinement of `lfjax infer`,
  `inference.refine`, started from the posterior modes) on
  the first `refine_n` curves: hit rate (1.5 K in D, 1.0 K in E, modulo equivalents), median |dD|,
  |dE| against the truth;
- calibration: coverage of the HPD regions (50 %, 90 %, and the curve 0.05..0.95) and of central
  intervals of chi_dia and f_m;
- share of curves flagged out-of-distribution (`model.ood_scores`);
- the oracle: exact marginal-posterior mode on a 0.15 K grid, same curves;
- least squares (`baseline.run_baselines`) on the first `ls_n` curves, and lfjax on the same ones.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import jax
import numpy as np

from lfjax.data.stream import make_batch
from lfjax.evaluation import baseline, posterior_eval
from lfjax.evaluation.metrics import (
    LEVELS,
    TOL_D_K,
    TOL_DE_K,
    TOL_E_K,
    accuracy_summary,
    coverage_curve,
)
from lfjax.evaluation.oracle import grid_bank, oracle
from lfjax.inference.compiled import count_trace, float64_entry
from lfjax.symmetry import de_group, hits

#: Mixed into the key of the test curves so that they never coincide with another stream.
TEST_TAG = 0x5E7A1


@functools.partial(jax.jit, static_argnames=("config_data", "n"))
def _batch(key, config_data, n: int):
    count_trace("evaluation.test_curves")
    return make_batch(key, config_data, n)


def test_curves(config_data, n: int, seed: int) -> dict[str, np.ndarray]:
    """n fresh measurements from the prior and error model of `config_data`: theta (n, 4), chi_t (n, n_T)."""
    batch = _batch(jax.random.fold_in(jax.random.key(seed), TEST_TAG), config_data, n)
    return {"theta": np.asarray(batch["theta"], np.float64), "chi_t": np.asarray(batch["chi_t"], np.float64)}


def _ls_rows(truth, results: dict[str, dict], best_free, best_fixed, tol_ll) -> dict[str, dict]:
    rows = {}
    for name, res in results.items():
        best = res["best"]
        known = best_free if res.get("free_errors", True) else best_fixed
        row = accuracy_summary(best["de"], truth)
        row.update(success_rate=float(np.mean(baseline.success(best["log_likelihood"], known, tol_ll))),
                   s_per_curve=float(res["s_per_curve"]), n_starts=int(res["n_starts"]),
                   errors_free=bool(res.get("free_errors", True)))
        rows[name] = row
    return rows


@float64_entry
def evaluate(
    model, *, n: int = 1000, seed: int = 0, n_samples: int = 1000, refine_n: int | None = 200,
    ls_n: int | None = 200, n_starts: int = 32, batch: int = 25, bandwidth_k: float = 0.4,
    grid_step_k: float = 0.15, tol_ll: float = 0.5, log: Callable[[str], None] = lambda s: None,
) -> tuple[dict, dict[str, np.ndarray]]:
    """Runs the whole evaluation (module docstring); an entry point, it runs in float64.

    Args:
      model: a `TrainedModel`.
      n: test curves; seed: their seed (and that of the posterior draws and LS starts).
      n_samples: posterior draws per curve; batch: curves per batched call.
      refine_n, ls_n: curves (the first ones) refined by lfjax / fitted by the LS baselines
        (None: all n; 0: skip).
      n_starts: starts of multi-start least squares.
      bandwidth_k: KDE bandwidth (K) for modes and HPD ranks.
      grid_step_k: D spacing of the oracle grid (K).
      tol_ll: log-likelihood tolerance of "reached the best-known optimum".
      log: progress callback (one line per stage).

    Returns:
      (summary: JSON-able dict, arrays: per-curve results for figures).
    """
    cfg = model.config.data
    refine_n = n if refine_n is None else min(refine_n, n)
    ls_n = n if ls_n is None else min(ls_n, n)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    data = test_curves(cfg, n, seed)
    truth = data["theta"][:, :2]

    log(f"posterior: {n} curves x {n_samples} draws")
    post = posterior_eval.posterior_draws(model, data["chi_t"], data["theta"], n_samples=n_samples, batch=batch,
                                          key=jax.random.key(seed + 1), bandwidth_k=bandwidth_k,
                                          keep_samples=max(refine_n, ls_n))
    timings["lfjax_sample_s_per_curve"] = post["s_per_curve_sample"]
    timings["lfjax_kde_s_per_curve"] = post["s_per_curve_kde"]

    log("out-of-distribution scores")
    t0 = time.perf_counter()
    ood = model.ood_scores(data["chi_t"].astype(np.float32))
    timings["ood_s_per_curve"] = (time.perf_counter() - t0) / n

    log(f"oracle: exact posterior on a {grid_step_k} K grid")
    t0 = time.perf_counter()
    bank = grid_bank(model.ion, model.temps_k, cfg.d_max_k, grid_step_k)
    orc = oracle(bank, data["chi_t"], cfg.noise_rel, max(cfg.sigma_dia_emu_per_mol, 1e-12), max(cfg.sigma_m, 1e-12))
    timings["oracle_s_per_curve"] = (time.perf_counter() - t0) / n

    arrays = {"truth_de": truth, "mode_de": post["mode_de"], "oracle_de": orc.posterior_mode_de,
              "hpd_rank": post["hpd_rank"], "rank_chi_dia": post["rank_chi_dia"], "rank_f_m": post["rank_f_m"],
              "ood_flagged": np.asarray(ood["flagged"])}
    summary: dict = {
        "n": n, "n_samples": n_samples, "seed": seed, "model": str(model.source),
        "tolerance_K": {"D": TOL_D_K, "E": TOL_E_K}, "bandwidth_k": bandwidth_k,
    }
    top = accuracy_summary(post["mode_de"], truth)
    summary.update(mode_hit_rate=top["hit_rate"], median_abs_dD_K=top["median_abs_dD_K"],
                   median_abs_dE_K=top["median_abs_dE_K"], p90_abs_dD_K=top["p90_abs_dD_K"],
                   p90_abs_dE_K=top["p90_abs_dE_K"])
    cov = coverage_curve(post["hpd_rank"])
    summary.update(
        coverage_50=float(np.mean(post["hpd_rank"] <= 0.5)), coverage_90=float(np.mean(post["hpd_rank"] <= 0.9)),
        coverage_levels=LEVELS.tolist(), coverage_hpd_de=cov.tolist(),
        coverage_chi_dia=coverage_curve(post["rank_chi_dia"]).tolist(),
        coverage_f_m=coverage_curve(post["rank_f_m"]).tolist(),
        ood_rate=float(np.mean(ood["flagged"])),
    )
    orc_acc = accuracy_summary(orc.posterior_mode_de, truth)
    summary.update(oracle_hit_rate=orc_acc["hit_rate"], oracle_median_abs_dD_K=orc_acc["median_abs_dD_K"],
                   oracle_median_abs_dE_K=orc_acc["median_abs_dE_K"], oracle_grid_step_k=grid_step_k)
    kept = ~arrays["ood_flagged"]
    summary["mode_hit_rate_not_flagged"] = float(np.mean(hits(de_group(), post["mode_de"], truth, TOL_DE_K)[kept])) if kept.any() else None

    refined = None
    if refine_n:
        log(f"refinement from the posterior modes: {refine_n} curves")
        refined = posterior_eval.refine_from_modes(model, data["chi_t"][:refine_n], post["samples"][:refine_n],
                                                   bandwidth_k=bandwidth_k)
        acc = accuracy_summary(refined["de"], truth[:refine_n])
        summary.update(refine_n=refine_n, refined_hit_rate=acc["hit_rate"],
                       refined_median_abs_dD_K=acc["median_abs_dD_K"], refined_median_abs_dE_K=acc["median_abs_dE_K"])
        timings["lfjax_modes_s_per_curve"] = refined["s_per_curve_modes"]
        timings["lfjax_refine_s_per_curve"] = refined["s_per_curve_refine"]
        arrays["refined_de"] = refined["de"]

    if ls_n:
        log(f"least-squares baselines: {ls_n} curves, 1 and {n_starts} starts, errors fixed and free")
        ls = baseline.run_baselines(model.ion, model.temps_k, data["chi_t"][:ls_n], d_max_k=cfg.d_max_k,
                                    n_starts=n_starts, seed=seed, batch=batch)
        summary["comparison"] = _comparison(ls, orc, post, refined, truth, ls_n, timings, tol_ll)
        for name, res in ls.items():
            arrays[f"ls_{name}_de"] = res["best"]["de"]
    timings["total_s"] = time.perf_counter() - t_all
    summary["timings"] = timings
    return summary, arrays


def _comparison(ls, orc, post, refined, truth, ls_n, timings, tol_ll) -> dict:
    """Table rows (same ls_n curves): accuracy, success and time per curve of every method."""
    sub = slice(0, ls_n)
    best_free = np.maximum(orc.free_best_log_likelihood[sub],
                           np.max([r["best"]["log_likelihood"] for r in ls.values() if r["free_errors"]], axis=0))
    best_fixed = np.maximum(orc.fixed_best_log_likelihood[sub],
                            np.max([r["best"]["log_likelihood"] for r in ls.values() if not r["free_errors"]], axis=0))
    entries = {f"ls_{k}": v for k, v in ls.items()}
    t_post = timings["lfjax_sample_s_per_curve"]
    rows = {}
    if refined is not None and len(refined["de"]) >= ls_n:
        best_free = np.maximum(best_free, refined["log_likelihood"][sub])
        t_ref = t_post + timings["lfjax_modes_s_per_curve"] + timings["lfjax_refine_s_per_curve"]
        entries["lfjax_refined"] = {"best": {k: refined[k][sub] for k in ("de", "log_likelihood")},
                                    "s_per_curve": t_ref, "n_starts": posterior_eval.MAX_STARTS, "free_errors": True}
    rows.update(_ls_rows(truth[sub], entries, best_free, best_fixed, tol_ll))
    top = accuracy_summary(post["mode_de"][sub], truth[sub])
    top.update(s_per_curve=t_post + timings["lfjax_kde_s_per_curve"])
    rows["lfjax_top_mode"] = top
    orc_row = accuracy_summary(orc.posterior_mode_de[sub], truth[sub])
    orc_row.update(s_per_curve=timings["oracle_s_per_curve"])
    rows["oracle_exact_posterior"] = orc_row
    return {"n": ls_n, "tol_log_likelihood": tol_ll, "rows": rows}
