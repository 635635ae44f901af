"""Calibration of the joint-set engines: global fit and importance posterior on simulated sets.

For each of `n_sets` simulated measurement sets of one sample (Er3+ by default):

1. Truth: ligand-field parameters uniform on `truth_box` x the spec's prior box (centred; 1.0 =
   the full prior), chi_dia ~ N(0, 0.002 emu/mol), f_m ~ N(1, 0.02) (the likelihood's nuisance
   priors), and one relative noise level drawn uniformly in `noise_range` for the whole set.
2. Curves (`simulate_set`): powder chi(T) at zero field (linear response) on `N_TEMPS`
   log-spaced temperatures 2-300 K and M(H) at 2 K on `N_FIELDS` fields 0.5-5 T (powder, or along
   one crystal direction, `mh_direction`: an oriented crystal), with the
   error model of PHYSICS.md (chi: f_m chi + chi_dia; M: f_m M + chi_dia H / (N_A mu_B)) and
   relative Gaussian point noise y_i (1 + noise eps_i).
3. Fit (`fit.run_fit`): the best objective is compared with the truth's objective at the fit's
   noise levels, sum(weighted_residuals(truth)^2); the fit is "no worse than the truth" when
   best <= truth + 1e-6.
4. Posterior (`sampler` "importance": `importance.run_importance` around the fit's optima;
   "smc": tempered SMC from a density around the fit's optima and the prior,
   `sample.run_sample_seeded`, the fit being `sample.seeding_fit`; "nested": nested sampling from
   the prior, `nested.run_nested`) and a highest-posterior-density check: the truth's log
   posterior (log likelihood + log prior, `importance.log_target`) against the 10 % and 50 %
   quantiles of the log posterior of the (equally weighted) posterior draws: the truth lies in the
   90 % (50 %) HPD region when it is at or above that quantile. Over many sets, a calibrated
   posterior covers the truth in 90 % (50 %) of them.

Noise treatment (`noise_mode`): "integrated" builds every curve with noise None, so that the
likelihood integrates each curve's noise out (Jeffreys prior) and the fit estimates it (profile
ML); "known" gives each curve the true noise level (the problem then differs per set, so the
compiled functions are rebuilt every set). Coverage is exact only where the posterior's prior is
the one the truths were drawn from: with `truth_box` < 1 or integrated noise it is approximate.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.constants import NA_MUB_EMU_PER_MOL
from lfjax.engines import fit as ef
from lfjax.engines import derived, importance, nested
from lfjax.engines import likelihood as lk
from lfjax.engines import sample as es
from lfjax.io.curves import Curve
from lfjax.physics import chi as chi_fn
from lfjax.physics import magnetization
from lfjax.spec import ModelSpec, model_spec

N_TEMPS = 20
N_FIELDS = 8
T_RANGE_K = (2.0, 300.0)
H_RANGE_OE = (5000.0, 50000.0)
MH_TEMP_K = 2.0
SIGMA_DIA = 0.002
SIGMA_M = 0.02
#: Tolerance of "best objective <= truth objective".
OBJ_TOL = 1e-6
#: Sets with fewer effective importance draws than this are reported apart (see `totals`).
MIN_ESS = 50.0


def simulate_set(spec: ModelSpec, lf_values, chi_dia: float, f_m: float, noise: float, rng,
                 noise_mode: str = "integrated", n_temps: int = N_TEMPS, n_fields: int = N_FIELDS,
                 mh_direction="powder") -> list[Curve]:
    """Powder chi(T) at 0 Oe and M(H) at 2 K of one parameter set, with the error model and noise.

    Args:
      spec: the model; lf_values: (n_params,) its parameters in K.
      chi_dia: emu/mol per ion; f_m: mass factor; noise: relative point noise (e.g. 0.005).
      rng: numpy generator for the noise.
      noise_mode: "integrated" (curves carry noise None) or "known" (curves carry `noise`).
      n_temps, n_fields: points of the two curves.
      mh_direction: the M(H) curve's field direction ("powder", "x", "y", "z" or a vector).

    Returns:
      [chi curve (n_temps points, emu/mol), M(H) curve (n_fields points, mu_B per ion, its field
      along `mh_direction`)].
    """
    temps = np.geomspace(*T_RANGE_K, n_temps)
    fields = np.linspace(*H_RANGE_OE, n_fields)
    with jax.enable_x64(True):
        params = spec.stevens_params(jnp.asarray(lf_values, jnp.float64))
        chi = np.asarray(chi_fn(spec.ion, params, jnp.asarray(temps), 0.0, direction="powder", dtype=jnp.float64))
        mag = np.asarray(magnetization(spec.ion, params, jnp.full(n_fields, MH_TEMP_K), jnp.asarray(fields),
                                       direction=mh_direction, dtype=jnp.float64))
    y_chi = (f_m * chi + chi_dia) * (1 + noise * rng.standard_normal(n_temps))
    y_mh = (f_m * mag + chi_dia * fields / NA_MUB_EMU_PER_MOL) * (1 + noise * rng.standard_normal(n_fields))
    given = noise if noise_mode == "known" else None
    return [Curve(kind="chi", temps_k=temps, fields_oe=np.zeros(n_temps), values=y_chi, label="chi 0 Oe", noise=given),
            Curve(kind="mh", temps_k=np.full(n_fields, MH_TEMP_K), fields_oe=fields, values=y_mh, label="M(H) 2 K",
                  noise=given, direction=mh_direction)]


def draw_truth(spec: ModelSpec, rng, truth_box: float) -> tuple[np.ndarray, float, float]:
    """(ligand field (n_params,) K uniform on the centred sub-box, chi_dia emu/mol, f_m)."""
    lo, hi = spec.low, spec.high
    mid, half = (lo + hi) / 2, (hi - lo) / 2 * truth_box
    lf = mid + half * rng.uniform(-1.0, 1.0, lo.shape)
    return lf, float(SIGMA_DIA * rng.standard_normal()), float(1.0 + SIGMA_M * rng.standard_normal())


def hpd_flags(truth_logpost: float, sample_logpost: np.ndarray) -> tuple[bool, bool, float]:
    """(in 90 % HPD, in 50 % HPD, fraction of draws with log posterior below the truth's)."""
    q10, q50 = np.quantile(sample_logpost, [0.1, 0.5])
    return bool(truth_logpost >= q10), bool(truth_logpost >= q50), float(np.mean(sample_logpost < truth_logpost))


def tied_rank(truth: float, draws: np.ndarray, rel_tol: float = 1e-6) -> float:
    """Fraction of draws below the truth, draws equal to it within rel_tol x max(1, |truth|)
    counting half (mid-rank): a g-value that vanishes by symmetry (g_perp of a |±m> doublet)
    is zero up to rounding in the truth and in every draw alike."""
    tol = rel_tol * max(1.0, abs(float(truth)))
    below = np.mean(draws < truth - tol)
    return float(below + 0.5 * np.mean(np.abs(draws - truth) <= tol))


def simulated_set(spec: ModelSpec, index: int, seed: int, truth_box: float = 1.0, noise_range=(0.003, 0.01),
                  noise_mode: str = "integrated", n_temps: int = N_TEMPS, n_fields: int = N_FIELDS,
                  mh_direction="powder"):
    """Set `index` of the benchmark: (truth theta (n_params + 2,), its noise level, its curves).

    Its random numbers come from `seed` and `index` alone, so every shard and every tool that asks
    for set i gets the same set.
    """
    rng = np.random.default_rng([seed, index])
    lf, chi_dia, f_m = draw_truth(spec, rng, truth_box)
    noise = float(rng.uniform(*noise_range))
    curves = simulate_set(spec, lf, chi_dia, f_m, noise, rng, noise_mode, n_temps, n_fields, mh_direction)
    return np.concatenate([lf, [chi_dia, f_m]]), noise, curves


def one_set(spec: ModelSpec, index: int, seed: int, *, truth_box: float, noise_range, noise_mode: str,
            n_starts: int, n_draws: int, max_rounds: int, n_temps: int = N_TEMPS, n_fields: int = N_FIELDS,
            explore_points: int | None = 25, sampler: str = "importance", n_mcmc: int = 5,
            mh_direction="powder", n_live: int = 200, max_regions: int = nested.MAX_REGIONS,
            chain_steps: int = nested.CHAIN_KEEP) -> dict:
    """Simulate, fit and sample one set; the per-set record of the report.

    With sampler "smc", `n_draws` is the number of particles and `n_mcmc` the Metropolis steps per
    tempering step; with "nested", `n_draws` the posterior draws kept and `n_live` the live points
    (`nested.run_nested`, the live points cut into at most `max_regions` regions, the draws those of
    Metropolis chains run `chain_steps` steps from the nested draws; the fit then only checks the
    objective)."""
    t0 = time.perf_counter()
    truth, noise, curves = simulated_set(spec, index, seed, truth_box, noise_range, noise_mode, n_temps, n_fields,
                                         mh_direction)
    problem, data = lk.build(curves, spec)
    if sampler == "smc":
        result = es.seeding_fit(problem, data, n_starts, seed=seed + index)
    else:
        result = ef.run_fit(problem, data, n_starts=n_starts, seed=seed + index, explore_points=explore_points)
    t_fit = time.perf_counter() - t0
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        truth_obj = float(jnp.sum(lk.weighted_residuals(problem, jnp.asarray(truth), jdata,
                                                        jnp.asarray(result.sigmas)) ** 2))
    best = result.solutions[0].objective if result.solutions else float("inf")
    rec = {
        "index": index,
        "truth": dict(zip(problem.theta_names, truth.tolist())),
        "noise": noise,
        "data": [{"kind": c.kind, "temps_k": c.temps_k.tolist(), "fields_oe": c.fields_oe.tolist(),
                  "values": c.values.tolist()} for c in curves],
        "sigmas_fit": np.asarray(result.sigmas).tolist(),
        "best_objective": float(best),
        "truth_objective": truth_obj,
        "fit_no_worse_than_truth": bool(best <= truth_obj + OBJ_TOL),
        "n_solutions": len(result.solutions),
        "best_theta": (result.solutions[0].theta.tolist() if result.solutions else None),
        "fit_s": t_fit,
    }
    try:
        if sampler == "smc":
            post = es.run_sample_seeded(problem, data, result, n_particles=n_draws, n_mcmc=n_mcmc, seed=seed + index)
        elif sampler == "nested":
            post = nested.run_nested(problem, data, n_live=n_live, n_draws=n_draws, seed=seed + index,
                                     max_regions=max_regions, chain_steps=chain_steps)
        else:
            post = importance.run_importance(problem, data, result, n_draws=n_draws, max_rounds=max_rounds,
                                             seed=seed + index)
    except RuntimeError as exc:  # e.g. every proposal draw outside the prior box
        rec.update(posterior_error=str(exc), in90=None, in50=None, hpd_rank=None, ess=0.0, ess_fraction=0.0,
                   wall_s=time.perf_counter() - t0)
        return rec
    with jax.enable_x64(True):
        ll, lp = importance.log_target(problem, np.vstack([truth[None], post.samples]), jdata)
    logpost = ll + lp
    in90, in50, rank = hpd_flags(float(logpost[0]), logpost[1:])
    # per entry: the fraction of draws below the truth, both folded to the canonical images of the
    # likelihood's symmetry group (uniform on [0, 1] when calibrated; shows which entry is off)
    folded = es.fold_samples(problem, np.vstack([truth[None], post.samples]))
    rec["marginal_ranks"] = {name: float(np.mean(folded[1:, j] < folded[0, j]))
                             for j, name in enumerate(problem.theta_names)}
    # the same for what the data measure: the first excited levels and the ground g-values
    names, values = derived.quantities(problem, np.vstack([truth[None], post.samples]))
    rec["derived_ranks"] = {name: tied_rank(values[0, j], values[1:, j]) for j, name in enumerate(names)}
    if sampler == "smc":  # ESS: the least of the tempering steps' (each a fraction of the particles)
        rec.update(ess=float(n_draws * np.min(post.ess)), ess_fraction=float(np.min(post.ess)),
                   smc_steps=post.n_steps, smc_betas=post.betas.tolist(), smc_ess=post.ess.tolist())
    elif sampler == "nested":  # ESS of the weighted dead points the draws come from
        rec.update(ess=post.ess, ess_fraction=post.ess / post.n_dead, ns_rounds=post.n_iterations,
                   log_evidence=post.log_evidence, log_evidence_sd=post.log_evidence_sd,
                   integrated_nuisances=post.integrated_nuisances, n_regions=post.n_regions,
                   chains=post.chains)
    else:
        rec.update(ess=float(post.ess_pooled), ess_fraction=float(post.ess_pooled / (n_draws * len(post.ess))),
                   ess_rounds=post.ess.tolist(), n_components=post.n_components)
    rec.update({
        "truth_log_likelihood": float(ll[0]),
        "truth_log_prior": float(lp[0]),
        "truth_log_posterior": float(logpost[0]),
        "posterior_logpost_q10": float(np.quantile(logpost[1:], 0.1)),
        "posterior_logpost_q50": float(np.quantile(logpost[1:], 0.5)),
        "hpd_rank": rank,
        "in90": in90,
        "in50": in50,
        "posterior_s": post.wall_s,
        "wall_s": time.perf_counter() - t0,
    })
    return rec


def _fraction(flags) -> tuple[float | None, float | None]:
    """(fraction, binomial standard error sqrt(p (1 - p) / n)); None for no sets."""
    n = len(flags)
    if n == 0:
        return None, None
    p = float(np.mean(flags))
    return p, float(np.sqrt(p * (1 - p) / n))


def totals(sets: list[dict], min_ess: float = MIN_ESS, ranges=None) -> dict:
    """Fractions with binomial standard errors and the ESS / time medians over the finished sets.

    Coverages count the sets whose importance posterior ran (`n_posterior_failed` did not; their
    ESS counts as 0). With the prior box `ranges` ((lo, hi) K per ligand-field parameter), the sets
    whose best optimum lies outside it are counted (the fit is unconstrained; the posterior is not).
    The HPD ranks (fraction of draws below the truth's log posterior; uniform on [0, 1] when
    calibrated) are summarised by their mean and a five-bin histogram, and each theta entry's
    marginal rank (`marginal_ranks` of a set) by its mean over the sets and the fractions of all
    of them at most 0.01 or at least 0.99 (0.02 when calibrated: a truth beyond (nearly) every draw
    in a parameter, a region the draws miss) and outside 0.05-0.95 (0.10); likewise the ranks of
    the derived quantities (`derived_ranks`: first excited levels, ground g-values). The coverages are also given
    over the sets whose final ESS is at least `min_ess` draws
    (`*_ess_ok`): with a handful of effective draws the quantiles of the posterior's log density
    are those of one or two points, and the HPD check says little.
    """
    fit_ok, fit_se = _fraction([s["fit_no_worse_than_truth"] for s in sets])
    posterior = [s for s in sets if s["in90"] is not None]
    c90, c90_se = _fraction([s["in90"] for s in posterior])
    c50, c50_se = _fraction([s["in50"] for s in posterior])
    good = [s for s in posterior if s["ess"] >= min_ess]
    g90, g90_se = _fraction([s["in90"] for s in good])
    g50, g50_se = _fraction([s["in50"] for s in good])
    med = (lambda key: float(np.median([s[key] for s in sets])) if sets else None)
    ranks = [s["hpd_rank"] for s in posterior if s.get("hpd_rank") is not None]
    extra_marginal = {}
    for key, label in (("marginal_ranks", "marginal"), ("derived_ranks", "derived")):
        ranks_of = [s[key] for s in posterior if s.get(key)]
        if ranks_of:
            every = np.asarray([list(m.values()) for m in ranks_of], float)
            extra_marginal |= {
                f"mean_{label}_rank": {k: float(np.mean([m[k] for m in ranks_of])) for k in ranks_of[0]},
                f"{label}_rank_extreme_fraction": float(np.mean((every <= 0.01) | (every >= 0.99))),
                f"{label}_rank_outside_5_95_fraction": float(np.mean((every < 0.05) | (every > 0.95)))}
    extra = {}
    if ranges is not None:
        lo, hi = np.asarray(ranges, float).T
        outside = [s["best_theta"] is not None and bool(np.any((np.asarray(s["best_theta"][:lo.size]) < lo)
                                                               | (np.asarray(s["best_theta"][:lo.size]) > hi)))
                   for s in sets]
        extra = {"n_best_outside_prior_box": int(np.sum(outside))}
    return extra | extra_marginal | {"n_sets_done": len(sets), "n_posterior_failed": len(sets) - len(posterior),
            "fit_no_worse_than_truth": fit_ok, "fit_no_worse_than_truth_se": fit_se,
            "coverage90": c90, "coverage90_se": c90_se, "coverage50": c50, "coverage50_se": c50_se,
            "min_ess": min_ess, "n_sets_ess_ok": len(good), "coverage90_ess_ok": g90, "coverage90_ess_ok_se": g90_se,
            "coverage50_ess_ok": g50, "coverage50_ess_ok_se": g50_se,
            "median_ess": med("ess"), "median_ess_fraction": med("ess_fraction"),
            "median_wall_s_per_set": med("wall_s"),
            "mean_hpd_rank": float(np.mean(ranks)) if ranks else None,
            "hpd_rank_histogram_5": np.histogram(ranks, bins=5, range=(0, 1))[0].tolist() if ranks else None,
            "mean_wall_s_per_set": float(np.mean([s["wall_s"] for s in sets])) if sets else None}


def write_json(report: dict, path: str) -> None:
    """Writes `report` to `path` atomically (a temporary file in the same folder, then os.replace)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp_", suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(report, fh, indent=1)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def run(preset: str = "axial", n_sets: int = 50, seed: int = 0, n_draws: int = 1000, n_starts: int = 16,
        noise: str = "integrated", *, ion: str = "Er3+", truth_box: float = 1.0, noise_range=(0.003, 0.01),
        max_rounds: int = 3, n_temps: int = N_TEMPS, n_fields: int = N_FIELDS, explore_points: int | None = 25,
        max_wall_s: float | None = None, out: str | None = None, resume: bool = False, log=None,
        sampler: str = "importance", n_mcmc: int = 5, indices=None, claim_dir: str | None = None,
        mh_direction="powder", n_live: int = 200, max_regions: int = nested.MAX_REGIONS,
        chain_steps: int = nested.CHAIN_KEEP) -> dict:
    """The calibration benchmark (see the module docstring); returns the report dict.

    Args:
      preset: the spec's preset ("axial", "D3d", ...); n_sets: simulated sets; seed: base seed.
      n_draws: importance draws per round; n_starts: fit starts; noise: "integrated" | "known".
      ion: the ion; truth_box: fraction of each prior half-range the truths are drawn from.
      noise_range: (low, high) of the relative noise level of each set.
      n_temps, n_fields: points of the chi(T) and M(H) curves.
      explore_points: `fit.run_fit`'s exploration size (a fit on at most this many points per
        curve first, then the best optima on all points); curves no longer than it skip the stage.
      sampler: "importance" | "smc" | "nested" (module docstring); n_mcmc: SMC Metropolis steps per
        tempering step; n_live: nested sampling's live points; max_regions: its regions at most;
        chain_steps: steps kept of the Metropolis chains from the nested draws (0: none).
      mh_direction: the M(H) curve's field direction ("powder" or a crystal direction).
      max_wall_s: stop starting new sets after this many seconds (the report says how many ran).
      out: JSON path, rewritten atomically after every set; log: optional callable(str).
      resume: keep the sets of an existing `out` written with the same configuration (apart from
        max_wall_s) and go on from there.
      indices: run only these set indices (each in [0, n_sets)), in the order given: a shard of the
        benchmark, for processes or machines that share it (`merge` joins their reports). Set i is
        the same simulated set whichever shard runs it (its seeds depend on `seed` and i alone).
      claim_dir: a folder shared by processes that run the same indices: each set is run by the
        first process to claim it (`claim`), so they share the work without a fixed split.
    """
    if sampler not in ("importance", "smc", "nested"):
        raise ValueError(f"sampler must be 'importance', 'smc' or 'nested'; got {sampler!r}")
    if noise not in ("integrated", "known"):
        raise ValueError(f"noise must be 'integrated' or 'known'; got {noise!r}")
    say = log or (lambda message: None)
    todo = list(range(n_sets)) if indices is None else [int(i) for i in indices]
    if any(not 0 <= i < n_sets for i in todo) or len(set(todo)) != len(todo):
        raise ValueError(f"indices must be distinct and in [0, {n_sets}); got {todo}")
    spec = model_spec(ion, preset=preset)
    t0 = time.perf_counter()
    report = {
        "benchmark": "joint_coverage",
        "config": {"preset": spec.preset, "ion": spec.ion.name, "n_sets": n_sets, "seed": seed, "n_draws": n_draws,
                   "n_starts": n_starts, "max_rounds": max_rounds, "noise_mode": noise, "n_temps": n_temps,
                   "n_fields": n_fields, "explore_points": explore_points,
                   "noise_range": list(noise_range), "truth_box": truth_box,
                   "truth_prior": (f"ligand field uniform on {truth_box} x the prior half-ranges (centred); "
                                   f"chi_dia ~ N(0, {SIGMA_DIA}), f_m ~ N(1, {SIGMA_M}); "
                                   f"noise uniform in {list(noise_range)} per set"),
                   "curves": (f"powder chi(T) at 0 Oe, {n_temps} log-spaced T in {list(T_RANGE_K)} K; M(H) "
                              f"({mh_direction}) at {MH_TEMP_K} K, {n_fields} fields in {list(H_RANGE_OE)} Oe; "
                              "relative noise"),
                   "mh_direction": mh_direction,
                   "hpd": "truth in X % HPD when its log posterior >= the (100 - X) % quantile of the draws'",
                   "fit_check": f"best objective <= truth objective at the fit's sigmas + {OBJ_TOL}",
                   "max_wall_s": max_wall_s, "sampler": sampler, "n_mcmc": n_mcmc if sampler == "smc" else None,
                   "n_live": n_live if sampler == "nested" else None,
                   "max_regions": max_regions if sampler == "nested" else None,
                   "chain_steps": chain_steps if sampler == "nested" else None},
        "spec": spec.to_dict(),
        "device": f"{jax.devices()[0].platform}: {jax.devices()[0].device_kind}",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "jax_version": jax.__version__,
        "loadavg_start": list(os.getloadavg()),
        "sets": [],
        "complete": False,
    }
    if resume and out and os.path.exists(out):
        with open(out) as fh:
            old = json.load(fh)
        if _config_key(old["config"]) != _config_key(report["config"]):
            raise ValueError(f"cannot resume {out}: written with another configuration {old['config']}")
        report["sets"] = old["sets"]
        report["resumed_at_set"] = len(old["sets"])
        report["wall_s_before_resume"] = old.get("wall_s_before_resume", 0.0) + old.get("wall_s", 0.0)
    done = {s["index"] for s in report["sets"]}
    for i in [i for i in todo if i not in done]:
        if max_wall_s is not None and time.perf_counter() - t0 > max_wall_s:
            say(f"time limit {max_wall_s} s reached after {len(report['sets'])} sets")
            break
        if claim_dir is not None and not claim(claim_dir, i):
            continue
        rec = one_set(spec, i, seed, truth_box=truth_box, noise_range=noise_range, noise_mode=noise,
                      n_starts=n_starts, n_draws=n_draws, max_rounds=max_rounds, n_temps=n_temps,
                      n_fields=n_fields, explore_points=explore_points, sampler=sampler, n_mcmc=n_mcmc,
                      mh_direction=mh_direction, n_live=n_live, max_regions=max_regions,
                      chain_steps=chain_steps)
        report["sets"].append(rec)
        jax.clear_caches()  # each set compiles its own solvers; kept, they exhaust the process's memory maps
        say(f"set {i} ({len(report['sets'])} of {len(todo)}): fit {'ok' if rec['fit_no_worse_than_truth'] else 'WORSE'} "
            f"(best {rec['best_objective']:.2f}, truth {rec['truth_objective']:.2f}), ESS {rec['ess']:.0f}, "
            f"in90 {rec['in90']}, in50 {rec['in50']}, rank {rec['hpd_rank']}, {rec['wall_s']:.1f} s"
            + (f", posterior failed: {rec['posterior_error']}" if "posterior_error" in rec else ""))
        report.update(totals(report["sets"], ranges=spec.ranges), loadavg_end=list(os.getloadavg()), wall_s=time.perf_counter() - t0)
        if out:
            write_json(report, out)
    report.update(totals(report["sets"], ranges=spec.ranges), loadavg_end=list(os.getloadavg()), wall_s=time.perf_counter() - t0,
                  complete={s["index"] for s in report["sets"]} >= set(todo))
    if out:
        write_json(report, out)
    return report


def _config_key(config: dict) -> dict:
    """What makes two reports one benchmark: the configuration apart from the time limit and the
    curves' description (made from the other entries; reports written before M(H) could be
    oriented had powder M(H))."""
    key = {k: v for k, v in config.items() if k not in ("max_wall_s", "curves")}
    key.setdefault("mh_direction", "powder")
    return key


def claim(folder: str, index: int) -> bool:
    """True for the one caller that creates `folder`/set_<index> (atomic O_CREAT | O_EXCL), False after."""
    os.makedirs(folder, exist_ok=True)
    try:
        os.close(os.open(os.path.join(folder, f"set_{index}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def merge(reports: list[dict]) -> dict:
    """One report from shards of one benchmark (`run` with `indices`, on several processes or machines).

    The shards must share their configuration (apart from max_wall_s) and hold distinct sets; the
    sets are sorted by index, the totals recomputed, and each shard's device, versions, CPU count,
    load and wall time kept under `shards` (a set records the shard it came from as `shard`).
    """
    if not reports:
        raise ValueError("nothing to merge")
    key = _config_key(reports[0]["config"])
    for r in reports[1:]:
        if _config_key(r["config"]) != key:
            raise ValueError(f"cannot merge reports of other configurations: {_config_key(r['config'])} vs {key}")
    sets, seen = [], set()
    for k, r in enumerate(reports):
        for s in r["sets"]:
            if s["index"] in seen:
                raise ValueError(f"set {s['index']} is in more than one report")
            seen.add(s["index"])
            sets.append(s | {"shard": k})
    sets.sort(key=lambda s: s["index"])
    first = reports[0]
    spec = model_spec(first["config"]["ion"], preset=first["config"]["preset"])
    shard_keys = ("device", "cpu_count", "python", "jax_version", "loadavg_start", "loadavg_end", "wall_s",
                  "wall_s_before_resume", "resumed_at_set")
    merged = {k: v for k, v in first.items() if k not in shard_keys and k != "sets"}
    merged.update(sets=sets, shards=[{k: r.get(k) for k in shard_keys} | {"n_sets": len(r["sets"])} for r in reports])
    merged.update(totals(sets, ranges=spec.ranges), complete=len(sets) == first["config"]["n_sets"])
    merged["sum_set_wall_s"] = float(sum(s["wall_s"] for s in sets))
    return merged


def mode_shares(preset: str = "D3d", index: int = 0, seed: int = 0, *, ion: str = "Er3+", n_starts: int = 8,
                n_particles: int = 500, n_mcmc: int = 5, n_temps: int = N_TEMPS, n_fields: int = N_FIELDS) -> dict:
    """Where the seeded SMC posterior of set `index` (known noise, truth from the full prior box)
    puts its mass, mode by mode, against the fit's Laplace mixture, and where the truth lies.

    Per component of `importance.laplace_mixture` (one per optimum and symmetry image): its Laplace
    weight and the share of SMC draws nearest to it (Mahalanobis distance under its covariance);
    the component nearest to the truth; the truth's HPD rank; Delta chi^2 = -2 (log posterior -
    the best draw's) of the truth and quantiles of the draws'. A mode with a large Laplace weight,
    no draws and the truth in it is one the sampler lost.
    """
    spec = model_spec(ion, preset=preset)
    truth, _, curves = simulated_set(spec, index, seed, noise_mode="known", n_temps=n_temps, n_fields=n_fields)
    problem, data = lk.build(curves, spec)
    fit = es.seeding_fit(problem, data, n_starts, seed=seed + index)
    post = es.run_sample_seeded(problem, data, fit, n_particles=n_particles, n_mcmc=n_mcmc, seed=seed + index)
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        mix = importance.laplace_mixture(problem, importance.polished(problem, fit, jdata), jdata)
        ll, lp = importance.log_target(problem, np.vstack([truth[None], post.samples]), jdata)
    means, chols = np.asarray(mix.means), np.asarray(mix.chols)
    log_w = np.asarray(mix.log_weights) - np.logaddexp.reduce(np.asarray(mix.log_weights))

    def nearest(points):
        d2 = [np.sum(np.linalg.solve(c, (points - m).T) ** 2, axis=0) for m, c in zip(means, chols)]
        return np.argmin(np.asarray(d2), axis=0)

    lpost = ll + lp
    dchi = -2 * (lpost - np.max(lpost[1:]))
    return {"index": index, "objectives": [s.objective for s in fit.solutions],
            "laplace_weights": np.exp(log_w).tolist(),
            "draw_shares": (np.bincount(nearest(post.samples), minlength=len(means)) / len(post.samples)).tolist(),
            "truth_component": int(nearest(truth[None])[0]), "hpd_rank": hpd_flags(lpost[0], lpost[1:])[2],
            "truth_dchi2": float(dchi[0]), "draws_dchi2_q50": float(np.median(dchi[1:])),
            "draws_dchi2_q90": float(np.quantile(dchi[1:], 0.9)), "smc_steps": post.n_steps, "smc_s": post.wall_s}
