"""Splitting a file's rows into temperature runs M(T) and field sweeps M(H).

Rows are walked in file order and cut into runs of one field (`same_field`). A run whose
temperature moves (span > max(T_SPAN_ABS_K, T_SPAN_REL T)) is part of a temperature run at that
field; runs at one field are merged (cooling, then warming). Runs at a constant temperature are
pieces of a field sweep: adjacent pieces join, and a sweep is cut where the temperature jumps.
This keeps slow continuous VSM sweeps (many rows per field step) apart from M(T) runs, which a
split by run length alone would not.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lfjax.io._segments import same_field

T_SPAN_ABS_K = 0.2
T_SPAN_REL = 0.02
MIN_LISTED = 3


@dataclasses.dataclass(frozen=True, eq=False)
class Part:
    """Rows of one measurement: `kind` "M(T)" (at `field_oe`) or "M(H)" (at `temperature_k`).

    Attributes:
      kind: "M(T)" or "M(H)".
      rows: indices into the parser's rows, file order, shape (m,).
      field_oe: median field in Oe.
      temperature_k: median temperature in K.
      fields_oe: the rows' fields in Oe, shape (m,).
      temps_k: the rows' temperatures in K, shape (m,).
    """

    kind: str
    rows: np.ndarray
    field_oe: float
    temperature_k: float
    fields_oe: np.ndarray
    temps_k: np.ndarray

    def describe(self) -> str:
        """E.g. 'M(T) at 1000 Oe (349 points, 2.0-350 K)' or 'M(H) sweep at 2.0 K (98 points, -7e+04..7e+04 Oe)'."""
        if self.kind == "M(T)":
            return f"M(T) at {self.field_oe:g} Oe ({self.rows.size} points, {self.temps_k.min():.3g}-{self.temps_k.max():.4g} K)"
        lo, hi = self.fields_oe.min(), self.fields_oe.max()
        return f"M(H) sweep at {self.temperature_k:.3g} K ({self.rows.size} points, {lo:.5g} to {hi:.5g} Oe)"


def same_temperature(a: float, b: float) -> bool:
    """True when two temperatures (K) agree within the sweep tolerance."""
    return abs(a - b) <= max(T_SPAN_ABS_K, T_SPAN_REL * max(a, b))


def _part(kind: str, rows: list[int], fields: np.ndarray, temps: np.ndarray) -> Part:
    index = np.asarray(rows, dtype=int)
    return Part(kind, index, round(float(np.median(fields[index])), 1), float(np.median(temps[index])),
                fields[index], temps[index])


def split_parts(fields_oe: np.ndarray, temps_k: np.ndarray) -> list[Part]:
    """Parts of the rows: temperature runs by falling |field|, then field sweeps in file order.

    Args:
      fields_oe: field of each row in Oe, shape (n,), file order.
      temps_k: temperature of each row in K, shape (n,).

    Returns:
      Every part with at least `MIN_LISTED` rows (fewer only when nothing else exists).
    """
    runs: list[list[int]] = []
    for i, field in enumerate(fields_oe):
        if runs and same_field(fields_oe[runs[-1][0]], field):
            runs[-1].append(i)
        else:
            runs.append([i])
    t_runs: list[tuple[float, list[int]]] = []
    sweeps: list[list[int]] = []
    for run in runs:
        temps = temps_k[run]
        moving = len(run) >= 2 and np.ptp(temps) > max(T_SPAN_ABS_K, T_SPAN_REL * float(np.median(temps)))
        if moving:
            field = float(np.median(fields_oe[run]))
            match = next((tr for tr in t_runs if same_field(tr[0], field)), None)
            if match is None:
                t_runs.append((field, list(run)))
            else:
                match[1].extend(run)
            continue
        for i in run:
            last = sweeps[-1] if sweeps else None
            if last is not None and last[-1] == i - 1 and same_temperature(temps_k[last[-1]], temps_k[i]):
                last.append(i)
            else:
                sweeps.append([i])
    parts = [_part("M(T)", r, fields_oe, temps_k) for _, r in sorted(t_runs, key=lambda x: -abs(x[0]))]
    parts += [_part("M(H)", r, fields_oe, temps_k) for r in sweeps]
    listed = [p for p in parts if p.rows.size >= MIN_LISTED]
    return listed or parts


def listing(parts: list[Part]) -> str:
    """'M(T) at 10000 Oe (...); M(H) sweep at 2.0 K (...)' for messages."""
    return "; ".join(p.describe() for p in parts) or "no measurement runs"
