"""Simulation of measured-like curves: the library function behind `lfjax simulate`."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from pathlib import Path

import numpy as np

from lfjax.constants import NA_MUB_EMU_PER_MOL
from lfjax.errors import ParameterError, ReaderError, UserInputError
from lfjax.physics import apply_errors, chi_axes, hamiltonian, ion, to_kelvin
from lfjax.physics.hamiltonian import normalise_name
from lfjax.spec import ModelSpec

#: Columns of the simulation CSV.
CSV_COLUMNS = ("case", "T_K", "chi_x", "chi_y", "chi_z", "chi_emu_per_mol", "chiT_emu_K_per_mol")
#: Columns of the M(H) simulation CSV.
MH_COLUMNS = ("case", "T_K", "H_Oe", "M_muB_per_ion", "M_emu_per_mol", "chi_emu_per_mol")
#: Field directions by name (besides a vector nx,ny,nz).
DIRECTIONS = ("powder", "x", "y", "z")
#: Largest number of field steps in one START:STOP:STEP sweep.
MAX_FIELDS = 100_000
#: Per-case columns of a --params-csv file besides the ligand-field parameters.
CASE_COLUMNS = ("chi_dia", "f_m", "field_oe")


@dataclasses.dataclass(frozen=True)
class Case:
    """One simulation: parameters in K, error model, field (0 = zero-field linear response)."""

    params_k: dict[str, float]
    chi_dia: float = 0.0
    f_m: float = 1.0
    field_oe: float = 0.0


def parse_temps(spec: str) -> np.ndarray:
    """Parses "TMIN:TMAX:N" (N points spaced evenly in log T) or a comma list of temperatures in K."""
    try:
        if ":" in spec:
            lo, hi, n = spec.split(":")
            lo_f, hi_f, n_i = float(lo), float(hi), int(n)
            if n_i < 1 or lo_f <= 0 or hi_f < lo_f:
                raise ValueError
            temps = np.geomspace(lo_f, hi_f, n_i)
        else:
            temps = np.array([float(t) for t in spec.split(",")])
    except ValueError:
        raise UserInputError(f"bad temperature spec {spec!r}; expected TMIN:TMAX:N (TMIN > 0) or T1,T2,... in K") from None
    check_temps(temps, spec)
    return temps


def check_temps(temps: np.ndarray, source: str) -> None:
    """Raises UserInputError unless every temperature is finite and > 0 K."""
    bad = ~np.isfinite(temps) | (temps <= 0)
    if temps.size == 0 or bad.any():
        first = temps[bad][0] if bad.any() else "none"
        raise UserInputError(f"temperatures must be finite and > 0 K; got {first} in {source}")


def read_temps_file(path: str | Path) -> np.ndarray:
    """Reads temperatures (K) from the first column of a text file (comments with #)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ReaderError(f"cannot read temperature file {path}: {exc.strerror}") from None
    temps = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#")[0].strip()
        if not line:
            continue
        first = line.replace(",", " ").split()[0]
        try:
            temps.append(float(first))
        except ValueError:
            if temps:
                raise ReaderError(f"{path}:{lineno}: not a temperature: {first!r}") from None
    temps = np.asarray(temps)
    check_temps(temps, str(path))
    return temps


def parse_param(text: str) -> tuple[str, float]:
    """Parses NAME=VALUE (e.g. "D=-5", "B4-3=0.01") into a canonical name and a float."""
    name, sep, value = text.partition("=")
    if not sep:
        raise ParameterError(f"bad --param {text!r}; expected NAME=VALUE, e.g. D=-5 or B43=0.01")
    try:
        return normalise_name(name), float(value)
    except ValueError as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(f"bad value in --param {text!r}; expected a number") from None


def read_cases_csv(path: str | Path, unit: str = "K") -> list[Case]:
    """Reads a --params-csv file: a header of parameter names and chi_dia, f_m, field_oe; a row per case."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ReaderError(f"cannot read parameter file {path}: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ReaderError(f"{path}: empty parameter file; expected a header such as D,E,chi_dia")
    names = {}
    for col in reader.fieldnames:
        if col.strip() in CASE_COLUMNS:
            continue
        try:
            names[col] = normalise_name(col)
        except ParameterError as exc:
            raise ParameterError(f"{path}: column {col!r}: {exc}") from None
    cases = []
    for lineno, row in enumerate(reader, 2):
        try:
            params = to_kelvin({names[c]: float(row[c]) for c in names if row[c] not in ("", None)}, unit)
            extra = {c: float(row[c]) for c in CASE_COLUMNS if c in row and row[c] not in ("", None)}
        except ValueError:
            raise ReaderError(f"{path}:{lineno}: non-numeric value") from None
        cases.append(Case({k: float(v) for k, v in params.items()}, **extra))
    if not cases:
        raise ReaderError(f"{path}: no rows")
    return cases


def parse_direction(text: str) -> str | tuple[float, float, float]:
    """Parses --direction: "powder", "x", "y", "z" or "nx,ny,nz" (ligand-field frame)."""
    key = text.strip().lower()
    if key in DIRECTIONS:
        return key
    try:
        vec = tuple(float(c) for c in key.split(","))
    except ValueError:
        vec = ()
    if len(vec) != 3 or not all(math.isfinite(c) for c in vec) or not any(vec):
        raise UserInputError(f"bad direction {text!r}; expected powder, x, y, z or a non-zero vector nx,ny,nz")
    return vec


def parse_fields(spec: str) -> np.ndarray:
    """Parses "START:STOP:STEP" (Oe, STOP included when on the grid, STEP > 0) or a comma list of fields in Oe."""
    try:
        if ":" in spec:
            start, stop, step = (float(x) for x in spec.split(":"))
            if not (step > 0 and stop >= start and (stop - start) / step <= MAX_FIELDS):
                raise ValueError
            fields = start + step * np.arange(math.floor((stop - start) / step + 1e-9) + 1)
        else:
            fields = np.array([float(h) for h in spec.split(",")])
        if fields.size == 0 or not np.all(np.isfinite(fields)):
            raise ValueError
    except ValueError:
        raise UserInputError(f"bad field spec {spec!r}; expected START:STOP:STEP (STEP > 0, STOP >= START, "
                             f"at most {MAX_FIELDS} steps) or H1,H2,... in Oe") from None
    return fields


def preset_cases(cases: list[Case], spec: ModelSpec) -> list[Case]:
    """Turns cases whose parameters name a preset's parameters into Stevens parameters (K).

    Parameters of the preset that a case leaves out are 0; the preset's constraints (cubic) apply.

    Raises:
      ParameterError: a parameter that is not one of the preset's.
    """
    out = []
    for case in cases:
        unknown = [n for n in case.params_k if n not in spec.names]
        if unknown:
            raise ParameterError(f"{', '.join(unknown)} not in preset {spec.preset} of {spec.ion.name}; "
                                 f"its parameters are {', '.join(spec.names)}")
        theta = np.array([case.params_k.get(n, 0.0) for n in spec.names])
        stevens = {k: float(v) for k, v in spec.stevens_params(theta).items()}
        out.append(dataclasses.replace(case, params_k=stevens))
    return out


def _prepare(ion_name, case: Case):
    the_ion = ion(ion_name) if isinstance(ion_name, str) else ion_name
    hamiltonian(the_ion, case.params_k)  # validates names early
    return the_ion, {k: np.float64(v) for k, v in case.params_k.items()}


def _check_mean_field(mean_field: float) -> None:
    if not math.isfinite(mean_field):
        raise ParameterError(f"mean field lambda must be a finite number in mol/emu; got {mean_field}")


def simulate_case(ion_name: str, case: Case, temps_k: np.ndarray, direction="powder", mean_field: float = 0.0
                  ) -> np.ndarray:
    """Returns rows (n_T, 6): T, chi_x, chi_y, chi_z (NaN at finite field), chi, chi T (cgs).

    chi is along `direction` ("powder", "x", "y", "z" or a 3-vector, see `lfjax.magnetization`):
    the Van Vleck limit at zero field, M / H at `case.field_oe`; with a mean field lambda
    (mol/emu) solved self-consistently per direction. chi_x, chi_y, chi_z are the zero-field
    values along the axes (with the mean field). The error model chi_exp = f_m chi + chi_dia
    applies to every chi column.
    """
    from lfjax.physics.magnetization import chi as chi_fn

    the_ion, params = _prepare(ion_name, case)
    if not math.isfinite(case.field_oe) or case.field_oe < 0:
        raise ParameterError(f"field must be >= 0 Oe; got {case.field_oe}")
    _check_mean_field(mean_field)
    if case.field_oe == 0 and mean_field == 0:
        axes = np.asarray(chi_axes(the_ion, params, temps_k))
    elif case.field_oe == 0:
        axes = np.stack([np.asarray(chi_fn(the_ion, params, temps_k, 0.0, a, mean_field)) for a in "xyz"], -1)
    else:
        axes = np.full((temps_k.size, 3), np.nan)
    if case.field_oe == 0 and direction == "powder":
        chi = axes.mean(axis=-1)
    else:
        chi = np.asarray(chi_fn(the_ion, params, temps_k, case.field_oe, direction, mean_field))
    axes = np.asarray(apply_errors(axes, case.chi_dia, case.f_m))
    chi = np.asarray(apply_errors(chi, case.chi_dia, case.f_m))
    return np.column_stack([temps_k, axes, chi, chi * temps_k])


def simulate_mh_case(ion_name: str, case: Case, temps_k: np.ndarray, fields_oe: np.ndarray, direction="powder",
                     mean_field: float = 0.0) -> np.ndarray:
    """Returns rows (n_T * n_H, 5): T (K), H (Oe), M (mu_B/ion), M (emu/mol), M / H (emu/mol; NaN at H = 0).

    M along the field from `lfjax.magnetization` for every temperature (outer) and field (inner),
    along `direction`, with a mean field lambda (mol/emu); error model
    M_exp = f_m M + chi_dia H (emu/mol). `case.field_oe` is not used.
    """
    from lfjax.physics.magnetization import magnetization

    the_ion, params = _prepare(ion_name, case)
    _check_mean_field(mean_field)
    temps = np.repeat(np.asarray(temps_k, dtype=np.float64), fields_oe.size)
    fields = np.tile(np.asarray(fields_oe, dtype=np.float64), np.size(temps_k))
    m_mub = np.asarray(magnetization(the_ion, params, temps, fields, direction, mean_field))
    m_emu = case.f_m * NA_MUB_EMU_PER_MOL * m_mub + case.chi_dia * fields
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = np.where(fields == 0, np.nan, m_emu / np.where(fields == 0, 1.0, fields))
    return np.column_stack([temps, fields, m_emu / NA_MUB_EMU_PER_MOL, m_emu, chi])


def to_csv(results: list[tuple[int, np.ndarray]], columns: tuple[str, ...] = CSV_COLUMNS) -> str:
    """Formats (case, rows) pairs as the simulation CSV (`CSV_COLUMNS`, or `MH_COLUMNS` for M(H); NaN -> empty)."""
    out = io.StringIO()
    out.write(",".join(columns) + "\n")
    for case_id, rows in results:
        for row in rows:
            cells = [str(case_id)] + ["" if math.isnan(v) else f"{v:.10g}" for v in row]
            out.write(",".join(cells) + "\n")
    return out.getvalue()
