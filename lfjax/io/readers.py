"""Measurement files -> per-ion chi T (T): Quantum Design `.dat` files and plain tables.

The reader turns what the instrument wrote into chi T per mole of magnetic ion (cgs, emu K/mol):
  chi = M / (H n),  n = mass / molar mass  (raw moments M in emu, H in Oe),
  chi_ion = chi / ions_per_formula,  chi T = chi_ion T.
Rows at zero field (M / H undefined) and non-numeric rows are skipped with a counted warning;
a file with several segments (a field sweep, temperature runs at different fields) must be told
which one to use (`field_oe`). Rows are sorted by T; repeated temperatures (within
`max(2e-3 K, 1e-4 T)`) are averaged. Every refusal is a `ReaderError` (a ValueError) whose
one-line message names the file (and line) and the likely fix.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from lfjax.io._qd import is_qd, parse_qd
from lfjax.io._raw import RawRows, ReaderError, describe_lines
from lfjax.io._segments import same_field, split_segments
from lfjax.io._table import QUANTITIES, parse_table

FORMATS = ("auto", "qd", "table")
MIN_POINTS = 5
ZERO_FIELD_OE = 0.5
MERGE_ABS_K = 2e-3
MERGE_REL = 1e-4

__all__ = ["FORMATS", "Measurement", "ReaderError", "ReaderOptions", "read_measurement"]


@dataclasses.dataclass(frozen=True, eq=False)
class Measurement:
    """A chi T (T) measurement per mole of magnetic ion, sorted by temperature.

    Attributes:
      temps_k: temperatures in K, shape (n,), increasing.
      chi_t_emu_k_per_mol: chi T per mole of magnetic ion in emu K/mol, shape (n,).
      field_oe: measuring field per point in Oe, shape (n,); 0 where the file gives none
        (then the curve is taken as zero-field linear response).
      source: the file it came from.
      n_points: n.
      warnings: what the reader skipped or merged, one line each.
      ions_per_formula: the number of magnetic ions chi was divided by.
      fmt: "qd" or "table".
      segment: the segment used, e.g. "M(T) at 1000 Oe (350 points)".
    """

    temps_k: np.ndarray
    chi_t_emu_k_per_mol: np.ndarray
    field_oe: np.ndarray
    source: str
    n_points: int
    warnings: tuple[str, ...]
    ions_per_formula: float
    fmt: str
    segment: str

    @property
    def chi_emu_per_mol(self) -> np.ndarray:
        """chi per mole of magnetic ion in emu/mol, shape (n,)."""
        return self.chi_t_emu_k_per_mol / self.temps_k

    @property
    def t_range_k(self) -> tuple[float, float]:
        """(lowest, highest) temperature in K."""
        return float(self.temps_k[0]), float(self.temps_k[-1])


@dataclasses.dataclass(frozen=True)
class ReaderOptions:
    """How to read a measurement file: the keyword options of `read_measurement`."""

    fmt: str = "auto"
    quantity: str | None = None
    units: str | None = None
    field_oe: float | None = None
    mass_mg: float | None = None
    molar_mass_g_per_mol: float | None = None
    ions_per_formula: float = 1.0

    def read(self, path: str | Path, model_t_range_k: tuple[float, float] | None = None) -> "Measurement":
        """`read_measurement(path, **options)`."""
        return read_measurement(path, model_t_range_k=model_t_range_k, **dataclasses.asdict(self))


def read_measurement(
    path: str | Path,
    *,
    fmt: str = "auto",
    quantity: str | None = None,
    units: str | None = None,
    field_oe: float | None = None,
    mass_mg: float | None = None,
    molar_mass_g_per_mol: float | None = None,
    ions_per_formula: float = 1.0,
    model_t_range_k: tuple[float, float] | None = None,
) -> Measurement:
    """Reads a measurement file into per-ion chi T.

    Args:
      path: a Quantum Design `.dat` file or a plain table (CSV, TSV, whitespace).
      fmt: "auto" (a `[Header]` ... `[Data]` layout means QD), "qd" or "table".
      quantity: for tables, "chiT" (emu K/mol), "chi" (emu/mol) or "moment" (emu); default
        from the header. QD files hold moments.
      units: for tables, "cgs" or "si" (m^3/mol, A m^2); default cgs unless the header says SI.
      field_oe: picks the segment measured at this field (Oe); for tables without a field
        column, the field the curve was measured at.
      mass_mg: sample mass in mg (overrides the header's).
      molar_mass_g_per_mol: formula mass in g/mol; required to convert raw moments.
      ions_per_formula: magnetic ions per formula unit (chi is divided by it).
      model_t_range_k: (T_min, T_max) of the model; refuse data with fewer than 5 points in it.

    Raises:
      ReaderError: with a one-line message naming the file and line.
    """
    path = Path(path)
    source = path.name
    if fmt not in FORMATS:
        raise ReaderError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if quantity is not None and quantity not in QUANTITIES:
        raise ReaderError(f"unknown quantity {quantity!r}; expected one of {', '.join(QUANTITIES)}")
    if not ions_per_formula > 0:
        raise ReaderError(f"ions per formula must be > 0; got {ions_per_formula}")
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise ReaderError(f"cannot read {path}: {exc.strerror}") from None
    if fmt == "qd" or (fmt == "auto" and is_qd(text)):
        if not is_qd(text):
            raise ReaderError(f"{source}: not a Quantum Design file (no [Header] and [Data] sections); try --format table")
        if quantity not in (None, "moment"):
            raise ReaderError(f"{source}: Quantum Design files hold moments; drop --quantity {quantity}")
        raw = parse_qd(text, source)
    else:
        raw = parse_table(text, source, quantity, units)
    warnings: list[str] = []
    if raw.skipped_lines:
        warnings.append(f"skipped {len(raw.skipped_lines)} non-numeric or incomplete rows ({describe_lines(raw.skipped_lines)})")
    raw = _check_temperatures(raw)
    raw = _fill_fields(raw, field_oe)
    if raw.quantity == "moment":
        zero = np.abs(raw.fields_oe) < ZERO_FIELD_OE
        if zero.any():
            lines = tuple(int(n) for n in raw.lines[zero])
            warnings.append(f"skipped {zero.sum()} rows at zero field ({describe_lines(lines)}): chi = M/H is undefined there")
            raw = raw.take(~zero)
    raw, segment = _choose_segment(raw, field_oe)
    chi_t = _chi_t_per_formula(raw, mass_mg, molar_mass_g_per_mol) / ions_per_formula
    temps, chi_t, fields, n_merged = _sort_and_merge(raw.temps_k, chi_t, raw.fields_oe)
    if n_merged:
        warnings.append(f"merged {n_merged} rows into others at repeated temperatures (averaged)")
    if temps.size < MIN_POINTS:
        raise ReaderError(f"{source}: only {temps.size} usable points in {segment}; need at least {MIN_POINTS}")
    if model_t_range_k is not None:
        lo, hi = model_t_range_k
        inside = np.count_nonzero((temps >= lo) & (temps <= hi))
        if inside < MIN_POINTS:
            raise ReaderError(
                f"{source}: the data cover {temps[0]:.4g}-{temps[-1]:.4g} K, which misses the model's "
                f"{lo:g}-{hi:g} K ({inside} points inside; need at least {MIN_POINTS})"
            )
    return Measurement(
        temps_k=temps, chi_t_emu_k_per_mol=chi_t, field_oe=fields, source=str(path), n_points=int(temps.size),
        warnings=tuple(warnings), ions_per_formula=float(ions_per_formula), fmt=raw.fmt, segment=segment,
    )


def _check_temperatures(raw: RawRows) -> RawRows:
    bad = raw.temps_k <= 0
    if bad.any():
        first = int(np.argmax(bad))
        raise ReaderError(
            f"{raw.source}:{raw.lines[first]}: temperature {raw.temps_k[first]:g} K is not > 0; "
            "temperatures must be in kelvin"
        )
    return raw


def _fill_fields(raw: RawRows, field_oe: float | None) -> RawRows:
    """Fields for files without a field column: the given `field_oe`, else 0 (zero-field)."""
    if not np.isnan(raw.fields_oe).all():
        return dataclasses.replace(raw, fields_oe=np.nan_to_num(raw.fields_oe, nan=0.0))
    if raw.quantity == "moment" and not field_oe:
        raise ReaderError(f"{raw.source}: moments need the measuring field; add a field column or give --field-oe")
    return dataclasses.replace(raw, fields_oe=np.full_like(raw.temps_k, float(field_oe or 0.0)))


def _choose_segment(raw: RawRows, field_oe: float | None) -> tuple[RawRows, str]:
    if raw.temps_k.size == 0:
        raise ReaderError(f"{raw.source}: no usable rows (need at least {MIN_POINTS})")
    segments = split_segments(raw.fields_oe, raw.temps_k)
    listing = "; ".join(s.describe() for s in segments)
    t_segments = [s for s in segments if s.kind == "M(T)"]
    if field_oe is None:
        if len(segments) == 1 and t_segments:
            return raw.take(t_segments[0].rows), t_segments[0].describe()
        if not t_segments:
            raise ReaderError(f"{raw.source} holds no temperature run (found: {listing}); lfjax needs chi T (T)")
        raise ReaderError(f"{raw.source} holds {len(segments)} segments: {listing}; pick one with --field-oe")
    match = [s for s in t_segments if same_field(s.field_oe, field_oe)]
    if not match:
        raise ReaderError(f"{raw.source} has no temperature run at {field_oe:g} Oe (found: {listing}); pick one with --field-oe")
    return raw.take(match[0].rows), match[0].describe()


def _chi_t_per_formula(raw: RawRows, mass_mg: float | None, molar_mass: float | None) -> np.ndarray:
    """chi T per mole of formula unit (emu K/mol) from the parsed quantity."""
    if raw.quantity == "chiT":
        return raw.values
    if raw.quantity == "chi":
        return raw.values * raw.temps_k
    mass = mass_mg if mass_mg is not None else raw.mass_mg
    molar = molar_mass if molar_mass is not None else raw.molar_mass_g_per_mol
    if mass is None or not mass > 0:
        raise ReaderError(f"{raw.source}: raw moments need the sample mass; give --mass-mg (header has none)")
    if molar is None or not molar > 0:
        raise ReaderError(f"{raw.source}: raw moments need the formula mass; give --molar-mass in g/mol")
    moles = mass * 1e-3 / molar
    return raw.values / (raw.fields_oe * moles) * raw.temps_k


def _sort_and_merge(temps, chi_t, fields):
    """Sorts by T and averages runs of temperatures within max(MERGE_ABS_K, MERGE_REL T)."""
    order = np.argsort(temps, kind="stable")
    temps, chi_t, fields = temps[order], chi_t[order], fields[order]
    gaps = np.diff(temps) > np.maximum(MERGE_ABS_K, MERGE_REL * temps[1:])
    group = np.concatenate([[0], np.cumsum(gaps)])
    counts = np.bincount(group)
    mean = lambda x: np.bincount(group, weights=x) / counts
    return mean(temps), mean(chi_t), mean(fields), int(temps.size - counts.size)
