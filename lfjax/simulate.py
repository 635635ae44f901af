"""Simulation of measured-like curves: the library function behind `lfjax simulate`."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from pathlib import Path

import numpy as np

from lfjax.physics import apply_errors, chi_axes, chi_powder_finite_field, hamiltonian, ion, to_kelvin
from lfjax.errors import ParameterError, ReaderError, UserInputError
from lfjax.physics.hamiltonian import normalise_name

#: Columns of the simulation CSV.
CSV_COLUMNS = ("case", "T_K", "chi_x", "chi_y", "chi_z", "chi_emu_per_mol", "chiT_emu_K_per_mol")
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


def simulate_case(ion_name: str, case: Case, temps_k: np.ndarray) -> np.ndarray:
    """Returns rows (n_T, 6): T, chi_x, chi_y, chi_z (NaN at finite field), chi, chi T (cgs)."""
    the_ion = ion(ion_name) if isinstance(ion_name, str) else ion_name
    if not math.isfinite(case.field_oe) or case.field_oe < 0:
        raise ParameterError(f"field must be >= 0 Oe; got {case.field_oe}")
    hamiltonian(the_ion, case.params_k)  # validates names early
    params = {k: np.float64(v) for k, v in case.params_k.items()}
    if case.field_oe == 0:
        axes = np.asarray(apply_errors(np.moveaxis(np.asarray(chi_axes(the_ion, params, temps_k)), -1, 0),
                                       case.chi_dia, case.f_m))
        axes = axes.T
        chi = axes.mean(axis=-1)
    else:
        chi = np.asarray(apply_errors(chi_powder_finite_field(the_ion, params, temps_k, case.field_oe),
                                      case.chi_dia, case.f_m))
        axes = np.full((temps_k.size, 3), np.nan)
    return np.column_stack([temps_k, axes, chi, chi * temps_k])


def to_csv(results: list[tuple[int, np.ndarray]]) -> str:
    """Formats (case, rows) pairs as the simulation CSV (empty axis cells at finite field)."""
    out = io.StringIO()
    out.write(",".join(CSV_COLUMNS) + "\n")
    for case_id, rows in results:
        for row in rows:
            cells = [str(case_id)] + ["" if math.isnan(v) else f"{v:.10g}" for v in row]
            out.write(",".join(cells) + "\n")
    return out.getvalue()
