"""`lfjax infer`: the posterior over (D, E) of a measured chi T (T), refined and reported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lfjax.cli import _reader_options as ro
from lfjax.cli._common import enable_compilation_cache, guarded


@guarded
def infer(
    data: ro.DataArg,
    model: Annotated[str, typer.Option(help="'default' (shipped) or a train workdir / checkpoint folder.")] = "default",
    ion: Annotated[Optional[str], typer.Option(help="Ion of the sample; must match the model's.")] = None,
    samples: Annotated[int, typer.Option(help="Posterior draws.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the posterior draws.")] = 0,
    no_grid_check: Annotated[bool, typer.Option("--no-grid-check", help="Skip the brute-force completeness scan.")] = False,
    mass_mg: ro.MassMg = None,
    molar_mass: ro.MolarMass = None,
    ions_per_formula: ro.IonsPerFormula = 1.0,
    quantity: ro.Quantity = None,
    units: ro.Units = None,
    field_oe: ro.FieldOe = None,
    format: ro.Format = "auto",
    out: Annotated[Path, typer.Option(help="Output folder: result.json, samples.csv, posterior.png, vae.png, fit.png.")] = Path("lfjax-out"),
) -> None:
    """Every plausible (D, E) for a measured chi T (T): posterior modes, refined by least squares."""
    enable_compilation_cache()  # precision: run_infer runs in float64 by itself

    from lfjax.inference.infer import InferConfig, run_infer
    from lfjax.inference.infer_report import summary_table, write_outputs

    config = InferConfig(
        data=data, model=model, ion=ion, samples=samples, seed=seed, check_grid=not no_grid_check, 
        reader=ro.reader_options(format, quantity, units, field_oe, mass_mg, molar_mass, ions_per_formula),
    )
    result = run_infer(config)
    m = result.measurement
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{m.source}: {m.n_points} points, {m.t_range_k[0]:.3g}-{m.t_range_k[1]:.3g} K, {m.segment}; "
               f"model {config.model} ({result.model.ion.name})")
    typer.echo(summary_table(result))
    paths = write_outputs(result, out)
    typer.echo(f"wrote {', '.join(p.name for p in paths)} to {out}/ ({result.timings_s['total']:.1f} s)", err=True)
