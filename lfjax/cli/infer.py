"""`lfjax infer`: the amortized posterior of a measured chi T (T), or of a whole measurement set.

One data file with a (D, E) model (the default): the posterior over (D, E) of that curve, its
modes refined by least squares (`inference.infer.run_infer`). A set file (.toml), several files,
or any other model: draws from the model on the curve it knows, made exact for everything
measured by importance weights or SMC (`inference.amortized.run_infer_set`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lfjax.cli import _reader_options as ro
from lfjax.cli._common import enable_compilation_cache, guarded

#: Compilations at least this long (s) go to the persistent cache (each later run saves them).
MIN_CACHED_COMPILE_S = 0.05

DataArgs = Annotated[list[Path], typer.Argument(help="A measurement file (.dat or table), several files, or a set file (.toml).")]


def _is_single_file_de(data: list[Path], model: str) -> bool:
    if len(data) != 1 or data[0].suffix.lower() == ".toml":
        return False
    if model == "default":
        return True
    from lfjax.models.stored import find_step_dir, read_meta
    from lfjax.models.trained import shipped_model_path

    try:
        path = shipped_model_path(model) if "/" not in model and not Path(model).exists() else Path(model)
        raw = read_meta(find_step_dir(path))["config"]["data"]
    except Exception:  # noqa: BLE001 - load_model reports a broken model with its own message
        return False
    return str(raw.get("preset", "DE")).strip().lower() == "de" and not raw.get("params")


@guarded
def infer(
    data: DataArgs,
    model: Annotated[str, typer.Option(help="'default', a shipped model (er3_axial, dy3_axial) or a train workdir / checkpoint folder.")] = "default",
    ion: Annotated[Optional[str], typer.Option(help="Ion of the sample; must match the model's.")] = None,
    samples: Annotated[int, typer.Option(help="Posterior draws.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the posterior draws.")] = 0,
    no_grid_check: Annotated[bool, typer.Option("--no-grid-check", help="Skip the brute-force completeness scan (single-file (D, E)).")] = False,
    route: Annotated[str, typer.Option(help="Sets: auto (where the ESS is low: SMC if it fits 10 min, else importance around the fit), importance, smc or fit-importance.")] = "auto",
    min_ess: Annotated[float, typer.Option(help="Sets: SMC below this effective sample size.")] = 100.0,
    min_ess_fraction: Annotated[float, typer.Option(help="Sets: SMC below this ESS / draws.")] = 0.05,
    particles: Annotated[int, typer.Option(help="Sets: SMC particles.")] = 1000,
    mean_field: Annotated[Optional[bool], typer.Option("--mean-field/--no-mean-field", help="Sets: fit the mean field lambda.")] = None,
    noise: Annotated[Optional[float], typer.Option(help="Sets: relative noise of every curve (default: given, else integrated out).")] = None,
    refine: Annotated[bool, typer.Option("--refine/--no-refine", help="Sets: refine the posterior modes by least squares.")] = True,
    mass_mg: ro.MassMg = None,
    molar_mass: ro.MolarMass = None,
    ions_per_formula: Annotated[Optional[float], typer.Option(help="Magnetic ions per formula unit (chi is divided by it; default 1, or the set file's).")] = None,
    quantity: ro.Quantity = None,
    units: ro.Units = None,
    field_oe: ro.FieldOe = None,
    format: ro.Format = "auto",
    out: Annotated[Path, typer.Option(help="Output folder: result.json, samples.csv and figures.")] = Path("lfjax-out"),
) -> None:
    """Every plausible parameter set for a measured chi T (T) or a measurement set: amortized posterior, exact, refined."""
    enable_compilation_cache()  # precision: run_infer runs in float64 by itself
    import jax

    # the saved solvers compile in 0.1-0.5 s each: keep those in the persistent cache too
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_CACHED_COMPILE_S)
    from lfjax.engines.exported import default_folder, export_cache
    from lfjax.physics import without_host_threads

    # saved solvers: later runs skip tracing them; jaxlib's eigensolvers: functions with host
    # callbacks never reach the persistent cache (warm `infer` on an er3_axial chi T + M(H) set:
    # 30 s against 35-40 s with the host threads)
    with export_cache(default_folder()), without_host_threads():
        _infer(data, model, ion, samples, seed, no_grid_check, route, min_ess, min_ess_fraction, particles,
               mean_field, noise, refine, mass_mg, molar_mass, ions_per_formula, quantity, units, field_oe,
               format, out)


def _infer(data, model, ion, samples, seed, no_grid_check, route, min_ess, min_ess_fraction, particles, mean_field,
           noise, refine, mass_mg, molar_mass, ions_per_formula, quantity, units, field_oe, format, out) -> None:
    if _is_single_file_de(data, model):
        _infer_file(data[0], model, ion, samples, seed, no_grid_check, out,
                    ro.reader_options(format, quantity, units, field_oe, mass_mg, molar_mass,
                                      1.0 if ions_per_formula is None else ions_per_formula))
        return
    from lfjax.inference.amortized import SetInferConfig, run_infer_set
    from lfjax.inference.amortized_report import MIN_POOLED_ESS, write_outputs

    read = {"ion": ion, "mass_mg": mass_mg, "molar_mass_g_per_mol": molar_mass, "ions_per_formula": ions_per_formula,
            "quantity": quantity, "units": units, "field_oe": field_oe, "format": None if format == "auto" else format}
    config = SetInferConfig(data=tuple(data), model=model, samples=samples, seed=seed, route=route, min_ess=min_ess,
                            min_ess_fraction=min_ess_fraction, smc_particles=particles, mean_field=mean_field,
                            noise=noise, refine=refine, read_options=tuple((k, v) for k, v in read.items() if v is not None))
    result = run_infer_set(config, progress=lambda message: typer.echo(message, err=True))
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    paths, obj = write_outputs(result, out)
    typer.echo(result.measurement_set.describe())
    imp = result.importance
    typer.echo(f"model {model}: proposal from {result.observed.label!r}; OOD "
               f"{'flagged' if obj['ood']['flagged'] else 'not flagged'}; ESS {imp.ess:.1f} of {imp.theta.shape[0]} "
               f"({100 * imp.ess_fraction:.1f} %); route: {result.route}")
    if result.smc is not None:
        typer.echo(f"SMC: {result.smc.n_steps} tempering steps from the proposal, final ESS {result.smc.ess[-1]:.2f} N")
    if result.fit_importance is not None:
        fi = obj["fit_importance"]
        typer.echo(f"importance around the fit: {fi['n_components']} components, ESS per round "
                   f"{', '.join(f'{100 * e:.1f} %' for e in fi['ess_fraction_per_round'])}, pooled {fi['ess_pooled']:.0f} draws")
        if not fi["reliable"]:
            typer.echo(f"warning: pooled ESS {fi['ess_pooled']:.0f} < {MIN_POOLED_ESS}: the posterior is not reliable; try more "
                       "draws, --route smc or `lfjax sample`", err=True)
    typer.echo(f"{'name':>24} {'mean':>11} {'sd':>10} {'5%':>11} {'95%':>11} {'post/prior':>10}")
    for r in obj["posterior"]:
        typer.echo(f"{r['name']:>24} {r['mean']:11.4g} {r['sd']:10.3g} {r['q05']:11.4g} {r['q95']:11.4g} {r['width_ratio']:10.3f}")
    typer.echo("posterior predictive rms misfit: " + ", ".join(f"{k} {v:.2f} %" for k, v in obj["predictive_rms_rel_percent"].items()))
    names = result.problem.theta_names
    for i, (s, mass) in enumerate(zip(result.fit.solutions if result.fit else (), result.posterior_mass), 1):
        cells = ", ".join(f"{n}={v:.4g}±{e:.2g}" for n, v, e in zip(names, s.theta, s.errors))
        typer.echo(f"  solution {i}: {cells}; rms {100 * s.rms_rel_overall:.2f} %, dlogL {s.dlogL:.2f}, mass {mass:.2f}")
    typer.echo(f"wrote {', '.join(p.name for p in paths)} to {out}/ ({result.timings_s['total']:.1f} s)", err=True)


def _infer_file(data, model, ion, samples, seed, no_grid_check, out, reader) -> None:
    from lfjax.inference.infer import InferConfig, run_infer
    from lfjax.inference.infer_report import summary_table, write_outputs

    config = InferConfig(data=data, model=model, ion=ion, samples=samples, seed=seed, check_grid=not no_grid_check,
                         reader=reader)
    result = run_infer(config)
    m = result.measurement
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{m.source}: {m.n_points} points, {m.t_range_k[0]:.3g}-{m.t_range_k[1]:.3g} K, {m.segment}; "
               f"model {config.model} ({result.model.ion.name})")
    typer.echo(summary_table(result))
    paths = write_outputs(result, out)
    typer.echo(f"wrote {', '.join(p.name for p in paths)} to {out}/ ({result.timings_s['total']:.1f} s)", err=True)
