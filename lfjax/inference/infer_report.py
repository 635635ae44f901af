"""Outputs of `lfjax infer`: result.json, samples.csv and three figures, written all-or-nothing."""

from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path

import numpy as np

from lfjax.inference.infer import InferResult
from lfjax.inference.report import input_record, json_float, solution_record
from lfjax.io.atomic import write_files
from lfjax.symmetry import de_group, fold

#: Latent-space neighbours shown in the "VAE plot".
VAE_NEIGHBOURS = 400


def result_dict(result: InferResult) -> dict:
    """The content of result.json (same layout as `lfjax fit`, plus the posterior)."""
    m = result.measurement
    best = result.solutions[0].log_likelihood
    solutions = []
    for s, mass in zip(result.solutions, result.posterior_mass):
        record = solution_record(s, best)
        record["posterior_mass"] = mass
        solutions.append(record)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(result.config).items()}
    model = result.model
    return {
        "ion": result.problem.ion.name,
        "model": result.model_name,
        "model_source": str(model.source) if getattr(model, "source", None) else None,
        "input": input_record(m, result.warnings),
        "data": {"T_K": m.temps_k.tolist(), "chiT_emu_K_per_mol": m.chi_t_emu_k_per_mol.tolist()},
        "solutions": solutions,
        "equivalents": [[json_float(d), json_float(e)] for d, e in result.equivalents],
        "posterior": {
            "n_samples": int(result.samples.shape[0]),
            "modes": [{"D_K": md.d_k, "E_K": md.e_k, "mass": md.mass} for md in result.modes],
            "ood": {
                "flagged": bool(np.asarray(result.ood["flagged"])),
                "latent_distance": float(np.asarray(result.ood["latent_distance"])),
                "recon_rel_rms": float(np.asarray(result.ood["recon_rel_rms"])),
                "thresholds": result.ood["thresholds"],
            },
        },
        "residual_definition": "(chiT_model - chiT_data) / chiT_data",
        "posterior_mass_definition": "share of posterior draws nearest (modulo the six equivalents) to the solution",
        "timings_s": result.timings_s,
        "config": config,
    }


def samples_csv(result: InferResult) -> str:
    """Posterior draws: D, E (K, as drawn), chi_dia (emu/mol), f_m, and canonical D, E (K)."""
    can = fold(de_group(), np.asarray(result.samples[:, :2], np.float64))
    out = io.StringIO()
    out.write("D_K,E_K,chi_dia_emu_per_mol,f_m,D_canonical_K,E_canonical_K\n")
    for row, c in zip(result.samples, can):
        out.write(",".join(f"{v:.6g}" for v in (*row[:4], *c)) + "\n")
    return out.getvalue()


def figures(result: InferResult) -> dict:
    """posterior.png (VAE-INN plot), vae.png (latent neighbours), fit.png (data, refined curves)."""
    from lfjax.plotting.fit import fit_figure
    from lfjax.plotting.posterior import de_density_figure

    model = result.model
    d_max = float(model.config.data.d_max_k)
    name = Path(result.measurement.source).name
    best = result.solutions[0].values
    crosses = result.equivalents
    label = f"best fit D = {best['D']:.2f} K, E = {best['E']:.2f} K"
    post = de_density_figure(result.samples[:, :2], crosses, f"{name}: {result.samples.shape[0]} posterior draws (VAE-INN)",
                             d_max_k=d_max * 1.1, cross_label=label)
    nearest = model.nearest_in_bank(result.curve_on_grid, VAE_NEIGHBOURS)
    vae = de_density_figure(model.latent_bank()["theta"][nearest, :2], crosses,
                            f"{name}: {VAE_NEIGHBOURS} training curves nearest in latent space (VAE)",
                            d_max_k=d_max * 1.1, cross_label=label)
    m = result.measurement
    models = {}
    for i, (s, mass) in enumerate(zip(result.solutions[:4], result.posterior_mass)):
        models[(f"#{i + 1} D={s.values['D']:.2f} K, E={s.values['E']:.2f} K, mass {mass:.2f}, "
                f"rms {100 * s.rms_rel_residual:.2f} %")] = m.chi_t_emu_k_per_mol * (1 + s.residuals_rel)
    fit = fit_figure(m.temps_k, m.chi_t_emu_k_per_mol, models, title=f"{result.problem.ion.name}: {name}, {m.segment}")
    return {"posterior.png": post, "vae.png": vae, "fit.png": fit}


def write_outputs(result: InferResult, out_dir: str | os.PathLike) -> list[Path]:
    """Writes result.json, samples.csv, posterior.png, vae.png and fit.png, all or nothing."""
    text = json.dumps(result_dict(result), indent=2, allow_nan=False)
    csv_text = samples_csv(result)
    figs = figures(result)
    writers = {"result.json": lambda p: p.write_text(text), "samples.csv": lambda p: p.write_text(csv_text)}
    for fname, fig in figs.items():
        writers[fname] = lambda p, fig=fig: fig.savefig(p, dpi=110, format="png", bbox_inches="tight")
    return write_files(out_dir, writers)


def summary_table(result: InferResult) -> str:
    """A short text table of the solutions, best first."""
    lines = [f"{'#':>2}  {'D (K)':>14}  {'E (K)':>14}  {'chi_dia (emu/mol)':>17}  {'f_m':>6}  {'mass':>5}  {'rms %':>6}  {'dlogL':>6}"]
    best = result.solutions[0].log_likelihood
    undetermined = False

    def pm(err):
        nonlocal undetermined
        if np.isfinite(err):
            return f"± {err:<5.2f}"
        undetermined = True
        return "undeter."

    for i, (s, mass) in enumerate(zip(result.solutions, result.posterior_mass)):
        v, e = s.values, s.errors
        lines.append(
            f"{i + 1:>2}  {v['D']:>7.2f} {pm(e['D'])} {v['E']:>7.2f} {pm(e['E'])} {v['chi_dia']:>17.5f}  "
            f"{v['f_m']:>6.3f}  {mass:>5.2f}  {100 * s.rms_rel_residual:>6.2f}  {s.log_likelihood - best:>6.1f}"
        )
    if undetermined:
        lines.append("undeter.: the curve does not change to first order in that parameter at the solution "
                     "(e.g. E = 0, where chi is even in E); its posterior draws are in samples.csv")
    return "\n".join(lines)
