"""Outputs of the fit and sample engines: result.json, samples.csv, figures, written all-or-nothing.

result.json lists, per solution: `params` (dict, K), `param_errors`, `chi_dia_emu_per_mol`, `f_m`,
`mean_field_mol_per_emu` (null when not fitted), their 1-sigma errors, `objective` (the sum of
squared weighted residuals that the fit minimises), `rms_rel_residual` per curve and overall,
`dlogL` to the best, `levels_k` (K above the ground level, one per Kramers doublet) and
`g_ground` (principal g-values of the ground doublet, `engines.derived`); the sampler's
result.json has `derived`: the posterior of the first excited levels and those g-values. Both
also give the noise level of each curve (given or estimated), the model spec and the measurement
set's provenance. samples.csv: one column per free parameter (named as in
result.json), then chi_dia_emu_per_mol, f_m and the mean field if fitted.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jax
import numpy as np

from lfjax.engines import derived, exported
from lfjax.engines import likelihood as lk
from lfjax.engines._batches import in_batches
from lfjax.io.atomic import write_files


def _solution_dict(problem: lk.Problem, s) -> dict:
    k = problem.n_free
    names = problem.theta_names
    params = {n: float(v) for n, v in zip(problem.free, s.theta[:k])} | {n: v for n, v in problem.fixed}
    out = {
        "params": {n: params[n] for n in problem.names},
        "param_errors": {n: float(e) for n, e in zip(problem.free, s.errors[:k])},
        "fixed": [n for n, _ in problem.fixed],
    }
    for i, name in enumerate(names[k:], start=k):
        out[name] = float(s.theta[i])
        out[name + "_error"] = float(s.errors[i])
    if not problem.mean_field:
        out[lk.MEAN_FIELD] = None
    e, g = derived.derived(problem, s.theta[None])
    out |= {
        "levels_k": e[0].tolist(),
        "g_ground": g[0].tolist(),
        "objective": s.objective,
        "rms_rel_residual": {c.label: float(r) for c, r in zip(problem.curves, s.rms_rel_residual)},
        "rms_rel_residual_overall": s.rms_rel_overall,
        "dlogL": s.dlogL,
        "converged": s.converged,
    }
    return out


def _curves_dict(problem: lk.Problem, sigmas, estimated) -> list[dict]:
    return [{"label": c.label, "kind": c.kind, "n_points": c.n, "noise_rel": float(s), "noise_estimated": bool(e),
             "direction": c.direction if isinstance(c.direction, str) else list(c.direction)}
            for c, s, e in zip(problem.curves, sigmas, estimated)]


def fit_result_dict(result, measurement_set=None) -> dict:
    """JSON-ready result of `fit.run_fit`."""
    p = result.problem
    return {
        "engine": "fit",
        "spec": p.spec.to_dict(),
        "mean_field": p.mean_field,
        "priors": {"sigma_dia_emu_per_mol": p.priors.sigma_dia_emu_per_mol, "sigma_m": p.priors.sigma_m,
                   "sigma_lambda_mol_per_emu": p.priors.sigma_lambda_mol_per_emu},
        "curves": _curves_dict(p, result.sigmas, result.noise_estimated),
        "n_starts": result.n_starts,
        "n_finite": result.n_finite,
        "wall_s": result.wall_s,
        "solutions": [_solution_dict(p, s) for s in result.solutions],
        "measurement_set": None if measurement_set is None else measurement_set.to_dict(),
    }


def samples_csv(problem: lk.Problem, samples: np.ndarray) -> str:
    """CSV text: header of theta names, one row per draw."""
    buf = io.StringIO()
    np.savetxt(buf, samples, delimiter=",", header=",".join(problem.theta_names), comments="", fmt="%.10g")
    return buf.getvalue()


def sample_result_dict(posterior, folded, table, measurement_set=None, noise_plug_in: bool = False,
                       derived_values=None) -> dict:
    """JSON-ready result of `sample.run_sample` (summaries of the folded draws).

    `noise_plug_in`: the curves' noise levels were estimated by a fit and conditioned on.
    `derived_values`: `derived.quantities` of the draws where already computed.
    """
    p = posterior.problem
    out = {
        "engine": "sample",
        "spec": p.spec.to_dict(),
        "mean_field": p.mean_field,
        "curves": [{"label": c.label, "kind": c.kind, "n_points": c.n, "noise_rel": c.noise} for c in p.curves],
        "noise_levels": "plug-in (estimated by the fit, conditioned on)" if noise_plug_in
        else "given per curve, else integrated out (null)",
        "n_samples": int(folded.shape[0]),
        "posterior": table,
        "derived": derived.summarise(*(derived_values or derived.quantities(p, posterior.samples))),
        "route": route_of(posterior),
        "diagnostics": _sampler_diagnostics(posterior, folded),
        "wall_s": posterior.wall_s,
        "measurement_set": None if measurement_set is None else measurement_set.to_dict(),
    }
    if p.free == ("D", "E"):
        out["p_d_negative"] = float(np.mean(folded[:, 0] < 0))
    return out


def route_of(posterior) -> str:
    """"smc", "nested" or "importance": the engine that drew `posterior`."""
    if hasattr(posterior, "betas"):
        return "smc"
    return "nested" if hasattr(posterior, "n_live") else "importance"


def _sampler_diagnostics(posterior, folded) -> dict:
    # distinct draws of the entries the sampler moved (nuisances drawn afterwards always differ)
    moved = lk.sampled_target(posterior.problem, getattr(posterior, "integrated_nuisances", False)).keep
    unique = float(np.unique(folded[:, moved], axis=0).shape[0] / folded.shape[0])
    route = route_of(posterior)
    if route == "nested":
        return {"n_live": posterior.n_live, "n_inner": posterior.n_inner, "n_rounds": posterior.n_iterations,
                "n_dead": posterior.n_dead, "ess": posterior.ess, "log_evidence": posterior.log_evidence,
                "log_evidence_sd": posterior.log_evidence_sd, "log_evidence_history": posterior.log_z_history.tolist(),
                "integrated_nuisances": posterior.integrated_nuisances, "final_unique_fraction": unique,
                "chains": posterior.chains}
    if route == "smc":
        return {"start": posterior.start, "n_steps": posterior.n_steps, "betas": posterior.betas.tolist(),
                "ess_fraction": posterior.ess.tolist(), "acceptance": posterior.acceptance.tolist(),
                "independence_acceptance": posterior.independence_acceptance.tolist(),
                "log_evidence": posterior.log_evidence, "final_unique_fraction": unique,
                "integrated_nuisances": posterior.integrated_nuisances, "replicas": posterior.replicas}
    ess = float(posterior.ess_pooled)
    return {"ess_fraction_per_round": posterior.ess.tolist(), "ess": ess, "ess_of": "all rounds pooled",
            "reliable": ess >= 100,
            "n_draws_per_round": posterior.n_draws, "n_components": posterior.n_components,
            "log_evidence": posterior.log_evidence, "final_unique_fraction": unique}


def predictions(problem: lk.Problem, data, thetas: np.ndarray, chunk: int = 16) -> list[np.ndarray]:
    """Per curve (len(thetas), n) model values (jitted, in fixed chunks)."""
    thetas = np.asarray(thetas, float).reshape(-1, problem.n_theta)
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        return in_batches(lambda t: exported.call("likelihood.predict", lk.predict_batch, (problem,), t, jdata),
                          thetas, chunk)


def _x(info, d):
    return (d["temps_k"], "T (K)") if info.kind == "chi" else (d["fields_oe"] / 1e4, "H (T)")


def _y(info, d, values):
    return (values * d["temps_k"], "chi T (emu K/mol)") if info.kind == "chi" else (values, "M (mu_B/ion)")


def curve_figure(problem, data, i, fits=None, bands=None):
    """Data, fitted curves (fits: (m, n)) or a 90 % band (bands: (lo, median, hi)), residuals."""
    import matplotlib.pyplot as plt

    info, d = problem.curves[i], data[i]
    x, xlabel = _x(info, d)
    y, ylabel = _y(info, d, d["values"])
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(6, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot(x, y, "k.", ms=3, label="data")
    ref = None
    if fits is not None:
        for j, f in enumerate(fits):
            ax.plot(x, _y(info, d, f)[0], "-", lw=1, label=f"solution {j + 1}")
        ref = fits[0]
    if bands is not None:
        lo, med, hi = bands
        ax.fill_between(x, _y(info, d, lo)[0], _y(info, d, hi)[0], color="C0", alpha=0.3, label="90 % predictive")
        ax.plot(x, _y(info, d, med)[0], "C0-", lw=1)
        ref = med
    if ref is not None:
        axr.plot(x, 100 * (d["values"] - ref) / d["weight"], "k.", ms=3)
    axr.axhline(0, color="gray", lw=0.5)
    axr.set_ylabel("resid. (%)")
    axr.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(info.label)
    ax.legend(fontsize=7)
    if info.kind == "chi":
        ax.set_xscale("log")
    return fig


def _axis_scale(values) -> int:
    """Power of ten p such that values / 10^p reads with short tick labels (0 where |values| ~ 0.1-1000)."""
    top = float(np.max(np.abs(values))) if np.size(values) else 0.0
    if not np.isfinite(top) or top == 0.0 or 1e-1 <= top < 1e3:
        return 0
    return int(np.floor(np.log10(top)))


def corner_figure(names, samples):
    """Pairwise histograms of the draws (n, d).

    A parameter far from unity (B60 ~ 1e-5 K) is shown in units of its power of ten, named in its
    axis label ("B60 (1e-5)"), so no offset text overlaps the neighbouring panels.
    """
    import matplotlib.pyplot as plt

    samples = np.asarray(samples, float)
    powers = [_axis_scale(samples[:, k]) for k in range(samples.shape[1])]
    samples = samples / 10.0 ** np.asarray(powers)
    names = [f"{n} (1e{p})" if p else n for n, p in zip(names, powers)]
    d = samples.shape[1]
    fig, axes = plt.subplots(d, d, figsize=(1.8 * d + 1, 1.8 * d + 1), squeeze=False)
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(samples[:, i], bins=40, color="C0")
            else:
                ax.hist2d(samples[:, j], samples[:, i], bins=40, cmap="Blues")
            if i == d - 1:
                ax.set_xlabel(names[j], fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(names[i], fontsize=7)
            # tick labels on the outer panels only: a row shares its y variable with the first
            # column, a column its x variable with the last row, and inner labels ("0.9875")
            # spilled into the neighbouring panels
            ax.tick_params(labelsize=5, labelleft=j == 0 and i > 0, labelbottom=i == d - 1)
            ax.ticklabel_format(useOffset=False, style="plain")
            ax.locator_params(nbins=4)  # few ticks: narrow posteriors have long tick labels
    return fig


def summary_figure(problem, solutions):
    """Objective and rms per curve of every listed solution."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.bar(range(1, len(solutions) + 1), [s.objective for s in solutions])
    a.set_xlabel("solution")
    a.set_ylabel("objective")
    for j, s in enumerate(solutions):
        b.plot(range(len(problem.curves)), 100 * s.rms_rel_residual, "o-", label=f"solution {j + 1}")
    b.set_xticks(range(len(problem.curves)), [c.label for c in problem.curves], rotation=30, fontsize=7)
    b.set_ylabel("rms rel. residual (%)")
    b.legend(fontsize=7)
    return fig


def fig_writer(fig):
    """A writer for `io.atomic.write_files` that saves `fig` as PNG and closes it."""

    def write(path):
        import matplotlib.pyplot as plt

        fig.savefig(path, dpi=110, format="png", bbox_inches="tight")
        plt.close(fig)

    return write


def _json_writer(obj):
    return lambda path: Path(path).write_text(json.dumps(obj, indent=2, default=float))


def write_fit(result, data, out_dir, measurement_set=None) -> list[Path]:
    """result.json, one fit_<i>.png per curve and summary.png, all-or-nothing."""
    import matplotlib

    matplotlib.use("Agg")
    p = result.problem
    writers = {"result.json": _json_writer(fit_result_dict(result, measurement_set))}
    if result.solutions:
        fits = predictions(p, data, np.stack([s.theta for s in result.solutions[:5]]))
        for i in range(len(p.curves)):
            writers[f"fit_{i + 1}.png"] = fig_writer(curve_figure(p, data, i, fits=fits[i]))
        writers["summary.png"] = fig_writer(summary_figure(p, result.solutions))
    return write_files(out_dir, writers)


def write_sample(posterior, folded, table, data, out_dir, measurement_set=None, n_bands: int = 200,
                 noise_plug_in: bool = False, derived_values=None) -> list[Path]:
    """result.json, samples.csv, corner.png, derived.png (levels and ground g-values) and one
    band_<i>.png per curve, all-or-nothing. `derived_values`: `derived.quantities` of the draws
    where already computed."""
    import matplotlib

    matplotlib.use("Agg")
    p = posterior.problem
    sub = posterior.samples[np.linspace(0, len(posterior.samples) - 1, min(n_bands, len(posterior.samples))).astype(int)]
    preds = predictions(p, data, sub)
    derived_values = derived_values or derived.quantities(p, posterior.samples)
    writers = {
        "result.json": _json_writer(sample_result_dict(posterior, folded, table, measurement_set, noise_plug_in,
                                                       derived_values)),
        "samples.csv": lambda path: Path(path).write_text(samples_csv(p, folded)),
        "corner.png": fig_writer(corner_figure(p.theta_names, folded)),
        "derived.png": fig_writer(corner_figure(*derived_values)),
    }
    for i in range(len(p.curves)):
        bands = np.quantile(preds[i], [0.05, 0.5, 0.95], axis=0)
        writers[f"band_{i + 1}.png"] = fig_writer(curve_figure(p, data, i, bands=bands))
    return write_files(out_dir, writers)
