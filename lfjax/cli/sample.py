"""`lfjax sample`: the posterior of a measurement set by tempered SMC (blackjax)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lfjax.cli import fit_set as fs
from lfjax.cli._common import guarded


@guarded
def sample(
    files: fs.Files,
    preset: fs.Preset = None,
    params: fs.Params = None,
    fix: fs.Fix = None,
    unit: fs.Unit = None,
    mean_field: fs.MeanField = None,
    ion: fs.Ion = None,
    noise: fs.Noise = None,
    sigma_dia: fs.SigmaDia = 0.002,
    sigma_m: fs.SigmaM = 0.02,
    scale_k: fs.ScaleK = None,
    d_max: fs.DMax = 15.0,
    ions_per_formula: fs.IonsPerFormula = None,
    particles: Annotated[int, typer.Option(help="SMC particles.")] = 1000,
    mcmc_steps: Annotated[int, typer.Option(help="Random-walk steps per tempering step.")] = 10,
    seed: Annotated[Optional[int], typer.Option(help="Seed.")] = None,
    out: fs.Out = None,
) -> None:
    """Posterior over ligand-field parameters and nuisances; samples.csv, corner plot, predictive bands."""
    from lfjax.engines.report import write_sample
    from lfjax.engines.sample import fold_samples, run_sample, summary

    mset, problem, data, opts = fs.prepare(files, preset=preset, params=params, fix=fix, unit=unit,
                                           mean_field=mean_field, ion=ion, noise=noise, sigma_dia=sigma_dia,
                                           sigma_m=sigma_m, scale_k=scale_k, d_max=d_max,
                                           ions_per_formula=ions_per_formula)
    for w in mset.warnings:
        typer.echo(f"warning: {w}", err=True)
    post = run_sample(problem, data, n_particles=particles, n_mcmc=mcmc_steps,
                      seed=seed if seed is not None else int(opts.get("seed", 0)))
    folded = fold_samples(problem, post.samples)
    import jax
    import numpy as np

    from lfjax.engines.likelihood import draw_prior

    with jax.enable_x64(True):
        prior = fold_samples(problem, np.asarray(draw_prior(problem, jax.random.key(1), 4000)))
    table = summary(problem, folded, prior)
    typer.echo(mset.describe())
    typer.echo(f"{post.n_steps} tempering steps, final ESS {post.ess[-1]:.2f} N, log evidence {post.log_evidence:.2f}")
    typer.echo(f"{'name':>24} {'mean':>11} {'sd':>10} {'5%':>11} {'95%':>11} {'post/prior':>10}")
    for r in table:
        typer.echo(f"{r['name']:>24} {r['mean']:11.4g} {r['sd']:10.3g} {r['q05']:11.4g} {r['q95']:11.4g} {r['width_ratio']:10.3f}")
    if problem.free == ("D", "E"):
        typer.echo(f"P(D < 0) on the canonical wedge: {float((folded[:, 0] < 0).mean()):.3f}")
    if out is not None:
        paths = write_sample(post, folded, table, data, out, mset)
        typer.echo(f"wrote {len(paths)} files to {out} ({post.wall_s:.1f} s)", err=True)
