"""Plain tables with named columns, and paired-column tables holding several curves side by side.

Column names (case-insensitive; units after `_` or in parentheses):
  T, Temp, Temperature, T_K                     -> temperature in K
  H, B, Field, mu0H, H_Oe (H_T, "(T)": tesla)   -> field in Oe
  chiT, chi*T, XT, chiT_emu_K_per_mol           -> "chiT" per mole of formula unit, emu K/mol
  chi, X, susceptibility, chi_emu_per_mol       -> "chi" per mole of formula unit, emu/mol
  M_muB, M_muB_per_ion, M_uB                    -> "M_muB", Bohr magnetons per magnetic ion
  M_emu_per_mol, M_per_mol                      -> "M" per mole of formula unit, emu/mol
  M, moment, magnetization                      -> "moment" of the sample, emu
Several temperature columns split a table into column groups, one curve each. A table without
usable names whose columns come in triples (T, chi, 1/chi) is split the same way. Group labels come
from header words such as "Chi H//ab" (-> "H//ab"), else "curve 1", "curve 2", ... Missing entries
("", "--", "nan") drop a row from its group only.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from lfjax.constants import OE_PER_T, SI_M3_PER_MOL_PER_CGS
from lfjax.io._raw import RawRows, ReaderError, parse_float

#: Quantities a table column may hold (see the module docstring for units).
QUANTITIES = ("chiT", "chi", "moment", "M", "M_muB")
_END = r"(?![a-z])"
_PATTERNS = (  # order matters: the first match names a column
    ("T", re.compile(rf"^(t|temp|temperature){_END}", re.IGNORECASE)),
    ("chiT", re.compile(rf"^(chi|χ|x)[\s_*·]*t{_END}", re.IGNORECASE)),
    ("chi", re.compile(rf"^(chi|χ|x|susceptibility){_END}", re.IGNORECASE)),
    ("M_muB", re.compile(r"^m[\s_(]*(mu_?b|µb|μb|ub|mub)", re.IGNORECASE)),
    ("M", re.compile(r"^m[\s_(]*(emu)?[\s_/]*(per[\s_]*mol|/\s*mol|mol)", re.IGNORECASE)),
    ("moment", re.compile(rf"^(m|moment|magnetization|magnetisation){_END}", re.IGNORECASE)),
    ("field", re.compile(rf"^(h|b|field|magnetic field|mu0h|µ0h){_END}", re.IGNORECASE)),
)
_MISSING = {"", "--", "-", "nan", "na", "n/a", "none"}
_TESLA = re.compile(r"(\(\s*t\s*\)|_t$)", re.IGNORECASE)
_SI_HINT = re.compile(r"m\^?3|m³|a\s*m\^?2|a·m", re.IGNORECASE)
_LABEL = re.compile(r"^(chi|χ|x|m|moment)[\s_]+(?!t\b)(.+)$", re.IGNORECASE)
_UNIT_WORD = re.compile(r"^[(\[]|^(emu|per|mol|k|oe|mub|mu_?b|cgs|si|cm\^?3|m\^?3|a_?m\^?2)(?![a-z])", re.IGNORECASE)
INVERSE_RTOL = 1e-3


@dataclasses.dataclass(frozen=True, eq=False)
class ColumnGroup:
    """One curve of a table: its label and rows (temps_k or fields_oe NaN where no column)."""

    label: str
    raw: RawRows


def _split(line: str, delimiter: str | None) -> list[str]:
    return [f.strip() for f in (line.split(delimiter) if delimiter else line.split())]


def _is_number_or_missing(text: str) -> bool:
    return parse_float(text) is not None or text.strip().lower() in _MISSING


def _column_kind(name: str) -> str | None:
    key = name.strip()
    return next((kind for kind, pattern in _PATTERNS if pattern.search(key)), None)


def _triples_with_inverse(rows: list[list[float | None]]) -> bool:
    """True when every third column (from the third) is 1 / the column before it."""
    width = len(rows[0])
    if width < 3 or width % 3:
        return False
    for start in range(0, width, 3):
        pairs = [(r[start + 1], r[start + 2]) for r in rows if r[start + 1] and r[start + 2]]
        if len(pairs) < 3 or not all(abs(a * b - 1.0) < INVERSE_RTOL for a, b in pairs):
            return False
    return True


def _labels(header_lines: list[list[str]], n_groups: int) -> list[str]:
    if n_groups == 1:
        return [""]
    words = [m.group(2).strip() for line in header_lines for f in line if (m := _LABEL.match(f.strip()))]
    words = list(dict.fromkeys(w for w in words if not _UNIT_WORD.match(w)))
    if len(words) == n_groups:
        return words
    return [f"curve {i + 1}" for i in range(n_groups)]


def parse_columns(text: str, source: str, quantity: str | None = None, units: str | None = None) -> list[ColumnGroup]:
    """Parses a plain table into one `ColumnGroup` per curve, values converted to cgs.

    Args:
      text: the file's text.
      source: the file name for messages.
      quantity: what the value columns hold (one of `QUANTITIES`); default from the names.
      units: "cgs" or "si" for chi/chiT (m^3/mol), moment (A m^2), M (A m^2/mol); default from names.

    Raises:
      ReaderError: no data rows, no value column, an unknown quantity or units.
    """
    if quantity is not None and quantity not in QUANTITIES:
        raise ReaderError(f"unknown quantity {quantity!r}; expected one of {', '.join(QUANTITIES)}")
    if units not in (None, "cgs", "si"):
        raise ReaderError(f"unknown units {units!r}; expected cgs or si")
    lines = [(n, line.split("#")[0].rstrip("\r\n")) for n, line in enumerate(text.splitlines(), 1)]
    lines = [(n, line) for n, line in lines if line.strip()]
    if not lines:
        raise ReaderError(f"{source}: no data rows")
    first_data = next((i for i, (_, line) in enumerate(lines) if _row_like(line)), None)
    if first_data is None:
        raise ReaderError(f"{source}: no numeric data rows")
    sample = lines[first_data][1]
    delimiter = "\t" if "\t" in sample else ("," if "," in sample else (";" if ";" in sample else None))
    header = [_split(line, delimiter) for _, line in lines[:first_data]]
    width = len(_split(sample, delimiter))
    data: list[tuple[int, list[float | None]]] = []
    skipped: list[int] = []
    for n, line in lines[first_data:]:
        fields = _split(line, delimiter)
        if not all(_is_number_or_missing(f) for f in fields):
            skipped.append(n)
            continue
        data.append((n, [parse_float(f) for f in fields] + [None] * (width - len(fields))))
    names = header[-1] if header else []
    while names and not names[-1]:
        names = names[:-1]
    kinds = [_column_kind(name) for name in names]
    if kinds.count("T") >= 1 and len(names) == width:
        groups = _groups_by_names(kinds, source)
    elif not header or all(k is None for k in kinds) or len(names) != width:
        if _triples_with_inverse([r for _, r in data]):
            groups = [{"T": s, "chi": s + 1} for s in range(0, width, 3)]
            quantity = quantity or "chi"
        else:
            groups = [{"T": 0, "value": 1, **({"field": 2} if width > 2 else {})}]
    else:
        groups = _groups_by_names(kinds, source)
    labels = _labels(header, len(groups))
    out = []
    for group, label in zip(groups, labels):
        out.append(ColumnGroup(label, _group_rows(group, names, data, skipped, source, quantity, units)))
    return out


def _row_like(line: str) -> bool:
    fields = _split(line, "\t" if "\t" in line else ("," if "," in line else (";" if ";" in line else None)))
    return sum(parse_float(f) is not None for f in fields) >= 2 and all(_is_number_or_missing(f) for f in fields)


def _groups_by_names(kinds: list[str | None], source: str) -> list[dict[str, int]]:
    """Column indices per group; a new group starts at each temperature column after the first."""
    groups: list[dict[str, int]] = []
    for index, kind in enumerate(kinds):
        if kind is None:
            continue
        if not groups or (kind == "T" and "T" in groups[-1]):
            groups.append({})
        groups[-1].setdefault(kind, index)
    if not groups or not any(k in g for g in groups for k in QUANTITIES):
        raise ReaderError(
            f"{source}: no value column among the names; name it e.g. chi_emu_per_mol, chiT_emu_K_per_mol, "
            "M_emu_per_mol, M_muB_per_ion or moment"
        )
    return groups


def _group_rows(group, names, data, skipped, source, quantity, units) -> RawRows:
    present = [q for q in QUANTITIES if q in group]
    if quantity is None:
        if "value" in group or not present:
            raise ReaderError(f"{source}: cannot tell what the table holds; give quantity (one of {', '.join(QUANTITIES)})")
        quantity = present[0]
    v_col = group.get(quantity, group.get("value", group[present[0]] if present else None))
    t_col, h_col = group.get("T"), group.get("field")
    value_name = names[v_col] if v_col is not None and v_col < len(names) else ""
    if units is None:
        units = "si" if _SI_HINT.search(value_name) else "cgs"
    tesla = h_col is not None and h_col < len(names) and bool(_TESLA.search(names[h_col].strip()))
    good, missing = [], list(skipped)
    for n, row in data:
        t = row[t_col] if t_col is not None else np.nan
        h = row[h_col] if h_col is not None else np.nan
        v = row[v_col]
        if v is None or t is None or h is None:
            missing.append(n)
        else:
            good.append((n, t, h, v))
    if not good:
        raise ReaderError(f"{source}: column {value_name or v_col + 1!r} has no numbers")
    table = np.asarray(good, dtype=float)
    values = table[:, 3]
    if units == "si" and quantity in ("chi", "chiT"):
        values = values / SI_M3_PER_MOL_PER_CGS
    elif units == "si" and quantity in ("moment", "M"):
        values = values * 1000.0
    return RawRows(
        source=source, fmt="table", quantity=quantity, lines=table[:, 0].astype(int), temps_k=table[:, 1],
        fields_oe=table[:, 2] * (OE_PER_T if tesla else 1.0), values=values, skipped_lines=tuple(sorted(missing)),
    )
