"""Magnetic ions: total angular momentum J and Lande factor g_J of the ground multiplet."""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

from lfjax.errors import IonError

# Hund's-rule ground multiplets of the trivalent lanthanides: (J, g_J).
_LANTHANIDES: dict[str, tuple[Fraction, Fraction]] = {
    "Ce": (Fraction(5, 2), Fraction(6, 7)),
    "Pr": (Fraction(4), Fraction(4, 5)),
    "Nd": (Fraction(9, 2), Fraction(8, 11)),
    "Pm": (Fraction(4), Fraction(3, 5)),
    "Sm": (Fraction(5, 2), Fraction(2, 7)),
    "Gd": (Fraction(7, 2), Fraction(2)),
    "Tb": (Fraction(6), Fraction(3, 2)),
    "Dy": (Fraction(15, 2), Fraction(4, 3)),
    "Ho": (Fraction(8), Fraction(5, 4)),
    "Er": (Fraction(15, 2), Fraction(6, 5)),
    "Tm": (Fraction(6), Fraction(7, 6)),
    "Yb": (Fraction(7, 2), Fraction(8, 7)),
}
_NAME_RE = re.compile(r"^\s*([A-Za-z]{1,2})\s*(?:\(\s*III\s*\)|3\+|\+3|\^3\+|III)?\s*$")


@dataclasses.dataclass(frozen=True)
class Ion:
    """A magnetic ion's ground multiplet.

    Attributes:
      name: label such as "Er3+" or "J=3/2, g=2".
      j: total angular momentum J (integer or half-integer, > 0).
      g: Lande factor g_J.
    """

    name: str
    j: float
    g: float

    @property
    def dim(self) -> int:
        """Number of states 2J + 1."""
        return int(round(2 * self.j)) + 1

    @property
    def kramers(self) -> bool:
        """True for half-integer J: every level is at least a doublet at zero field."""
        return self.dim % 2 == 0

    @property
    def curie_constant(self) -> float:
        """Free-ion chi T = N_A mu_B^2 g^2 J(J+1) / (3 k_B) in emu K/mol."""
        from lfjax.constants import NA_MUB2_OVER_KB_EMU_K_PER_MOL

        return NA_MUB2_OVER_KB_EMU_K_PER_MOL * self.g**2 * self.j * (self.j + 1) / 3.0


def _check_j(j: float) -> float:
    two_j = 2 * float(j)
    if not (two_j > 0 and abs(two_j - round(two_j)) < 1e-9):
        raise IonError(f"J must be a positive integer or half-integer; got {j}")
    return round(two_j) / 2


def ion(name_or_j: str | float | Ion, g: float | None = None) -> Ion:
    """Returns the ion for a lanthanide name ("Er3+", "Er", "Er(III)") or a custom (J, g).

    Args:
      name_or_j: a trivalent lanthanide name, an `Ion`, or J (e.g. 1.5 or "3/2").
      g: the Lande factor; required with a numeric J, not allowed with a name.

    Raises:
      IonError: unknown name, Eu3+ (J = 0), bad J, or missing g.
    """
    if isinstance(name_or_j, Ion):
        return name_or_j
    if isinstance(name_or_j, str) and not _looks_numeric(name_or_j):
        if g is not None:
            raise IonError(f"g is taken from the ion table for {name_or_j!r}; give J and g for a custom ion")
        match = _NAME_RE.match(name_or_j)
        symbol = match.group(1).capitalize() if match else None
        if symbol == "Eu":
            raise IonError(
                "Eu3+ has a J = 0 ground multiplet and no ground-multiplet magnetism; "
                "use a custom (J, g) for an excited multiplet if you need one"
            )
        if symbol not in _LANTHANIDES:
            valid = ", ".join(f"{s}3+" for s in _LANTHANIDES)
            raise IonError(f"unknown ion {name_or_j!r}; expected one of {valid}, or a custom J with g")
        j, g_j = _LANTHANIDES[symbol]
        return Ion(name=f"{symbol}3+", j=float(j), g=float(g_j))
    j = _check_j(float(Fraction(str(name_or_j).strip())))
    if g is None:
        raise IonError(f"a custom ion with J = {name_or_j} needs its g factor (e.g. g=2.0)")
    if not float(g) > 0:
        raise IonError(f"g must be positive; got {g}")
    return Ion(name=f"J={Fraction(j)}, g={float(g):g}", j=j, g=float(g))


def _looks_numeric(text: str) -> bool:
    try:
        Fraction(text.strip())
    except ValueError:
        return False
    return True
