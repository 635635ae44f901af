"""One measurement file (Quantum Design .dat or a plain table) -> `Curve`s in canonical units.

chi(T) curves ("chi", alias "mt"): the temperature run at `field_oe` (Oe), chi = M / H per mole of
magnetic ion (emu/mol); rows at zero field are skipped (warning), repeated temperatures averaged.
M(H) curves ("mh"): the field sweep at `temperature_k` (K), folded and reduced by `lfjax.io.mh`
(virgin branch, or the mean of the rising and falling branches), M in mu_B per magnetic ion.
Raw moments (emu) use mass_mg and molar_mass_g_per_mol (arguments override the file's header);
tables of chi, chiT or M (emu/mol) are per mole of formula unit and divided by ions_per_formula;
M_muB tables are per ion already. Plain tables are parsed by `lfjax.io._columns` (named columns,
paired-column tables -> one curve per column group).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from lfjax.errors import ConfigError, ReaderError
from lfjax.io._columns import QUANTITIES, parse_columns
from lfjax.io._qd import is_qd, parse_qd
from lfjax.io._raw import RawRows, describe_lines
from lfjax.io._segments import same_field
from lfjax.io._sweeps import Part, listing, same_temperature, split_parts
from lfjax.io.curves import (
    Curve,
    CurveSource,
    emu_per_mol_to_mub,
    moment_to_emu_per_mol_ion,
    normalise_kind,
)
from lfjax.io.mh import MAX_POINTS, fold_sweep

FORMATS = ("auto", "qd", "table")
MIN_POINTS = 5
ZERO_FIELD_OE = 0.5
MERGE_ABS_K = 2e-3
MERGE_REL = 1e-4
_ORIENTED = ("//", "∥", "||", "para", "perp", "ab", "axis")

__all__ = ["FORMATS", "MIN_POINTS", "QUANTITIES", "guess_kind", "read_curve", "read_curves"]


@dataclasses.dataclass(frozen=True)
class _Ask:
    """What the caller asked for (one `[[data]]` entry)."""

    kind: str | None
    field_oe: float | None
    temperature_k: float | None
    t_range_k: tuple[float | None, float | None]
    h_range_oe: tuple[float | None, float | None]
    mass_mg: float | None
    molar_mass_g_per_mol: float | None
    ions_per_formula: float
    max_points: int


def _load(path: Path, fmt: str, quantity: str | None, units: str | None) -> list[tuple[str, RawRows]]:
    if fmt not in FORMATS:
        raise ReaderError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if quantity is not None and quantity not in QUANTITIES:
        raise ReaderError(f"unknown quantity {quantity!r}; expected one of {', '.join(QUANTITIES)}")
    if not path.is_file():
        raise ReaderError(f"data file {path} does not exist; check the path (relative paths start at the set file)")
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise ReaderError(f"cannot read {path}: {exc.strerror}") from None
    if fmt == "qd" or (fmt == "auto" and is_qd(text)):
        if not is_qd(text):
            raise ReaderError(f"{path.name}: not a Quantum Design file (no [Header] and [Data] sections); use format = \"table\"")
        if quantity not in (None, "moment"):
            raise ReaderError(f"{path.name}: Quantum Design files hold moments; drop quantity = {quantity!r}")
        return [("", parse_qd(text, path.name))]
    return [(g.label, g.raw) for g in parse_columns(text, path.name, quantity, units)]


def _pick_group(groups, curve, source):
    labels = [label for label, _ in groups]
    if curve is None:
        return groups
    if isinstance(curve, bool) or not isinstance(curve, (int, str)):
        raise ConfigError(f"curve must be a column-group label or a 0-based index; got {curve!r}")
    if isinstance(curve, int):
        if not 0 <= curve < len(groups):
            raise ReaderError(f"{source} has {len(groups)} curve(s) ({', '.join(map(repr, labels))}); curve index {curve} is out of range")
        return [groups[curve]]
    match = [g for g in groups if g[0].lower() == curve.strip().lower()]
    if not match:
        raise ReaderError(f"{source} has no curve labelled {curve!r}; its curves: {', '.join(map(repr, labels))}")
    return match


def guess_kind(path: str | Path, *, fmt: str = "auto", quantity: str | None = None, units: str | None = None) -> str:
    """'chi' or 'mh' for a file that holds only one kind of measurement.

    A file whose field varies while the temperature stays constant is M(H); one whose temperature
    varies at a fixed field is chi(T); tables of M_muB or M (emu/mol) without a varying
    temperature are M(H).

    Raises:
      ReaderError: the file holds both kinds (name the one to use).
    """
    path = Path(path)
    kinds = {_guess(raw, path.name) for _, raw in _load(path, fmt, quantity, units)}
    if len(kinds) > 1:
        raise ReaderError(f"{path.name} holds both chi(T) and M(H) curves; give kind per curve in a set file")
    return kinds.pop()


def _guess(raw: RawRows, source: str) -> str:
    if np.isnan(raw.fields_oe).all():
        if raw.quantity in ("M", "M_muB") and np.isnan(raw.temps_k).all():
            return "mh"
        return "chi"
    if np.isnan(raw.temps_k).all():
        return "mh"
    parts = split_parts(raw.fields_oe, raw.temps_k)
    kinds = {("chi" if p.kind == "M(T)" else "mh") for p in parts}
    if len(kinds) > 1:
        raise ReaderError(
            f"{source} holds both temperature runs and field sweeps ({listing(parts)}); pick one with "
            "kind = \"chi\" and field_oe, or kind = \"mh\" and temperature_k"
        )
    return kinds.pop()


def read_curves(
    path: str | Path,
    kind: str | None = None,
    *,
    field_oe: float | None = None,
    temperature_k: float | None = None,
    t_min_k: float | None = None,
    t_max_k: float | None = None,
    h_min_oe: float | None = None,
    h_max_oe: float | None = None,
    direction="powder",
    quantity: str | None = None,
    fmt: str = "auto",
    units: str | None = None,
    curve: int | str | None = None,
    mass_mg: float | None = None,
    molar_mass_g_per_mol: float | None = None,
    ions_per_formula: float = 1.0,
    noise: float | None = None,
    label: str | None = None,
    max_points: int = MAX_POINTS,
    entry: int | None = None,
) -> list[Curve]:
    """Reads the curves a file holds (one, or one per column group of a paired table).

    Args:
      path: a Quantum Design .dat file or a plain table.
      kind: "chi" (alias "mt") or "mh"; None guesses it (`guess_kind`).
      field_oe: chi: picks the temperature run at this field (Oe); for tables without a field
        column, the field the curve was measured at.
      temperature_k: mh: picks the sweep at this temperature (K); for tables without a
        temperature column, the temperature of the curve.
      t_min_k, t_max_k: keep chi points with T in [t_min_k, t_max_k] (K).
      h_min_oe, h_max_oe: keep M(H) points with |H| in [h_min_oe, h_max_oe] (Oe).
      direction: "powder", "x", "y", "z" or [nx, ny, nz].
      quantity: what a table holds: chiT, chi, moment (emu), M (emu/mol), M_muB; QD files: moment.
      fmt: "auto", "qd" or "table".
      units: tables: "cgs" (default) or "si".
      curve: a paired table's column group, by label or 0-based index (default: all).
      mass_mg: sample mass in mg (overrides the header's).
      molar_mass_g_per_mol: formula mass in g/mol (overrides the header's).
      ions_per_formula: magnetic ions per formula unit.
      noise: relative noise level stored on the curve (None: estimate it).
      label: the curve's label (default: file stem, column-group label, field or temperature).
      max_points: M(H) curves with more points are averaged in consecutive field bins.
      entry: the set file's entry index, kept in the provenance.

    Returns:
      Curves in canonical units (chi: emu/mol per ion; mh: mu_B per ion).

    Raises:
      ReaderError: a missing or unreadable file, no matching run or sweep, a kind the file does not
        hold, missing mass or formula mass, no points left after the ranges.
      ConfigError: ranges of the other kind, a bad direction, noise or curve picker.
    """
    path = Path(path)
    kind = normalise_kind(kind) if kind is not None else None
    if not ions_per_formula > 0:
        raise ConfigError(f"ions_per_formula must be > 0; got {ions_per_formula}")
    if not (isinstance(max_points, int) and max_points >= MIN_POINTS):
        raise ConfigError(f"max_points must be an integer >= {MIN_POINTS}; got {max_points!r}")
    if kind == "chi" and (h_min_oe is not None or h_max_oe is not None):
        raise ConfigError(f"{path.name}: h_min_oe / h_max_oe apply to M(H) curves; for chi(T) use t_min_k / t_max_k")
    if kind == "mh" and (t_min_k is not None or t_max_k is not None):
        raise ConfigError(f"{path.name}: t_min_k / t_max_k apply to chi(T) curves; for M(H) use h_min_oe / h_max_oe")
    ask = _Ask(kind, field_oe, temperature_k, (t_min_k, t_max_k), (h_min_oe, h_max_oe), mass_mg,
               molar_mass_g_per_mol, float(ions_per_formula), max_points)
    groups = _pick_group(_load(path, fmt, quantity, units), curve, path.name)
    curves = []
    for group_label, raw in groups:
        this_kind = ask.kind or _guess(raw, path.name)
        reader = _chi_curve if this_kind == "chi" else _mh_curve
        temps, fields, values, part, warnings = reader(raw, ask)
        name = label or " ".join(x for x in (path.stem, group_label) if x)
        if label and len(groups) > 1:
            name = f"{label} {group_label}"
        if group_label and direction == "powder" and any(w in group_label.lower() for w in _ORIENTED):
            warnings.append(f"curve {group_label!r} looks oriented but its direction is powder; set direction for it")
        source = CurveSource(
            file=str(path), fmt=raw.fmt, quantity=raw.quantity, segment=part, t_range_k=ask.t_range_k,
            h_range_oe=ask.h_range_oe, warnings=tuple(warnings), entry=entry,
        )
        curves.append(Curve(this_kind, temps, fields, values, direction=direction, noise=noise, label=name, source=source))
    return curves


def read_curve(path: str | Path, kind: str | None = None, **options) -> Curve:
    """`read_curves` for a file (or a picked column group) that holds exactly one curve."""
    curves = read_curves(path, kind, **options)
    if len(curves) > 1:
        labels = ", ".join(repr(c.label) for c in curves)
        raise ReaderError(f"{Path(path).name} holds {len(curves)} curves ({labels}); pick one with curve = LABEL or INDEX")
    return curves[0]


def _skipped(raw: RawRows) -> list[str]:
    if not raw.skipped_lines:
        return []
    n = len(raw.skipped_lines)
    return [f"skipped {n} row{'s' if n != 1 else ''} with missing or non-numeric entries ({describe_lines(raw.skipped_lines)})"]


def _moles_needed(raw: RawRows, ask: _Ask) -> tuple[float, float]:
    mass = ask.mass_mg if ask.mass_mg is not None else raw.mass_mg
    molar = ask.molar_mass_g_per_mol if ask.molar_mass_g_per_mol is not None else raw.molar_mass_g_per_mol
    if mass is None or not mass > 0:
        raise ReaderError(f"{raw.source}: raw moments need the sample mass; give mass_mg (the header has none)")
    if molar is None or not molar > 0:
        raise ReaderError(f"{raw.source}: raw moments need the formula mass; give molar_mass_g_per_mol")
    return mass, molar


def _chi_curve(raw: RawRows, ask: _Ask):
    """(temps_k, fields_oe, chi per ion emu/mol, segment text, warnings) of a chi(T) run."""
    warnings = _skipped(raw)
    if raw.quantity == "M_muB":
        raise ReaderError(f"{raw.source}: a column of M in mu_B is M(H) data, not chi(T); use kind = \"mh\"")
    if np.isnan(raw.temps_k).all():
        raise ReaderError(f"{raw.source}: a chi(T) curve needs a temperature column (T_K)")
    if np.isnan(raw.fields_oe).all():
        if raw.quantity in ("moment", "M") and not ask.field_oe:
            raise ReaderError(f"{raw.source}: moments need the measuring field; add a field column (H_Oe) or give field_oe")
        raw = dataclasses.replace(raw, fields_oe=np.full_like(raw.temps_k, float(ask.field_oe or 0.0)))
    _positive_temperatures(raw)
    if raw.quantity in ("moment", "M"):
        zero = np.abs(raw.fields_oe) < ZERO_FIELD_OE
        if zero.any():
            n = int(zero.sum())
            warnings.append(f"skipped {n} row{'s' if n != 1 else ''} at zero field ({describe_lines(tuple(raw.lines[zero]))}): chi = M/H is undefined there")
            raw = raw.take(~zero)
    part = _choose(raw, "chi", ask)
    raw = raw.take(part.rows)
    if raw.quantity == "chi":
        chi = raw.values / ask.ions_per_formula
    elif raw.quantity == "chiT":
        chi = raw.values / raw.temps_k / ask.ions_per_formula
    elif raw.quantity == "M":
        chi = raw.values / raw.fields_oe / ask.ions_per_formula
    else:
        mass, molar = _moles_needed(raw, ask)
        chi = moment_to_emu_per_mol_ion(raw.values, mass, molar, ask.ions_per_formula) / raw.fields_oe
    temps, chi, fields, merged = _sort_and_merge(raw.temps_k, chi, raw.fields_oe)
    if merged:
        warnings.append(f"merged {merged} row{'s' if merged != 1 else ''} into others at repeated temperatures (averaged)")
    lo, hi = ask.t_range_k
    keep = (temps >= (lo if lo is not None else -np.inf)) & (temps <= (hi if hi is not None else np.inf))
    _enough(int(keep.sum()), raw.source, part, "t_min_k / t_max_k", ask.t_range_k, "K")
    return temps[keep], fields[keep], chi[keep], part.describe(), warnings


def _mh_curve(raw: RawRows, ask: _Ask):
    """(temps_k, |H| Oe, M mu_B per ion, segment text, warnings) of an M(H) sweep."""
    warnings = _skipped(raw)
    if raw.quantity in ("chi", "chiT"):
        raise ReaderError(f"{raw.source}: an M(H) curve needs magnetisation (moment, M or M_muB), not {raw.quantity}; use kind = \"chi\"")
    if np.isnan(raw.fields_oe).all():
        raise ReaderError(f"{raw.source}: an M(H) curve needs a field column (H_Oe)")
    if np.isnan(raw.temps_k).all():
        if ask.temperature_k is None:
            raise ReaderError(f"{raw.source}: the table has no temperature column; give temperature_k")
        raw = dataclasses.replace(raw, temps_k=np.full_like(raw.fields_oe, float(ask.temperature_k)))
    _positive_temperatures(raw)
    part = _choose(raw, "mh", ask)
    raw = raw.take(part.rows)
    if raw.quantity == "M_muB":
        m_mub = raw.values
    elif raw.quantity == "M":
        m_mub = emu_per_mol_to_mub(raw.values / ask.ions_per_formula)
    else:
        mass, molar = _moles_needed(raw, ask)
        m_mub = emu_per_mol_to_mub(moment_to_emu_per_mol_ion(raw.values, mass, molar, ask.ions_per_formula))
    folded = fold_sweep(raw.fields_oe, m_mub, raw.temps_k, max_points=ask.max_points, h_range_oe=ask.h_range_oe)
    warnings += folded.warnings
    _enough(folded.fields_oe.size, raw.source, part, "h_min_oe / h_max_oe", ask.h_range_oe, "Oe")
    return folded.temps_k, folded.fields_oe, folded.values, f"{part.describe()}, {folded.how}", warnings


def _positive_temperatures(raw: RawRows) -> None:
    bad = raw.temps_k <= 0
    if bad.any():
        first = int(np.argmax(bad))
        raise ReaderError(f"{raw.source}:{raw.lines[first]}: temperature {raw.temps_k[first]:g} K is not > 0; temperatures must be in kelvin")


def _choose(raw: RawRows, kind: str, ask: _Ask) -> Part:
    """The temperature run at `field_oe` (chi) or the field sweep at `temperature_k` (mh)."""
    if raw.temps_k.size == 0:
        raise ReaderError(f"{raw.source}: no usable rows")
    parts = split_parts(raw.fields_oe, raw.temps_k)
    want, other = ("M(T)", "M(H)") if kind == "chi" else ("M(H)", "M(T)")
    fitting = [p for p in parts if p.kind == want]
    if not fitting:
        fix = ('kind = "mh" with temperature_k' if kind == "chi" else 'kind = "chi" with field_oe')
        asked = "a chi(T) curve (a temperature run)" if kind == "chi" else "an M(H) curve (a field sweep)"
        raise ReaderError(f"{raw.source}: asked for {asked} but the file holds only {listing(parts)}; use {fix}")
    if kind == "chi":
        pick, unit, name = ask.field_oe, "Oe", "field_oe"
        match = [p for p in fitting if pick is not None and same_field(p.field_oe, pick)]
    else:
        pick, unit, name = ask.temperature_k, "K", "temperature_k"
        match = [p for p in fitting if pick is not None and same_temperature(p.temperature_k, pick)]
    if pick is None:
        if len(fitting) == 1:
            return fitting[0]
        raise ReaderError(f"{raw.source} holds {len(fitting)} {want} runs ({listing(fitting)}); pick one with {name}")
    if not match:
        raise ReaderError(f"{raw.source} has no {want} run at {pick:g} {unit} (found: {listing(parts)}); pick one with {name}")
    if len(match) > 1:
        raise ReaderError(f"{raw.source} has {len(match)} {want} runs at {pick:g} {unit} ({listing(match)}); split the file")
    del other
    return match[0]


def _enough(n: int, source: str, part: Part, keys: str, bounds, unit: str) -> None:
    if n >= MIN_POINTS:
        return
    lo, hi = bounds
    span = f"{'-inf' if lo is None else f'{lo:g}'} to {'inf' if hi is None else f'{hi:g}'} {unit}"
    raise ReaderError(f"{source}: only {n} points of {part.describe()} left in {span}; need at least {MIN_POINTS}; widen {keys}")


def _sort_and_merge(temps, values, fields):
    """Sorts by T and averages runs of temperatures within max(MERGE_ABS_K, MERGE_REL T)."""
    order = np.argsort(temps, kind="stable")
    temps, values, fields = temps[order], values[order], fields[order]
    gaps = np.diff(temps) > np.maximum(MERGE_ABS_K, MERGE_REL * temps[1:])
    group = np.concatenate([[0], np.cumsum(gaps)]).astype(int)
    counts = np.bincount(group)
    mean = lambda x: np.bincount(group, weights=x) / counts
    return mean(temps), mean(values), mean(fields), int(temps.size - counts.size)
