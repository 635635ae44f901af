"""Measured curves of one sample: the data types every fit and sampling engine consumes.

A `Curve` is one measured observable with numbers, in ONE canonical unit per kind:
  - kind "chi": chi(T) at a field, values = chi = M / H per mole of magnetic ion in emu/mol
    (cgs, = cm^3/mol); chi T in emu K/mol is `values * temps_k`.
  - kind "mh": M(H) at a temperature, values = M in Bohr magnetons per magnetic ion (mu_B/ion),
    fields_oe > 0 (M(-H) = -M(H) folded by the reader).
A `MeasurementSet` holds the curves of one sample plus what they share (ion, formula, masses) and
the engine options of the set file. Pure numpy; nothing here imports JAX.

Unit conversions (cgs, per mole of magnetic ion):
  n_formula [mol] = mass_mg 1e-3 / molar_mass_g_per_mol,
  M [emu/mol ion] = moment_emu / (n_formula ions_per_formula),
  chi [emu/mol ion] = M [emu/mol ion] / H [Oe],
  M [mu_B/ion] = M [emu/mol ion] / (N_A mu_B = 5584.939 emu/mol).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from lfjax.constants import NA_MUB_EMU_PER_MOL
from lfjax.errors import ConfigError

#: Curve kinds, and accepted aliases.
KINDS = ("chi", "mh")
KIND_ALIASES = {"chi": "chi", "mt": "chi", "chit": "chi", "mh": "mh"}
#: Named directions; a 3-vector (any length > 0) is normalised to a unit tuple.
DIRECTION_WORDS = ("powder", "x", "y", "z")
_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}

__all__ = [
    "DIRECTION_WORDS",
    "KINDS",
    "Curve",
    "CurveSource",
    "MeasurementSet",
    "direction_vector",
    "emu_per_mol_to_mub",
    "moles_of_formula",
    "moment_to_emu_per_mol_ion",
    "mub_to_emu_per_mol",
    "normalise_direction",
    "normalise_kind",
]


def moles_of_formula(mass_mg: float, molar_mass_g_per_mol: float) -> float:
    """Moles of formula unit in the sample: mass_mg 1e-3 / molar_mass_g_per_mol."""
    return mass_mg * 1e-3 / molar_mass_g_per_mol


def moment_to_emu_per_mol_ion(moment_emu, mass_mg: float, molar_mass_g_per_mol: float, ions_per_formula: float):
    """Sample moment (emu) -> magnetisation per mole of magnetic ion (emu/mol).

    Args:
      moment_emu: measured moment in emu, any shape.
      mass_mg: sample mass in mg.
      molar_mass_g_per_mol: formula mass in g/mol.
      ions_per_formula: magnetic ions per formula unit.

    Returns:
      moment_emu / (n_formula ions_per_formula) in emu/mol, same shape; divide by H (Oe) for chi.
    """
    return np.asarray(moment_emu, float) / (moles_of_formula(mass_mg, molar_mass_g_per_mol) * ions_per_formula)


def emu_per_mol_to_mub(m_emu_per_mol):
    """Magnetisation per mole (emu/mol) -> Bohr magnetons per ion: M / 5584.939."""
    return np.asarray(m_emu_per_mol, float) / NA_MUB_EMU_PER_MOL


def mub_to_emu_per_mol(m_mub):
    """Bohr magnetons per ion -> magnetisation per mole of ion in emu/mol: M 5584.939."""
    return np.asarray(m_mub, float) * NA_MUB_EMU_PER_MOL


def normalise_kind(kind: str) -> str:
    """'chi' (aliases 'mt', 'chiT') or 'mh'; anything else is a `ConfigError`."""
    key = str(kind).strip().lower()
    if key not in KIND_ALIASES:
        raise ConfigError(f"unknown curve kind {kind!r}; expected one of chi (or mt), mh")
    return KIND_ALIASES[key]


def normalise_direction(direction: Any) -> str | tuple[float, float, float]:
    """'powder', 'x', 'y', 'z', or a 3-vector scaled to a unit tuple (nx, ny, nz).

    Raises:
      ConfigError: an unknown word, a vector of the wrong length, non-numbers, or a zero vector.
    """
    if isinstance(direction, str):
        word = direction.strip().lower()
        if word not in DIRECTION_WORDS:
            raise ConfigError(
                f"unknown direction {direction!r}; expected one of {', '.join(DIRECTION_WORDS)} or a vector [nx, ny, nz]"
            )
        return word
    try:
        vector = np.asarray(direction, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"direction {direction!r} is not a word or a vector of 3 numbers; use e.g. \"z\" or [0, 0, 1]") from None
    if vector.shape != (3,) or not np.all(np.isfinite(vector)):
        raise ConfigError(f"direction must be a vector of 3 finite numbers [nx, ny, nz]; got {direction!r}")
    norm = float(np.linalg.norm(vector))
    if not norm > 1e-12:
        shown = ", ".join(f"{v:g}" for v in vector)
        raise ConfigError(f"direction [{shown}] is the zero vector and has no direction; give e.g. [0, 0, 1]")
    return tuple(float(v) for v in vector / norm)


def direction_vector(direction: str | tuple[float, float, float]) -> np.ndarray | None:
    """Unit vector (3,) of a normalised direction; None for 'powder' (orientation average)."""
    if direction == "powder":
        return None
    if isinstance(direction, str):
        return np.asarray(_AXES[direction])
    return np.asarray(direction, float)


@dataclasses.dataclass(frozen=True)
class CurveSource:
    """Where a curve came from (for messages, result.json and figures).

    Attributes:
      file: the file path as given (resolved against the set file).
      fmt: "qd" (Quantum Design .dat) or "table".
      quantity: what the file held: "moment" (emu), "chi", "chiT", "M" (emu/mol), "M_muB".
      segment: the part of the file used, e.g. "M(T) at 1000 Oe (193 points)" or
        "M(H) sweep at 2.0 K (760 points), virgin branch".
      t_range_k: (t_min_k, t_max_k) asked for; None where open.
      h_range_oe: (h_min_oe, h_max_oe) asked for (on |H|); None where open.
      warnings: what the reader skipped, merged, folded or averaged, one line each.
      entry: index of the `[[data]]` entry in the set file (None for a plain file).
    """

    file: str
    fmt: str = "table"
    quantity: str = ""
    segment: str = ""
    t_range_k: tuple[float | None, float | None] = (None, None)
    h_range_oe: tuple[float | None, float | None] = (None, None)
    warnings: tuple[str, ...] = ()
    entry: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return dataclasses.asdict(self) | {"warnings": list(self.warnings)}


@dataclasses.dataclass(frozen=True, eq=False)
class Curve:
    """One measured curve in canonical units, points sorted by T (chi) or by H (mh).

    Attributes:
      kind: "chi" (chi(T) at a field; "mt" accepted on construction) or "mh" (M(H) at a temperature).
      temps_k: temperature of each point in K, shape (n,).
      fields_oe: field of each point in Oe, shape (n,); for "mh" > 0; for "chi" the measuring
        field (0 means zero-field linear response).
      values: shape (n,); "chi": chi per mole of magnetic ion in emu/mol; "mh": M in mu_B per ion.
      direction: "powder", "x", "y", "z" or a unit vector tuple (nx, ny, nz) in the ion's frame.
      noise: relative noise level (e.g. 0.003 for 0.3 %), None to estimate it per curve.
      label: a short name for figures and reports, e.g. "fc5 chi 200 Oe".
      source: provenance (`CurveSource`).
    """

    kind: str
    temps_k: np.ndarray
    fields_oe: np.ndarray
    values: np.ndarray
    direction: str | tuple[float, float, float] = "powder"
    noise: float | None = None
    label: str = ""
    source: CurveSource = CurveSource(file="")

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)
        set_("kind", normalise_kind(self.kind))
        set_("direction", normalise_direction(self.direction))
        arrays = {}
        for name in ("temps_k", "fields_oe", "values"):
            arrays[name] = np.asarray(getattr(self, name), dtype=float)
            arrays[name].setflags(write=False)
            set_(name, arrays[name])
        shapes = {name: a.shape for name, a in arrays.items()}
        if len(set(shapes.values())) != 1 or arrays["values"].ndim != 1:
            raise ConfigError(f"curve {self.label!r}: temps_k, fields_oe and values must have one shape (n,); got {shapes}")
        if not all(np.all(np.isfinite(a)) for a in arrays.values()):
            raise ConfigError(f"curve {self.label!r}: non-finite temperatures, fields or values")
        if np.any(arrays["temps_k"] <= 0):
            raise ConfigError(f"curve {self.label!r}: temperatures must be > 0 K")
        if self.noise is not None and not (np.isfinite(self.noise) and self.noise > 0):
            raise ConfigError(f"curve {self.label!r}: noise must be a relative level > 0 (e.g. 0.003); got {self.noise}")

    @property
    def n_points(self) -> int:
        """Number of points n."""
        return int(self.values.size)

    @property
    def unit(self) -> str:
        """Unit of `values`: 'emu/mol' (chi per mole of ion) or 'mu_B/ion'."""
        return "emu/mol" if self.kind == "chi" else "mu_B/ion"

    @property
    def chi_emu_per_mol(self) -> np.ndarray:
        """chi per mole of magnetic ion in emu/mol, shape (n,) (kind "chi" only)."""
        self._need("chi")
        return self.values

    @property
    def chi_t_emu_k_per_mol(self) -> np.ndarray:
        """chi T per mole of magnetic ion in emu K/mol, shape (n,) (kind "chi" only)."""
        self._need("chi")
        return self.values * self.temps_k

    @property
    def m_mub_per_ion(self) -> np.ndarray:
        """M in mu_B per magnetic ion, shape (n,) (kind "mh" only)."""
        self._need("mh")
        return self.values

    @property
    def field_oe(self) -> float:
        """The curve's nominal field in Oe (median of `fields_oe`; the field of a chi(T) run)."""
        return float(np.median(self.fields_oe))

    @property
    def temperature_k(self) -> float:
        """The curve's nominal temperature in K (median of `temps_k`; that of an M(H) sweep)."""
        return float(np.median(self.temps_k))

    @property
    def direction_vector(self) -> np.ndarray | None:
        """Unit vector (3,) of the field direction; None for a powder average."""
        return direction_vector(self.direction)

    def _need(self, kind: str) -> None:
        if self.kind != kind:
            raise ConfigError(f"curve {self.label!r} is kind {self.kind!r}, not {kind!r}")

    def describe(self) -> str:
        """One line, e.g. "fc5: chi(T) at 200 Oe, powder, 143 points, 8.0-300 K"."""
        where = f"at {self.field_oe:g} Oe" if self.kind == "chi" else f"at {self.temperature_k:.3g} K"
        span = (f"{self.temps_k.min():.3g}-{self.temps_k.max():.3g} K" if self.kind == "chi"
                else f"{self.fields_oe.min():.4g}-{self.fields_oe.max():.4g} Oe")
        name = "chi(T)" if self.kind == "chi" else "M(H)"
        direction = self.direction if isinstance(self.direction, str) else "[" + ", ".join(f"{v:.3g}" for v in self.direction) + "]"
        return f"{self.label}: {name} {where}, {direction}, {self.n_points} points, {span}"

    def to_dict(self, with_data: bool = False) -> dict:
        """JSON-ready description (and the numbers when `with_data`)."""
        out = {
            "label": self.label, "kind": self.kind, "unit": self.unit, "n_points": self.n_points,
            "direction": self.direction if isinstance(self.direction, str) else list(self.direction),
            "noise": self.noise, "field_oe": self.field_oe, "temperature_k": self.temperature_k,
            "source": self.source.to_dict(),
        }
        if with_data:
            out |= {"temps_k": self.temps_k.tolist(), "fields_oe": self.fields_oe.tolist(), "values": self.values.tolist()}
        return out


@dataclasses.dataclass(frozen=True, eq=False)
class MeasurementSet:
    """The curves of one sample, fitted together.

    Attributes:
      ion: the lanthanide ion as named in the set (e.g. "Er3+"), or None when not given
        (the engine's `--ion` then decides); not validated here.
      curves: the curves, in set-file order, shape-free tuple of `Curve`.
      ions_per_formula: magnetic ions per formula unit the values were divided by.
      molar_mass_g_per_mol: formula mass used for raw moments (None when no curve needed it).
      mass_mg: the set-level sample mass override in mg (None: each file's header).
      options: engine options of the set file, validated names only (e.g. preset, params, fix,
        unit, mean_field, prior); empty for plain files.
      source: the set file (TOML) path, or None for plain files.
      warnings: every reader warning, prefixed with its curve's label.
    """

    ion: str | None
    curves: tuple[Curve, ...]
    ions_per_formula: float = 1.0
    molar_mass_g_per_mol: float | None = None
    mass_mg: float | None = None
    options: dict = dataclasses.field(default_factory=dict)
    source: str | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "curves", tuple(self.curves))
        if not self.curves:
            raise ConfigError("a measurement set needs at least one curve; add a [[data]] entry or a file")
        labels = [c.label for c in self.curves]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"curve labels must be distinct; got {labels}; set `label` per [[data]] entry")

    @property
    def n_points(self) -> int:
        """Total points over all curves."""
        return sum(c.n_points for c in self.curves)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Kinds present, in first-appearance order."""
        return tuple(dict.fromkeys(c.kind for c in self.curves))

    def of_kind(self, kind: str) -> tuple[Curve, ...]:
        """The curves of one kind ("chi"/"mt" or "mh")."""
        kind = normalise_kind(kind)
        return tuple(c for c in self.curves if c.kind == kind)

    @property
    def provenance(self) -> dict:
        """Where the set came from (set file, options, warnings, each curve's source), JSON-ready."""
        return self.to_dict(with_data=False)

    def describe(self) -> str:
        """Several lines: the sample and one line per curve."""
        head = f"{len(self.curves)} curves, {self.n_points} points; ion {self.ion or '(not given)'}, {self.ions_per_formula:g} per formula"
        return "\n".join([head, *("  " + c.describe() for c in self.curves)])

    def to_dict(self, with_data: bool = False) -> dict:
        """JSON-ready provenance for result.json."""
        return {
            "ion": self.ion, "ions_per_formula": self.ions_per_formula,
            "molar_mass_g_per_mol": self.molar_mass_g_per_mol, "mass_mg": self.mass_mg,
            "source": self.source, "options": dict(self.options), "warnings": list(self.warnings),
            "curves": [c.to_dict(with_data) for c in self.curves],
        }
