"""`lfjax simulate`: chi T curves for given ligand-field parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lfjax.cli._common import guarded
from lfjax.inference.compiled import float64_entry as float64


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
    preset: Annotated[Optional[str], typer.Option(help="Point-group preset (DE, axial, D4h, D3d, D3h, D2h, cubic, general, or an alias such as C3v); --param then names its parameters.")] = None,
    direction: Annotated[str, typer.Option(help="Field direction: powder, x, y, z or nx,ny,nz in the ligand-field frame.")] = "powder",
    mean_field: Annotated[float, typer.Option(help="Mean-field constant lambda in mol/emu (> 0 ferromagnetic): H_eff = H + lambda M.")] = 0.0,
    mh: Annotated[bool, typer.Option("--mh", help="Simulate M(H) sweeps at --temp over --fields instead of chi(T).")] = False,
    temp: Annotated[Optional[str], typer.Option(help="With --mh: temperature(s) in K, T or T1,T2,...")] = None,
    fields: Annotated[Optional[str], typer.Option(help="With --mh: fields in Oe, START:STOP:STEP or H1,H2,...")] = None,
    output: Annotated[Optional[Path], typer.Option(help="CSV output (default: stdout).")] = None,
    plot: Annotated[Optional[Path], typer.Option(help="PNG of chi T (T), or of M(H) with --mh.")] = None,
) -> None:
    """Simulate chi T (emu K/mol per ion) and chi_x, chi_y, chi_z (emu/mol), or M(H) sweeps (--mh)."""
    from lfjax import simulate as sim
    from lfjax.errors import UserInputError
    from lfjax.io.atomic import save_figure, write_text
    from lfjax.physics import ion as make_ion
    from lfjax.physics import to_kelvin

    the_ion = make_ion(ion, g)
    if mh:
        if temp is None or fields is None:
            raise UserInputError("--mh needs --temp (K) and --fields START:STOP:STEP (Oe), e.g. --temp 2 --fields 0:70000:1000")
        if temps_file is not None or field_oe != 0:
            raise UserInputError("--temps-file and --field-oe are for chi(T); with --mh use --temp and --fields")
        temps_k = sim.parse_temps(temp)
        fields_oe = sim.parse_fields(fields)
    else:
        if temp is not None or fields is not None:
            raise UserInputError("--temp and --fields belong to M(H) sweeps; add --mh, or use --temps for chi(T)")
        temps_k = sim.read_temps_file(temps_file) if temps_file else sim.parse_temps(temps)
    the_direction = sim.parse_direction(direction)
    if params_csv is not None:
        if param:
            raise UserInputError("give either --param or --params-csv, not both")
        cases = sim.read_cases_csv(params_csv, unit)
    else:
        if not param:
            raise UserInputError("no parameters; give --param NAME=VALUE (e.g. --param D=-5 --param E=1) or --params-csv")
        values = dict(sim.parse_param(p) for p in param)
        cases = [sim.Case({k: float(v) for k, v in to_kelvin(values, unit).items()}, chi_dia, f_m, field_oe)]
    if preset is not None:
        from lfjax.spec import model_spec

        spec = model_spec(the_ion, preset=preset)
        for note in spec.notes:
            typer.echo(f"note: {note}", err=True)
        cases = sim.preset_cases(cases, spec)
    where = "powder" if the_direction == "powder" else f"H || {direction}"
    if mh:
        results = [(i, sim.simulate_mh_case(the_ion, case, temps_k, fields_oe, the_direction, mean_field))
                   for i, case in enumerate(cases)]
        text = sim.to_csv(results, sim.MH_COLUMNS)
        shape = f"{temps_k.size} temperature(s) x {fields_oe.size} fields each"
    else:
        results = [(i, sim.simulate_case(the_ion, case, temps_k, the_direction, mean_field))
                   for i, case in enumerate(cases)]
        text = sim.to_csv(results)
        shape = f"{temps_k.size} temperatures each"
    if plot is not None:
        from lfjax.plotting.curves import chi_t_figure, m_h_figure

        labels = {i: ", ".join(f"{k}={v:g}" for k, v in cases[i].params_k.items()) for i, _ in results}
        if mh:
            curves = {f"{labels[i]}, {t:g} K": rows[k * fields_oe.size:(k + 1) * fields_oe.size, 2]
                      for i, rows in results for k, t in enumerate(temps_k)}
            fig = m_h_figure(fields_oe, curves, title=f"{the_ion.name}, {where}")
        else:
            fig = chi_t_figure(temps_k, {labels[i]: rows[:, -1] for i, rows in results}, title=f"{the_ion.name}, {where}")
        save_figure(fig, plot)
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_text(output, text)
        typer.echo(f"wrote {len(results)} curve set(s), {shape}, to {output}", err=True)
