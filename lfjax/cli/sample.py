"""`lfjax sample`: the posterior of a measurement set by tempered SMC (blackjax) or, where one
likelihood evaluation is too costly for SMC in the time budget, by importance sampling around the
global fit's optima (`lfjax.engines.importance`); `--route auto` chooses by timing a batch of
likelihood evaluations. `--route nested` samples by nested sampling (`lfjax.engines.nested`)."""

from __future__ import annotations

import dataclasses
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
    particles: Annotated[int, typer.Option(help="SMC particles (nested route: posterior draws kept).")] = 1000,
    mcmc_steps: Annotated[int, typer.Option(help="Random-walk steps per tempering step.")] = 10,
    route: Annotated[str, typer.Option(help="auto | smc | importance (around the fit's optima) | nested (nested "
                                            "sampling from the prior: no tempering, evidence with its error).")] = "auto",
    live: Annotated[int, typer.Option(help="Nested route: live points.")] = 200,
    chain_steps: Annotated[int, typer.Option(help="Nested route: steps kept of the Metropolis chains run at the "
                                                  "posterior from the nested draws (they travel along thin curved "
                                                  "valleys that nested sampling's moves do not); 0: the nested "
                                                  "draws themselves.")] = 2000,
    regions: Annotated[int, typer.Option(help="Nested route: regions the live points may be cut into where they "
                                              "fall apart into separate pockets (each pocket then keeps its points "
                                              "and its share of the evidence); 1: none.")] = 1,
    start: Annotated[str, typer.Option(help="SMC route: temper from the prior, from the global fit's optima (plus "
                                            "20 % prior), or both (SMC from the prior, then from its draws and "
                                            "the fit's optima: narrow modes either search misses are kept).")] = "prior",
    replicas: Annotated[int, typer.Option(help="SMC route: independent runs (seeds seed, seed + 1, ...), pooled by "
                                               "their evidence and checked for agreement (log evidence span, "
                                               "R-hat); a warning says when they disagree.")] = 1,
    budget_min: Annotated[float, typer.Option(help="Time budget (min) that --route auto gives SMC.")] = 10.0,
    draws: Annotated[int, typer.Option(help="Importance route: proposal draws per round.")] = 2000,
    starts: Annotated[Optional[int], typer.Option(help="Importance route: prior-drawn starts of the fit.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed.")] = None,
    plug_in_noise: Annotated[bool, typer.Option(
        "--plug-in-noise", help="Estimate each curve's noise level by the global fit and condition on it "
        "(empirical Bayes) instead of integrating it out.")] = False,
    out: fs.Out = None,
) -> None:
    """Posterior over ligand-field parameters and nuisances; samples.csv, corner plot, predictive bands."""
    from lfjax.engines.report import route_of, write_sample
    from lfjax.engines.route import choose_route
    from lfjax.engines.sample import fold_samples, summary

    mset, problem, data, opts = fs.prepare(files, preset=preset, params=params, fix=fix, unit=unit,
                                           mean_field=mean_field, ion=ion, noise=noise, sigma_dia=sigma_dia,
                                           sigma_m=sigma_m, scale_k=scale_k, d_max=d_max,
                                           ions_per_formula=ions_per_formula)
    for w in mset.warnings:
        typer.echo(f"warning: {w}", err=True)
    from lfjax.errors import UserInputError

    if route not in ("auto", "smc", "importance", "nested"):
        raise UserInputError(f"--route must be auto, smc, importance or nested; got {route!r}")
    if live < 2:
        raise UserInputError(f"--live must be at least 2; got {live}")
    if regions < 1:
        raise UserInputError(f"--regions must be at least 1; got {regions}")
    if chain_steps < 0:
        raise UserInputError(f"--chain-steps must be 0 or more; got {chain_steps}")
    if start not in ("prior", "fit", "both"):
        raise UserInputError(f"--start must be prior, fit or both; got {start!r}")
    if replicas < 1:
        raise UserInputError(f"--replicas must be at least 1; got {replicas}")
    seed = seed if seed is not None else int(opts.get("seed", 0))
    fit_result = None
    if plug_in_noise and any(c.noise is None for c in problem.curves):
        from lfjax.engines.fit import run_fit
        from lfjax.engines.likelihood import with_noise

        fit_result = run_fit(problem, data, n_starts=starts or int(opts.get("starts", 32)), seed=seed,
                             progress=lambda message: typer.echo(f"fit: {message}", err=True))
        problem = with_noise(problem, fit_result.sigmas)
        typer.echo("noise levels from the fit (conditioned on): " + ", ".join(
            f"{c.label} {100 * c.noise:.2f} %" for c in problem.curves), err=True)
    if route == "auto":
        route, estimate = choose_route(problem, data, particles, mcmc_steps, budget_min)
        typer.echo(f"route: {route} (SMC estimated at {estimate / 60:.1f} min against a budget of {budget_min:g} min)",
                   err=True)
    if route == "nested":
        from lfjax.engines.nested import run_nested

        post = run_nested(problem, data, n_live=live, n_draws=particles, seed=seed, chain_steps=chain_steps,
                          max_regions=regions,
                          progress=lambda message: typer.echo(f"nested: {message}", err=True))
    elif route == "smc":
        post = _smc(problem, data, start, particles, mcmc_steps, starts or int(opts.get("starts", 32)), seed, replicas)
    else:
        post = _importance(problem, data, draws, starts or int(opts.get("starts", 32)), seed, fit_result)
    folded = fold_samples(problem, post.samples)
    import jax
    import numpy as np

    from lfjax.engines.likelihood import draw_prior

    with jax.enable_x64(True):
        prior = fold_samples(problem, np.asarray(draw_prior(problem, jax.random.key(1), 4000)))
    table = summary(problem, folded, prior)
    typer.echo(mset.describe())
    if route_of(post) == "nested":
        typer.echo(f"nested sampling: {post.n_iterations} rounds, {post.n_dead} weighted points (ESS {post.ess:.0f}), "
                   f"log evidence {post.log_evidence:.2f} +- {post.log_evidence_sd:.2f}"
                   + (" (chi_dia, f_m integrated out in closed form)" if post.integrated_nuisances else "")
                   + (f", {post.n_regions} regions" if post.n_regions > 1 else ""))
        if post.chains is not None:
            ch = post.chains
            typer.echo(f"draws from {ch['n_chains']} Metropolis chains x {ch['n_keep']} steps (after {ch['n_adapt']} "
                       f"adaptation steps) started at the nested draws: acceptance {ch['acceptance']:.2f}, "
                       f"split R-hat max {max(ch['rhat']):.2f}"
                       + (" (chains in separate modes or not mixed: the modes' weights are those of the nested "
                          "draws)" if max(ch['rhat']) > 1.1 else ""))
    elif route_of(post) == "smc":
        typer.echo(f"{post.n_steps} tempering steps, final ESS {post.ess[-1]:.2f} N, log evidence {post.log_evidence:.2f}"
                   + (" (chi_dia, f_m integrated out in closed form)" if post.integrated_nuisances else ""))
        if post.replicas is not None:
            rep = post.replicas
            worst = max(rep["rhat"], key=rep["rhat"].get)
            typer.echo(f"{rep['n_runs']} independent runs: log evidence {', '.join(f'{z:.2f}' for z in rep['log_evidence'])} "
                       f"(span {rep['log_evidence_span']:.2f}), largest R-hat {rep['max_rhat']:.2f} ({worst})")
            if not rep["agree"]:
                typer.echo("warning: the independent runs disagree (log evidence span > 1 or R-hat > 1.1): each lost "
                           "modes the others kept, so the pooled draws may still miss posterior mass; try more "
                           "--particles, --mcmc-steps, --replicas or --start both", err=True)
    else:
        typer.echo(f"importance sampling: {post.n_components} proposal components, ESS per round "
                   f"{', '.join(f'{e * post.n_draws:.0f}' for e in post.ess)} of {post.n_draws} draws "
                   f"(pooled: {post.ess_pooled:.0f}), log evidence {post.log_evidence:.2f}")
        if post.ess_pooled < MIN_ESS:
            typer.echo(f"warning: ESS {post.ess_pooled:.0f} < {MIN_ESS}: the proposal around the fit's optima "
                       "does not match the posterior, so these draws are not a reliable posterior; try more --starts "
                       "(a better converged fit), more --draws, or --route smc", err=True)
    typer.echo(f"{'name':>24} {'mean':>11} {'sd':>10} {'5%':>11} {'95%':>11} {'post/prior':>10}")
    for r in table:
        typer.echo(f"{r['name']:>24} {r['mean']:11.4g} {r['sd']:10.3g} {r['q05']:11.4g} {r['q95']:11.4g} {r['width_ratio']:10.3f}")
    from lfjax.engines import derived

    derived_values = derived.quantities(problem, post.samples)  # levels (K) and ground g-values
    for name, r in derived.summarise(*derived_values).items():
        if name in derived.G_NAMES:  # fixed point: a g that vanishes by symmetry reads 0.0000, not 1e-06
            typer.echo(f"{name:>24} {r['mean']:11.4f} {r['sd']:10.4f} {r['q05']:11.4f} {r['q95']:11.4f} {'':>10}")
        else:
            typer.echo(f"{name:>24} {r['mean']:11.4g} {r['sd']:10.3g} {r['q05']:11.4g} {r['q95']:11.4g} {'':>10}")
    if problem.free == ("D", "E"):
        typer.echo(f"P(D < 0) on the canonical wedge: {float((folded[:, 0] < 0).mean()):.3f}")
    if out is not None:
        paths = write_sample(post, folded, table, data, out, mset, noise_plug_in=fit_result is not None,
                             derived_values=derived_values)
        typer.echo(f"wrote {len(paths)} files to {out} ({post.wall_s:.1f} s)", err=True)


def _smc(problem, data, start: str, particles: int, mcmc_steps: int, starts: int, seed: int, replicas: int = 1):
    """The SMC route: one run, or `replicas` independent runs (one shared fit) pooled by evidence."""
    from lfjax.engines.sample import pool_replicas, seeding_fit

    fit = None
    if start in ("fit", "both"):
        fit = seeding_fit(problem, data, starts, seed=seed,
                          progress=lambda message: typer.echo(f"fit: {message}", err=True))
        spread = -min((sol.dlogL for sol in fit.solutions), default=0.0)
        typer.echo(f"fit: {len(fit.solutions)} optima within {spread:.1f} log-likelihood units seed the SMC "
                   f"({fit.wall_s:.0f} s)", err=True)
    runs = []
    for k in range(replicas):
        runs.append(_smc_run(problem, data, start, particles, mcmc_steps, seed + k, fit))
        if replicas > 1:
            typer.echo(f"run {k + 1} of {replicas}: log evidence {runs[-1].log_evidence:.2f} ({runs[-1].wall_s:.0f} s)",
                       err=True)
    post = runs[0] if replicas == 1 else pool_replicas(problem, runs, seed=seed)
    return dataclasses.replace(post, wall_s=post.wall_s + (fit.wall_s if fit is not None else 0.0))


def _smc_run(problem, data, start: str, particles: int, mcmc_steps: int, seed: int, fit):
    from lfjax.engines.sample import run_sample, run_sample_seeded

    prior_run = None
    if start in ("prior", "both"):
        prior_run = run_sample(problem, data, n_particles=particles, n_mcmc=mcmc_steps, seed=seed)
        if start == "prior":
            return prior_run
        typer.echo(f"SMC from the prior: {prior_run.n_steps} steps in {prior_run.wall_s:.0f} s", err=True)
    post = run_sample_seeded(problem, data, fit, prior_run=prior_run, n_particles=particles, n_mcmc=mcmc_steps,
                             seed=seed)
    return dataclasses.replace(post, wall_s=post.wall_s + (prior_run.wall_s if prior_run is not None else 0.0))


#: Importance route: an ESS below this is reported as an unreliable posterior.
MIN_ESS = 100

def _importance(problem, data, draws: int, starts: int, seed: int, result=None):
    from rich.progress import Progress

    from lfjax.engines.fit import run_fit
    from lfjax.engines.importance import run_importance

    if result is None:
        result = run_fit(problem, data, n_starts=starts, seed=seed,
                         progress=lambda message: typer.echo(f"fit: {message}", err=True))
    typer.echo(f"fit: {len(result.solutions)} distinct optima in {result.wall_s:.0f} s", err=True)
    with Progress(transient=True) as bar:
        task = bar.add_task("importance draws", total=draws)

        def report(done, total, rnd):
            bar.update(task, completed=done, description=f"importance draws, round {rnd + 1}")

        return run_importance(problem, data, result, n_draws=draws, seed=seed, progress=report)
