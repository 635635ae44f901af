"""Quantum Design MPMS / MPMS3 / PPMS `.dat` files: a `[Header]` of INFO lines, then `[Data]` CSV."""

from __future__ import annotations

import csv
import re

import numpy as np

from lfjax.io._raw import RawRows, ReaderError, parse_float

#: Moment columns, most preferred first (MPMS, MPMS3 VSM/DC, PPMS ACMS/VSM).
MOMENT_COLUMNS = ("Long Moment (emu)", "DC Moment (emu)", "Moment (emu)",
                  "DC Moment Fixed Ctr (emu)", "DC Moment Free Ctr (emu)")
FIELD_COLUMNS = ("Field (Oe)", "Magnetic Field (Oe)")
TEMPERATURE_COLUMNS = ("Temperature (K)", "Average Temp (K)")
#: Header keys that carry the sample mass (mg unless a unit follows) and the formula mass (g/mol).
MASS_KEYS = ("WEIGHT", "SAMPLE_MASS", "MASS")
MOLAR_MASS_KEYS = ("SAMPLE_MOLECULAR_WEIGHT", "MOLECULAR_WEIGHT", "MOLAR_MASS")
_MASS_RE = re.compile(r"^\s*([-+0-9.eE]+)\s*(mg|g|ug|µg|μg)?\s*$", re.IGNORECASE)
_MG_PER_UNIT = {"mg": 1.0, "g": 1000.0, "ug": 1e-3, "µg": 1e-3, "μg": 1e-3}


def is_qd(text: str) -> bool:
    """True when the text has the `[Header]` ... `[Data]` layout of Quantum Design files."""
    stripped = {line.strip() for line in text.splitlines()[:2000]}
    return "[Data]" in stripped and "[Header]" in stripped


def _header_value(fields: list[str], keys: tuple[str, ...]) -> str | None:
    """For 'INFO, KEY, value' (MPMS) or 'INFO, value, KEY' (MPMS3): the value next to a key."""
    upper = [f.strip().upper() for f in fields]
    for key in keys:
        if key in upper[1:]:
            rest = [f.strip() for i, f in enumerate(fields[1:], 1) if upper[i] != key]
            return next((r for r in rest if r), None)
    return None


def _parse_mass_mg(text: str, source: str, lineno: int) -> float:
    match = _MASS_RE.match(text)
    value = parse_float(match.group(1)) if match else None
    if value is None or value <= 0:
        raise ReaderError(f"{source}:{lineno}: cannot read the sample mass {text!r}; give it with --mass-mg")
    unit = (match.group(2) or "mg").lower()
    return value * _MG_PER_UNIT[unit]


def _find_column(header: list[str], names: tuple[str, ...], rows: list[tuple[int, list[str]]]) -> int | None:
    """Index of the first column named in `names` that holds at least one number."""
    stripped = [h.strip() for h in header]
    present = [stripped.index(n) for n in names if n in stripped]
    for index in present:
        if any(index < len(r) and parse_float(r[index]) is not None for _, r in rows):
            return index
    return present[0] if present else None


def parse_qd(text: str, source: str) -> RawRows:
    """Parses a QD `.dat` text into rows of (T, H, moment per sample in emu)."""
    lines = text.splitlines()
    data_at = next(i for i, line in enumerate(lines) if line.strip() == "[Data]")
    mass_mg = molar_mass = None
    for i, line in enumerate(lines[:data_at]):
        fields = next(csv.reader([line]), [])
        if not fields or fields[0].strip().upper() != "INFO":
            continue
        mass_text = _header_value(fields, MASS_KEYS)
        if mass_text and mass_mg is None:
            mass_mg = _parse_mass_mg(mass_text, source, i + 1)
        molar_text = _header_value(fields, MOLAR_MASS_KEYS)
        if molar_text and molar_mass is None:
            molar_mass = parse_float(molar_text.split()[0]) or None
    if data_at + 1 >= len(lines):
        raise ReaderError(f"{source}:{data_at + 1}: [Data] has no column header line")
    header = next(csv.reader([lines[data_at + 1]]))
    rows = [(n + 1, f) for n, line in enumerate(lines[data_at + 2:], data_at + 2) if line.strip()
            for f in [next(csv.reader([line]))]]
    columns = {}
    for label, names in (("temperature", TEMPERATURE_COLUMNS), ("field", FIELD_COLUMNS), ("moment", MOMENT_COLUMNS)):
        index = _find_column(header, names, rows)
        if index is None:
            raise ReaderError(f"{source}:{data_at + 2}: no {label} column; expected one of {', '.join(names)}")
        if not any(index < len(r) and parse_float(r[index]) is not None for _, r in rows):
            raise ReaderError(f"{source}:{data_at + 2}: column {header[index].strip()!r} is empty")
        columns[label] = index
    good, skipped = [], []
    for lineno, fields in rows:
        vals = [parse_float(fields[c]) if c < len(fields) else None for c in columns.values()]
        if None in vals:
            skipped.append(lineno)
        else:
            good.append((lineno, *vals))
    table = np.asarray(good, dtype=float).reshape(-1, 4)
    return RawRows(
        source=source, fmt="qd", quantity="moment", lines=table[:, 0].astype(int), temps_k=table[:, 1],
        fields_oe=table[:, 2], values=table[:, 3], skipped_lines=tuple(skipped), mass_mg=mass_mg,
        molar_mass_g_per_mol=molar_mass,
    )
