"""`lfjax fit`: global multi-start least squares.

One chi T (T) file with the (D, E) or Stevens `--free` options takes the single-curve route
(`lfjax.inference.fit`); a set file (.toml), several files, or any of `--preset`, `--params`,
`--fix`, `--mean-field` take the measurement-set route (`lfjax.cli.fit_set`, `lfjax.engines`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lfjax.cli import _reader_options as ro
from lfjax.cli import fit_set as fs
from lfjax.cli._common import guarded


@guarded
def fit(
    data: fs.Files,
    ion: Annotated[str, typer.Option(help="Ion: Er3+, Dy, ... or a custom J such as 3/2 (with --g).")] = "Er3+",
    g: Annotated[Optional[float], typer.Option(help="Lande g for a custom J.")] = None,
    free: Annotated[str, typer.Option(help="Free parameters: D,E,chi_dia,f_m or Stevens Bkq (B20,B22,B40,...).")] = "D,E,chi_dia,f_m",
    starts: Annotated[int, typer.Option(help="Random starts (plus the grid's modes for a D,E model).")] = 64,
    seed: Annotated[int, typer.Option(help="Seed of the random starts.")] = 0,
    d_max: Annotated[float, typer.Option("--d-max", help="Start box and grid: |D| <= d_max (K).")] = 15.0,
    mass_mg: ro.MassMg = None,
    molar_mass: ro.MolarMass = None,
    ions_per_formula: ro.IonsPerFormula = 1.0,
    quantity: ro.Quantity = None,
    units: ro.Units = None,
    field_oe: ro.FieldOe = None,
    fmt: ro.Format = "auto",
    out: Annotated[Optional[Path], typer.Option(help="Output folder for result.json and fit.png.")] = None,
    preset: fs.Preset = None,
    params: fs.Params = None,
    fix: fs.Fix = None,
    unit: fs.Unit = None,
    mean_field: fs.MeanField = None,
    noise: fs.Noise = None,
    scale_k: fs.ScaleK = None,
) -> None:
    """Fit ligand-field parameters to chi T (T), or jointly to a measurement set; list every distinct solution."""
    from lfjax.inference.fit import FitConfig, run_fit
    from lfjax.inference.report import write_outputs

    set_route = (len(data) > 1 or data[0].suffix.lower() == ".toml"
                 or any(v is not None for v in (preset, params, fix, mean_field, noise, scale_k)))
    if set_route:
        return fs.run_fit_set(data, preset=preset, params=params, fix=fix, unit=unit, mean_field=mean_field,
                              ion=ion if ion != "Er3+" else None, noise=noise, scale_k=scale_k, d_max=d_max,
                              ions_per_formula=ions_per_formula if ions_per_formula != 1.0 else None,
                              starts=starts if starts != 64 else None, seed=seed or None, out=out)
    config = FitConfig(
        data=data[0], ion=ion, g=g, free=tuple(p.strip() for p in free.split(",") if p.strip()), starts=starts,
        seed=seed, d_max_k=d_max,
        reader=ro.reader_options(fmt, quantity, units, field_oe, mass_mg, molar_mass, ions_per_formula),
    )
    result = run_fit(config)
    m = result.measurement
    for warning in m.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{m.source}: {m.n_points} points, {m.t_range_k[0]:.3g}-{m.t_range_k[1]:.3g} K, {m.segment}")
    names = result.problem.free
    typer.echo("  #  " + "  ".join(f"{n:>18}" for n in names) + "   rms_rel  dlogL")
    best = result.solutions[0].log_likelihood
    for i, s in enumerate(result.solutions, 1):
        cells = "  ".join(f"{s.values[n]:>9.4g} ±{_err(s.errors[n]):<8}" for n in names)
        typer.echo(f"{i:>3}  {cells}  {s.rms_rel_residual:8.2e}  {s.log_likelihood - best:5.2f}")
    if out is not None:
        paths = write_outputs(result, out)
        typer.echo(f"wrote {', '.join(str(p) for p in paths)} ({result.wall_s:.1f} s)", err=True)


def _err(value: float) -> str:
    """A 1-sigma error for the table; undetermined (NaN) errors read n/a."""
    return "n/a" if value != value else f"{value:.2g}"
