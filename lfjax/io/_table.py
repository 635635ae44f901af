"""Plain tables (CSV, TSV or whitespace) of T and chi, chi T or moment, with an optional header.

Columns are found by header name (T / Temp / Temperature; chiT / chi*T / XT; chi / X; M / moment;
H / B / field), else by position: T, value[, field]. cgs unless the header or `units` says SI:
chi_SI [m^3/mol] = 4 pi 1e-6 chi_cgs, moment 1 A m^2 = 1000 emu, field in T when the header says (T).
"""

from __future__ import annotations

import re

import numpy as np

from lfjax.constants import OE_PER_T, SI_M3_PER_MOL_PER_CGS
from lfjax.io._raw import RawRows, ReaderError, parse_float

QUANTITIES = ("chiT", "chi", "moment")
_END = r"(?![a-z])"
_PATTERNS = {
    "T": re.compile(rf"^(t|temp|temperature){_END}", re.I),
    "chiT": re.compile(rf"^(chi|χ|x)[\s_*·]*t{_END}", re.I),
    "chi": re.compile(rf"^(chi|χ|x|susceptibility){_END}", re.I),
    "moment": re.compile(rf"^(m|moment|magnetization|magnetisation){_END}", re.I),
    "field": re.compile(rf"^(h|b|field|magnetic field|mu0h){_END}", re.I),
}
_SI_HINT = re.compile(r"m\^?3|m³|a\s*m\^?2|a·m", re.I)


def _split(line: str, delimiter: str | None) -> list[str]:
    return [f.strip() for f in (line.split(delimiter) if delimiter else line.split())]


def _columns(names: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(names):
        for key in ("T", "chiT", "chi", "moment", "field"):  # chiT before chi: "chiT" starts with chi
            if key not in found and _PATTERNS[key].search(name):
                found[key] = index
                break
    return found


def parse_table(text: str, source: str, quantity: str | None, units: str | None) -> RawRows:
    """Parses a plain table into rows of (T, H, value) with `value` converted to cgs."""
    body = [(n, line.split("#")[0].strip()) for n, line in enumerate(text.splitlines(), 1)]
    body = [(n, line) for n, line in body if line]
    if not body:
        raise ReaderError(f"{source}: no data rows")
    sample = body[min(1, len(body) - 1)][1]
    delimiter = "," if "," in sample else ("\t" if "\t" in sample else (";" if ";" in sample else None))
    first = _split(body[0][1], delimiter)
    has_header = any(parse_float(f) is None for f in first)
    names = first if has_header else []
    header_line = body[0][0] if has_header else None
    rows = body[1:] if has_header else body
    found = _columns(names)
    if has_header and "T" not in found:
        raise ReaderError(f"{source}:{header_line}: no temperature column in header {names}; name it T or Temperature")
    kinds = [q for q in QUANTITIES if q in found]
    if quantity is None:
        if not kinds:
            raise ReaderError(f"{source}: cannot tell whether the data are chiT, chi or moment; give --quantity")
        quantity = kinds[0]
    if quantity not in QUANTITIES:
        raise ReaderError(f"unknown quantity {quantity!r}; expected one of {', '.join(QUANTITIES)}")
    t_col = found.get("T", 0)
    v_col = found.get(quantity, found[kinds[0]] if kinds else 1)
    h_col = found.get("field", None if has_header else 2)
    if units is None:
        units = "si" if has_header and _SI_HINT.search(names[v_col] if v_col < len(names) else "") else "cgs"
    if units not in ("cgs", "si"):
        raise ReaderError(f"unknown units {units!r}; expected cgs or si")
    field_in_tesla = bool(has_header and h_col is not None and h_col < len(names) and re.search(r"\(\s*t\s*\)", names[h_col], re.I))
    good, skipped, empty_value = [], [], True
    for lineno, line in rows:
        fields = _split(line, delimiter)
        t = parse_float(fields[t_col]) if t_col < len(fields) else None
        v = parse_float(fields[v_col]) if v_col < len(fields) else None
        h = parse_float(fields[h_col]) if h_col is not None and h_col < len(fields) else None
        empty_value &= v is None
        if t is None or v is None:
            skipped.append(lineno)
        else:
            good.append((lineno, t, np.nan if h is None else h, v))
    if empty_value:
        label = names[v_col] if v_col < len(names) else f"column {v_col + 1}"
        raise ReaderError(f"{source}:{header_line or body[0][0]}: {label!r} is empty")
    table = np.asarray(good, dtype=float).reshape(-1, 4)
    values = table[:, 3]
    if units == "si":
        values = values * 1000.0 if quantity == "moment" else values / SI_M3_PER_MOL_PER_CGS
    return RawRows(
        source=source, fmt="table", quantity=quantity, lines=table[:, 0].astype(int), temps_k=table[:, 1],
        fields_oe=table[:, 2] * (OE_PER_T if field_in_tesla else 1.0), values=values, skipped_lines=tuple(skipped),
    )
