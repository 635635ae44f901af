"""Splitting a file's rows into measurement segments by field.

Rows are walked in file order and cut into runs of one field (fields agree within
`max(FIELD_ABS_TOL_OE, FIELD_REL_TOL * |H|)`). A run of at least `MIN_RUN` rows (or the only
run) is a temperature run M(T) at that field; consecutive shorter runs form one field sweep M(H).
Temperature runs at the same field (e.g. cooling, then warming) form one segment.
"""

from __future__ import annotations

import dataclasses

import numpy as np

FIELD_ABS_TOL_OE = 5.0
FIELD_REL_TOL = 5e-3
MIN_RUN = 5


@dataclasses.dataclass(frozen=True, eq=False)
class Segment:
    """A group of rows: `kind` is "M(T)" or "M(H)"; `rows` indexes the parser's rows."""

    kind: str
    field_oe: float
    rows: np.ndarray
    temps_k: np.ndarray

    def describe(self) -> str:
        """E.g. 'M(T) at 1000 Oe (350 points)' or 'M(H) sweep at 2.0 K'."""
        if self.kind == "M(H)":
            return f"M(H) sweep at {np.median(self.temps_k):.1f} K ({self.rows.size} points)"
        return f"M(T) at {self.field_oe:g} Oe ({self.rows.size} points)"


def same_field(a: float, b: float) -> bool:
    """True when two fields (Oe) agree within the segment tolerance."""
    return abs(a - b) <= max(FIELD_ABS_TOL_OE, FIELD_REL_TOL * max(abs(a), abs(b)))


def split_segments(fields_oe: np.ndarray, temps_k: np.ndarray) -> list[Segment]:
    """Segments of rows (file order), temperature runs first by falling field, then sweeps."""
    runs: list[list[int]] = []
    for i, field in enumerate(fields_oe):
        if runs and same_field(fields_oe[runs[-1][0]], field):
            runs[-1].append(i)
        else:
            runs.append([i])
    t_runs: list[tuple[float, list[int]]] = []
    sweeps: list[list[int]] = []
    for run in runs:
        if len(run) >= MIN_RUN or len(runs) == 1:
            field = float(np.median(fields_oe[run]))
            match = next((tr for tr in t_runs if same_field(tr[0], field)), None)
            if match is None:
                t_runs.append((field, list(run)))
            else:
                match[1].extend(run)
        elif sweeps and sweeps[-1][-1] == run[0] - 1:
            sweeps[-1].extend(run)
        else:
            sweeps.append(list(run))
    segments = [Segment("M(T)", round(f, 1), np.asarray(r), temps_k[r]) for f, r in sorted(t_runs, key=lambda x: -abs(x[0]))]
    segments += [Segment("M(H)", float(np.median(fields_oe[r])), np.asarray(r), temps_k[r]) for r in sweeps]
    return segments
