"""The joint fit of a measurement set: `lfjax fit FILE [FILE ...] | SET.toml` (`run_fit_set`).

`prepare` turns the inputs (files or a set file, and the options of the command line, which
override the set file's) into a likelihood problem; it is shared with `lfjax sample`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from lfjax.cli._common import guarded

Files = Annotated[list[Path], typer.Argument(help="A set file (.toml) or one or more data files.")]
Preset = Annotated[Optional[str], typer.Option(help="Model preset: DE, axial, D3d, D4d, C3v, cubic, ...")]
Params = Annotated[Optional[str], typer.Option(help="Explicit parameter names (comma-separated) instead of a preset.")]
Fix = Annotated[Optional[list[str]], typer.Option("--fix", help="NAME=VALUE held fixed (repeatable), in --unit.")]
Unit = Annotated[Optional[str], typer.Option(help="Energy unit of --fix values: K, cm-1 or meV.")]
MeanField = Annotated[Optional[bool], typer.Option("--mean-field/--no-mean-field", help="Fit the mean field lambda (mol/emu).")]
Ion = Annotated[Optional[str], typer.Option(help="Ion (overrides the set file); default Er3+.")]
Noise = Annotated[Optional[float], typer.Option(help="Relative noise of every curve (default: per curve as given, else estimated).")]
SigmaDia = Annotated[float, typer.Option(help="Prior width of chi_dia (emu/mol).")]
SigmaM = Annotated[float, typer.Option(help="Prior width of f_m around 1.")]
ScaleK = Annotated[Optional[float], typer.Option(help="Largest splitting per term (K) of the prior ranges.")]
DMax = Annotated[float, typer.Option("--d-max", help="DE preset: canonical wedge |D| <= d_max (K).")]
IonsPerFormula = Annotated[Optional[float], typer.Option(help="Magnetic ions per formula unit (overrides the set file).")]
Out = Annotated[Optional[Path], typer.Option(help="Output folder.")]


def _fix_dict(fix, unit):
    from lfjax.errors import UserInputError
    from lfjax.physics.hamiltonian import ENERGY_UNITS, normalise_name

    unit = unit or "K"
    if unit not in ENERGY_UNITS:
        raise UserInputError(f"unknown unit {unit!r}; expected one of {', '.join(ENERGY_UNITS)}")
    out = {}
    items = fix.items() if isinstance(fix, dict) else [str(f).split("=", 1) for f in (fix or [])]
    for item in items:
        if len(item) != 2:
            raise UserInputError(f"--fix must read NAME=VALUE; got {'='.join(item)!r}")
        name, value = item
        try:
            out[normalise_name(str(name))] = float(value) * ENERGY_UNITS[unit]
        except (TypeError, ValueError) as exc:
            if "unknown parameter" in str(exc):
                raise
            raise UserInputError(f"--fix {name}: value must be a number; got {value!r}") from None
    return out


def prepare(files, *, preset=None, params=None, fix=None, unit=None, mean_field=None, ion=None, noise=None,
            sigma_dia=0.002, sigma_m=0.02, scale_k=None, d_max=15.0, ions_per_formula=None):
    """(measurement set, problem, data, options) from the command's inputs (command line over set file)."""
    from lfjax.engines import likelihood as lk
    from lfjax.io.measurement_set import read_measurement_set
    from lfjax.spec import model_spec

    paths = [str(f) for f in files]
    mset = read_measurement_set(paths[0] if len(paths) == 1 else paths, ion=ion, ions_per_formula=ions_per_formula)
    opts = dict(mset.options)
    preset = preset or opts.get("preset")
    names = [n.strip() for n in params.split(",")] if params else opts.get("params")
    if preset is None and names is None:
        preset = "DE"
    unit = unit or opts.get("unit")
    fixed = _fix_dict(opts.get("fix", {}), unit) | _fix_dict(fix, unit)
    mean_field = bool(opts.get("mean_field", False)) if mean_field is None else mean_field
    prior = dict(opts.get("prior", {}))
    spec = model_spec(mset.ion or "Er3+", preset=None if names else preset, names=names,
                      scale_k=scale_k or prior.get("scale_k"))
    is_de = spec.names == ("D", "E")
    if is_de and noise is None and all(c.noise is None for c in mset.curves):
        noise = 0.003  # the default model's error model
    priors = lk.Priors(sigma_dia_emu_per_mol=float(prior.get("sigma_dia_emu_per_mol", sigma_dia)),
                       sigma_m=float(prior.get("sigma_m", sigma_m)))
    problem, data = lk.build(mset.curves, spec, fixed=fixed, mean_field=mean_field, priors=priors,
                             wedge_d_max_k=float(prior.get("d_max_k", d_max)) if is_de else None, noise=noise)
    return mset, problem, data, opts


def grid_starts(problem, data, d_max_k):
    """(D, E, chi_dia, f_m) starts at the wedge-grid modes of the first zero-field powder chi curve."""
    import jax
    import numpy as np

    from lfjax.inference.grid import scan

    if problem.free != ("D", "E") or problem.mean_field:
        return None
    for info, d in zip(problem.curves, data):
        if info.kind == "chi" and info.direction == "powder" and info.field_oe == 0.0:
            with jax.enable_x64(True):
                g = scan(problem.ion, d["temps_k"], d["values"] * d["temps_k"], d_max_k=d_max_k, step_k=0.3)
            return np.asarray([[m.d_k, m.e_k, m.chi_dia_emu_per_mol, m.f_m] for m in g.modes])
    return None


@guarded
def run_fit_set(
    files: Files,
    preset: Preset = None,
    params: Params = None,
    fix: Fix = None,
    unit: Unit = None,
    mean_field: MeanField = None,
    ion: Ion = None,
    noise: Noise = None,
    sigma_dia: SigmaDia = 0.002,
    sigma_m: SigmaM = 0.02,
    scale_k: ScaleK = None,
    d_max: DMax = 15.0,
    ions_per_formula: IonsPerFormula = None,
    starts: Annotated[Optional[int], typer.Option(help="Prior-drawn starts (plus the grid modes for DE).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the starts.")] = None,
    out: Out = None,
) -> None:
    """Joint global fit of every curve of a measurement set; lists each distinct optimum with errors."""
    from lfjax.engines.fit import run_fit
    from lfjax.engines.report import write_fit

    mset, problem, data, opts = prepare(files, preset=preset, params=params, fix=fix, unit=unit, mean_field=mean_field,
                                        ion=ion, noise=noise, sigma_dia=sigma_dia, sigma_m=sigma_m, scale_k=scale_k,
                                        d_max=d_max, ions_per_formula=ions_per_formula)
    for w in mset.warnings:
        typer.echo(f"warning: {w}", err=True)
    extra = grid_starts(problem, data, problem.wedge_d_max_k or d_max)
    result = run_fit(problem, data, n_starts=starts or int(opts.get("starts", 32)), seed=seed or int(opts.get("seed", 0)),
                     extra_starts=extra, progress=lambda message: typer.echo(f"fit: {message}", err=True))
    typer.echo(mset.describe())
    for c, s, e in zip(problem.curves, result.sigmas, result.noise_estimated):
        typer.echo(f"  noise {c.label}: {s:.3g} ({'estimated' if e else 'given'})")
    names = problem.theta_names
    typer.echo("  #  " + "  ".join(f"{n:>20}" for n in names) + "   objective  rms_rel  dlogL")
    for i, s in enumerate(result.solutions, 1):
        cells = "  ".join(f"{v:>10.4g} ±{e:<8.2g}" for v, e in zip(s.theta, s.errors))
        typer.echo(f"{i:>3}  {cells}  {s.objective:10.4g}  {s.rms_rel_overall:7.2e}  {s.dlogL:5.2f}")
    if result.solutions:
        from lfjax.engines.derived import derived

        levels, g = derived(problem, np.stack([s.theta for s in result.solutions]))
        for i, (e, gv) in enumerate(zip(levels, g), 1):
            typer.echo(f"{i:>3}  levels (K) {' '.join(f'{x:.4g}' for x in e[1:5])} ...; ground g {gv[0]:.3g} {gv[1]:.3g} "
                       f"{gv[2]:.3g}")
    if out is not None:
        paths = write_fit(result, data, out, mset)
        typer.echo(f"wrote {len(paths)} files to {out} ({result.wall_s:.1f} s)", err=True)
