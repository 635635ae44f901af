"""The intermediate form every file parser returns, before segment choice and unit conversion."""

from __future__ import annotations

import dataclasses

import numpy as np

from lfjax.errors import ReaderError


@dataclasses.dataclass(frozen=True, eq=False)
class RawRows:
    """Numeric rows of a measurement file, in file order.

    Attributes:
      source: the file name used in messages.
      fmt: "qd" (Quantum Design .dat) or "table".
      quantity: what `values` holds: "moment" (emu), "chi" (emu/mol) or "chiT" (emu K/mol),
        per formula unit, cgs.
      lines: 1-based file line of each row, shape (n,).
      temps_k: temperatures in K, shape (n,).
      fields_oe: fields in Oe, shape (n,); NaN where the file gives none.
      values: the measured quantity, shape (n,).
      skipped_lines: lines with missing or non-numeric entries that were skipped.
      mass_mg: sample mass from the file's header, if any.
      molar_mass_g_per_mol: formula mass from the file's header, if any.
    """

    source: str
    fmt: str
    quantity: str
    lines: np.ndarray
    temps_k: np.ndarray
    fields_oe: np.ndarray
    values: np.ndarray
    skipped_lines: tuple[int, ...] = ()
    mass_mg: float | None = None
    molar_mass_g_per_mol: float | None = None

    def take(self, mask: np.ndarray) -> RawRows:
        """The rows where `mask` is true (same header information)."""
        return dataclasses.replace(
            self, lines=self.lines[mask], temps_k=self.temps_k[mask], fields_oe=self.fields_oe[mask],
            values=self.values[mask],
        )


def parse_float(text: str) -> float | None:
    """A finite float from `text`, or None for empty or non-numeric text."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def describe_lines(lines: tuple[int, ...] | list[int]) -> str:
    """'line 7' or 'lines 7, 9, 12, ...' for messages."""
    shown = ", ".join(str(n) for n in lines[:3]) + (", ..." if len(lines) > 3 else "")
    return f"line {shown}" if len(lines) == 1 else f"lines {shown}"
