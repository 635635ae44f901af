"""`lfjax simulate`: chi T curves for given ligand-field parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lfjax.cli._common import float64, guarded


@guarded
@float64
def simulate(
    ion: Annotated[str, typer.Option(help="Ion: Er3+, Dy, Tb(III), ... or a custom J such as 3/2 (with --g).")] = "Er3+",
    g: Annotated[Optional[float], typer.Option(help="Lande g for a custom J.")] = None,
    param: Annotated[Optional[list[str]], typer.Option(help="NAME=VALUE, repeatable: D, E, B20, B4-3, ...")] = None,
    unit: Annotated[str, typer.Option(help="Energy unit of the parameters: K, cm-1 or meV.")] = "K",
    temps: Annotated[str, typer.Option(help="TMIN:TMAX:N (log-spaced) or T1,T2,... in K.")] = "1.8:300:64",
    temps_file: Annotated[Optional[Path], typer.Option(help="Temperatures (K), first column of a text file.")] = None,
    field_oe: Annotated[float, typer.Option(help="Measuring field in Oe; 0 = zero-field Van Vleck.")] = 0.0,
    chi_dia: Annotated[float, typer.Option(help="Diamagnetic-correction error added to chi (emu/mol).")] = 0.0,
    f_m: Annotated[float, typer.Option(help="Molar-mass factor multiplying chi.")] = 1.0,
    params_csv: Annotated[Optional[Path], typer.Option(help="Batch: a row per case; columns D, E, Bkq, chi_dia, f_m, field_oe.")] = None,
    output: Annotated[Optional[Path], typer.Option(help="CSV output (default: stdout).")] = None,
    plot: Annotated[Optional[Path], typer.Option(help="PNG of chi T (T).")] = None,
) -> None:
    """Simulate powder chi T (emu K/mol per ion) and chi_x, chi_y, chi_z (emu/mol)."""
    from lfjax import simulate as sim
    from lfjax.errors import UserInputError
    from lfjax.io.atomic import save_figure, write_text
    from lfjax.physics import ion as make_ion
    from lfjax.physics import to_kelvin

    the_ion = make_ion(ion, g)
    temps_k = sim.read_temps_file(temps_file) if temps_file else sim.parse_temps(temps)
    if params_csv is not None:
        if param:
            raise UserInputError("give either --param or --params-csv, not both")
        cases = sim.read_cases_csv(params_csv, unit)
    else:
        if not param:
            raise UserInputError("no parameters; give --param NAME=VALUE (e.g. --param D=-5 --param E=1) or --params-csv")
        values = dict(sim.parse_param(p) for p in param)
        cases = [sim.Case({k: float(v) for k, v in to_kelvin(values, unit).items()}, chi_dia, f_m, field_oe)]
    results = [(i, sim.simulate_case(the_ion, case, temps_k)) for i, case in enumerate(cases)]
    text = sim.to_csv(results)
    if plot is not None:
        from lfjax.plotting.curves import chi_t_figure

        curves = {", ".join(f"{k}={v:g}" for k, v in cases[i].params_k.items()): rows[:, -1] for i, rows in results}
        save_figure(chi_t_figure(temps_k, curves, title=f"{the_ion.name}, powder"), plot)
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_text(output, text)
        typer.echo(f"wrote {len(results)} curve(s), {temps_k.size} temperatures each, to {output}", err=True)
