"""Outputs of `lfjax infer` on a measurement set (`amortized.run_infer_set`), written all-or-nothing.

result.json: engine "infer", the route taken ("importance" with its ESS, "smc" with its
diagnostics, or "fit-importance" with each round's and the pooled ESS and whether that reaches
`MIN_POOLED_ESS`), the amortized importance diagnostics either way, the curve the proposal saw and its
out-of-distribution scores, the posterior summary (mean, sd, 5/50/95 %, width ratio to the
prior), the posterior predictive's rms relative misfit per curve, the refined solutions (as in
`lfjax fit`'s result.json) with the posterior mass of each, the spec and the set's provenance,
timings. Files: samples.csv (folded posterior draws), corner.png, band_<i>.png (90 % posterior
predictive per curve), fit_<i>.png (refined solutions per curve).
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np

from lfjax.engines import report as rep
from lfjax.engines.sample import fold_samples, summary
from lfjax.io.atomic import write_files

N_BANDS = 200


def _bands(result):
    p = result.problem
    s = result.samples
    sub = s[np.linspace(0, len(s) - 1, min(N_BANDS, len(s))).astype(int)]
    return rep.predictions(p, result.data, sub)


def predictive_rms(result, preds=None) -> dict[str, float]:
    """rms relative misfit (%) of the posterior predictive median of each curve."""
    preds = _bands(result) if preds is None else preds
    out = {}
    for info, d, pr in zip(result.problem.curves, result.data, preds):
        med = np.median(pr, axis=0)
        out[info.label] = float(100 * np.sqrt(np.mean(((med - d["values"]) / d["weight"]) ** 2)))
    return out


def posterior_table(result) -> list[dict]:
    from lfjax.engines.likelihood import draw_prior

    with jax.enable_x64(True):
        prior = fold_samples(result.problem, np.asarray(draw_prior(result.problem, jax.random.key(1), 4000)))
    return summary(result.problem, result.folded, prior)


def result_dict(result, table, rms) -> dict:
    """JSON-ready result (see the module docstring)."""
    imp, obs = result.importance, result.observed
    fit = rep.fit_result_dict(result.fit, result.measurement_set) if result.fit is not None else {
        "solutions": [], "spec": result.problem.spec.to_dict(), "measurement_set": result.measurement_set.to_dict(),
        "curves": [{"label": c.label, "kind": c.kind, "n_points": c.n, "noise_rel": c.noise} for c in result.problem.curves]}
    ood = {k: (v if k == "thresholds" else (bool(np.asarray(v)) if k == "flagged" else float(np.asarray(v))))
           for k, v in result.ood.items()}
    out = {
        "engine": "infer",
        "model": result.model_name,
        "route": result.route,
        "importance": {"n_draws": int(imp.theta.shape[0]), "ess": imp.ess, "ess_fraction": imp.ess_fraction,
                       "log_evidence": imp.log_evidence, "min_ess": result.config.min_ess,
                       "min_ess_fraction": result.config.min_ess_fraction},
        "smc": None,
        "proposal_curve": {"label": obs.label, "field_oe": obs.field_oe, "full_range": obs.full_range,
                           "cut_off_k": obs.t_cut_k},
        "ood": ood,
        "n_samples": int(result.folded.shape[0]),
        "posterior": table,
        "predictive_rms_rel_percent": rms,
        "solutions": fit["solutions"],
        "posterior_mass": list(result.posterior_mass),
        "curves": fit["curves"],
        "spec": fit["spec"],
        "mean_field": result.problem.mean_field,
        "measurement_set": fit["measurement_set"],
        "warnings": list(result.warnings),
        "timings_s": result.timings_s,
    }
    if result.smc is not None:
        s = result.smc
        out["smc"] = {"n_particles": int(s.samples.shape[0]), "n_steps": s.n_steps, "betas": s.betas.tolist(),
                      "ess_fraction": s.ess.tolist(), "acceptance": s.acceptance.tolist(),
                      "independence_acceptance": s.independence_acceptance.tolist(),
                      "log_evidence": s.log_evidence, "defensive": result.config.defensive, "wall_s": s.wall_s,
                      "final_unique_fraction": float(np.unique(s.samples, axis=0).shape[0] / s.samples.shape[0])}
    fi = getattr(result, "fit_importance", None)
    if fi is not None:
        out["fit_importance"] = {"n_draws": fi.n_draws, "n_components": fi.n_components,
                                 "ess_fraction_per_round": fi.ess.tolist(), "ess_pooled": fi.ess_pooled,
                                 "reliable": bool(fi.ess_pooled >= MIN_POOLED_ESS), "log_evidence": fi.log_evidence,
                                 "wall_s": fi.wall_s}
    return out


#: Pooled ESS below which a fit-importance posterior is reported as unreliable (as `lfjax sample`'s).
MIN_POOLED_ESS = 100


def write_outputs(result, out_dir) -> tuple[list[Path], dict]:
    """Writes the files of the module docstring; returns (paths, result dict)."""
    import matplotlib

    matplotlib.use("Agg")
    p = result.problem
    preds = _bands(result)
    table = posterior_table(result)
    obj = result_dict(result, table, predictive_rms(result, preds))
    writers = {
        "result.json": lambda path: Path(path).write_text(json.dumps(obj, indent=2, default=float)),
        "samples.csv": lambda path: Path(path).write_text(rep.samples_csv(p, result.folded)),
        "corner.png": rep.fig_writer(rep.corner_figure(p.theta_names, result.folded)),
    }
    fits = None
    if result.fit is not None and result.fit.solutions:
        fits = rep.predictions(p, result.data, np.stack([s.theta for s in result.fit.solutions[:5]]))
    for i in range(len(p.curves)):
        bands = np.quantile(preds[i], [0.05, 0.5, 0.95], axis=0)
        writers[f"band_{i + 1}.png"] = rep.fig_writer(rep.curve_figure(p, result.data, i, bands=bands))
        if fits is not None:
            writers[f"fit_{i + 1}.png"] = rep.fig_writer(rep.curve_figure(p, result.data, i, fits=fits[i]))
    return write_files(out_dir, writers), obj
