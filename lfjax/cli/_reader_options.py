"""Reader options shared by the commands that read a measurement file (fit, infer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DataArg = Annotated[Path, typer.Argument(help="Measurement: Quantum Design .dat or a table (CSV/TSV/whitespace).")]
MassMg = Annotated[Optional[float], typer.Option(help="Sample mass in mg (overrides the file header).")]
MolarMass = Annotated[Optional[float], typer.Option(help="Formula mass in g/mol (needed for raw moments).")]
IonsPerFormula = Annotated[float, typer.Option(help="Magnetic ions per formula unit (chi is divided by it).")]
Quantity = Annotated[Optional[str], typer.Option(help="Table column: chiT, chi or moment.")]
Units = Annotated[Optional[str], typer.Option(help="Table units: cgs or si.")]
FieldOe = Annotated[Optional[float], typer.Option(help="Segment to use (Oe), or the field of a table without one.")]
Format = Annotated[str, typer.Option("--format", help="auto, qd or table.")]


def reader_options(fmt, quantity, units, field_oe, mass_mg, molar_mass, ions_per_formula):
    """The library's `ReaderOptions` from the CLI flags."""
    from lfjax.io.readers import ReaderOptions

    return ReaderOptions(fmt=fmt, quantity=quantity, units=units, field_oe=field_oe, mass_mg=mass_mg,
                         molar_mass_g_per_mol=molar_mass, ions_per_formula=ions_per_formula)
