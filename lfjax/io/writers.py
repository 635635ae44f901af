"""Writing measurements in the Quantum Design MPMS `.dat` layout (examples, tests, round trips)."""

from __future__ import annotations

import os

import numpy as np

from lfjax.io.atomic import write_text

_COLUMNS = ("Time", "Comment", "Field (Oe)", "Temperature (K)", "Long Moment (emu)", "Long Scan Std Dev")


def qd_dat_text(temps_k, fields_oe, moments_emu, *, mass_mg: float | None, name: str = "sample",
                comment: str = "") -> str:
    """A `.dat` text with a [Header] (NAME, WEIGHT in mg, COMMENT) and [Data] rows of (H, T, M).

    Args:
      temps_k, fields_oe, moments_emu: (n,) rows in file order (K, Oe, emu per sample).
      mass_mg: sample mass for the WEIGHT line (None leaves it out).
    """
    lines = ["[Header]", "TITLE,MPMS DC Measurement", "BYAPP,MPMS Measurement,2.1,Summary", "",
             f"INFO, NAME, {name}"]
    if mass_mg is not None:
        lines.append(f"INFO, WEIGHT, {mass_mg:.3f}")
    lines += [f"INFO, COMMENT, {comment}", "", "[Data]", ",".join(_COLUMNS)]
    for i, (t, h, m) in enumerate(zip(temps_k, fields_oe, moments_emu)):
        lines.append(f"{1.5e9 + 30 * i:.3f},,{h:.6e},{t:.6e},{m:.6e},0.000000e+000")
    return "\r\n".join(lines) + "\r\n"


def write_qd_dat(path: str | os.PathLike, temps_k, fields_oe, moments_emu, **kwargs) -> None:
    """Writes `qd_dat_text(...)` atomically to `path`."""
    write_text(path, qd_dat_text(np.asarray(temps_k), np.asarray(fields_oe), np.asarray(moments_emu), **kwargs))
