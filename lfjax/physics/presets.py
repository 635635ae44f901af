"""Point-group presets of ligand-field parameters and comparable-energy prior ranges.

Frame (every preset): z along the main symmetry axis (the C_n of highest n; for `cubic` a
C4 axis); y along a twofold axis perpendicular to z (D_n groups), equivalently the xz plane a
vertical mirror plane (C_nv groups); for D3d, y along C2' and x in the sigma_d plane. Every
cosine term O_k^q (q >= 0) is even under the turn by 180 degrees about y (U O U^dagger = O,
checked numerically in the tests) and every sine term odd, so in this frame the sine terms
(q < 0) vanish and the presets hold only cosine terms B_k^q, q >= 0 (Stevens convention of
`operators`; energies in K). (A turn by 180 degrees about x flips the odd-q cosine terms:
with the C2 axis along x, D3d would need B4-3, B6-3 instead of B43, B63.)

  DE       D, E (D = 3 B20, E = B22): the second-order model
  axial    B20, B40, B60                       (aliases D4d, Dinfh/D∞h, S8; exact to k <= 6)
  D4h      B20, B40, B44, B60, B64             (C4v, D2d, C4h)
  D3d      B20, B40, B43, B60, B63, B66        (C3v, D3)
  D3h      B20, B40, B60, B66                  (D6h, C6v)
  D2h      B20, B22, B40, B42, B44, B60, B62, B64, B66   (C2v, D2)
  cubic    B40, B60 with B44 = 5 B40, B64 = -21 B60 (z along a C4 axis)
  general  all 27 Stevens terms, in `STEVENS_NAMES` order

A preset maps its free parameters theta (n,) onto Stevens parameters s = A theta, A of shape
(n_stevens, n) (`Preset.matrix`): the identity for most presets, 1/3 for D, and the cubic
constraint columns e_B40 + 5 e_B44, e_B60 - 21 e_B64. For an ion with 2J < k the O_k^q vanish
and the terms are dropped (Ce3+ and Sm3+, J = 5/2, keep k <= 4; Pr3+ and Tm3+ have J >= 3
and keep k = 6); the drop is logged and recorded in `Preset.notes`.

Priors in comparable units: the default range of a free parameter is
|theta| <= scale_k / w, with w = max eig - min eig of its operator A[:, i] . O(J), so each
term alone splits the multiplet by at most scale_k kelvin. For Er3+ (J = 15/2) and
scale_k = 500 K: w(D) = 56 (|D| <= 8.93 K), w(B20) = 168 (|B20| <= 2.98 K),
w(B22) = 106.4 (4.70 K), w(B40) = 29,640 (0.0169 K), w(B43) = 1,575 (0.317 K),
w(B44) = 4,872 (0.103 K), w(B60) = 2,827,440 (1.77e-4 K), w(B63) = 192,335 (2.60e-3 K),
w(B66) = 224,266 (2.23e-3 K); cubic B40 (with 5 B44): 33,174 (0.0151 K), cubic B60 (with
-21 B64): 8,124,414 (6.15e-5 K).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

import numpy as np

from lfjax.errors import ParameterError
from lfjax.physics.ions import Ion
from lfjax.physics.operators import STEVENS_NAMES, operator_stack, parse_stevens_name

_LOG = logging.getLogger("lfjax")

_D2H = ("B20", "B22", "B40", "B42", "B44", "B60", "B62", "B64", "B66")
#: Canonical preset name -> free parameter names.
PRESETS: dict[str, tuple[str, ...]] = {
    "DE": ("D", "E"),
    "axial": ("B20", "B40", "B60"),
    "D4h": ("B20", "B40", "B44", "B60", "B64"),
    "D3d": ("B20", "B40", "B43", "B60", "B63", "B66"),
    "D3h": ("B20", "B40", "B60", "B66"),
    "D2h": _D2H,
    "cubic": ("B40", "B60"),
    "general": STEVENS_NAMES,
}
#: Alias (any case) -> canonical preset name.
ALIASES: dict[str, str] = {
    **{name.lower(): name for name in PRESETS},
    "d4d": "axial", "dinfh": "axial", "d∞h": "axial", "s8": "axial",
    "c4v": "D4h", "d2d": "D4h", "c4h": "D4h",
    "c3v": "D3d", "d3": "D3d",
    "d6h": "D3h", "c6v": "D3h",
    "c2v": "D2h", "d2": "D2h",
    "oh": "cubic", "o": "cubic", "td": "cubic",
}
#: Stevens expansion of the free parameters that are not plain Stevens terms.
_EXPANSIONS: dict[str, dict[str, tuple[tuple[str, float], ...]]] = {
    "DE": {"D": (("B20", 1.0 / 3.0),), "E": (("B22", 1.0),)},
    "cubic": {"B40": (("B40", 1.0), ("B44", 5.0)), "B60": (("B60", 1.0), ("B64", -21.0))},
}


@dataclasses.dataclass(frozen=True)
class Preset:
    """A resolved parameter model: free names and their linear map onto Stevens parameters.

    Attributes:
      name: canonical preset name, or "" for an explicit list of names.
      names: free parameter names, shape (n,).
      stevens_names: the Stevens terms they set, in `STEVENS_NAMES` order, shape (m,).
      matrix: A as nested tuples (m rows, n columns): Stevens values s = A theta (K).
      notes: what was dropped and why (empty when nothing was).
    """

    name: str
    names: tuple[str, ...]
    stevens_names: tuple[str, ...]
    matrix: tuple[tuple[float, ...], ...]
    notes: tuple[str, ...] = ()

    @property
    def array(self) -> np.ndarray:
        """A as a float64 array (m, n)."""
        return np.asarray(self.matrix, dtype=np.float64).reshape(len(self.stevens_names), len(self.names))


def canonical_preset(name: str) -> str:
    """Returns the canonical preset name for a case-insensitive name or alias ("d3" -> "D3d").

    Raises:
      ParameterError: unknown name (the message lists the valid ones).
    """
    key = str(name).strip().lower().replace(" ", "")
    if key not in ALIASES:
        aliases = ", ".join(sorted({a for a in ALIASES if a not in {p.lower() for p in PRESETS}}))
        raise ParameterError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)} "
                             f"(aliases: {aliases}), or give parameter names explicitly")
    return ALIASES[key]


def _order(name: str) -> int:
    return 2 if name in ("D", "E") else parse_stevens_name(name)[0]


def resolve(model: str | Sequence[str] | Preset, ion: Ion | None = None) -> Preset:
    """Returns the `Preset` for a preset name, an explicit list of names, or a `Preset`.

    Explicit names are normalised ("b43" -> "B43", "d" -> "D") and map one-to-one onto Stevens
    terms (D onto B20 / 3). With an ion, terms with k > 2J are dropped (noted, and logged).

    Raises:
      ParameterError: unknown preset or name, a repeated term (D with B20), or no term left.
    """
    from lfjax.physics.hamiltonian import normalise_name

    if isinstance(model, Preset):
        preset_name, names, notes = model.name, model.names, model.notes
    elif isinstance(model, str):
        preset_name = canonical_preset(model)
        names, notes = PRESETS[preset_name], ()
    else:
        preset_name, names, notes = "", tuple(normalise_name(n) for n in model), ()
        if not names:
            raise ParameterError("no parameter names given; expected e.g. ('B20', 'B40') or a preset name")
    expansions = _EXPANSIONS.get(preset_name, {}) or (_EXPANSIONS["DE"] if set(names) & {"D", "E"} else {})
    if ion is not None:
        dropped = tuple(n for n in names if _order(n) > 2 * ion.j + 1e-9)
        if dropped:
            note = (f"{', '.join(dropped)} dropped: O_k^q vanishes for k > 2J "
                    f"({ion.name}, J = {ion.j:g})")
            _LOG.info(note)
            names, notes = tuple(n for n in names if n not in dropped), notes + (note,)
        if not names:
            raise ParameterError(f"no ligand-field term survives for {ion.name} (J = {ion.j:g}): "
                                 "every O_k^q with k > 2J vanishes; a J >= 1 ion is needed")
    columns = [dict(expansions.get(n, ((n, 1.0),))) for n in names]
    used = [s for col in columns for s in col]
    if len(set(used)) != len(used):
        raise ParameterError(f"parameters {names} set one Stevens term twice (D sets B20, E sets B22)")
    stevens_names = tuple(s for s in STEVENS_NAMES if s in used)
    matrix = tuple(tuple(col.get(s, 0.0) for col in columns) for s in stevens_names)
    return Preset(preset_name, tuple(names), stevens_names, matrix, notes)


def preset(name: str, ion: Ion | str | None = None) -> tuple[str, ...]:
    """Returns the free parameter names of a point-group preset (see the module docstring).

    Args:
      name: preset or alias, any case: "DE", "axial", "D4d", "D3d", "C3v", "cubic", ...
      ion: optional ion (or ion name); terms with k > 2J are then dropped (logged).

    Raises:
      ParameterError: unknown name; the message lists the valid names.
    """
    from lfjax.physics.ions import ion as make_ion

    return resolve(name, None if ion is None else make_ion(ion)).names


def operator_widths(ion: Ion | str, model: str | Sequence[str] | Preset) -> dict[str, float]:
    """Spread max eig - min eig (dimensionless) of each free parameter's operator at J of `ion`."""
    from lfjax.physics.ions import ion as make_ion

    ion = make_ion(ion)
    spec = resolve(model, ion)
    ops = operator_stack(ion.j, spec.stevens_names)
    combined = np.einsum("si,sab->iab", spec.array, ops)
    eigs = np.linalg.eigvalsh(combined)
    return {name: float(eigs[i, -1] - eigs[i, 0]) for i, name in enumerate(spec.names)}


def prior_ranges(
    ion: Ion | str, names: str | Sequence[str] | Preset, scale_k: float | Mapping[int, float] = 500.0
) -> dict[str, tuple[float, float]]:
    """Default prior range per free parameter: each term alone splits the levels by <= scale_k.

    |theta_i| * (max eig - min eig of A[:, i] . O(J)) <= scale_k, i.e. theta_i in
    (-scale_k / w_i, scale_k / w_i) in K (numbers for Er3+ in the module docstring).

    Args:
      ion: the ion or its name (its J sets the operator spectra).
      names: a preset name, a list of parameter names, or a `Preset`.
      scale_k: largest splitting per term in K, one number or a dict by order k (2, 4, 6).

    Returns:
      dict name -> (low, high) in K, in the order of the (ion-filtered) names.

    Raises:
      ParameterError: non-positive or missing scale.
    """
    scales = dict(scale_k) if isinstance(scale_k, Mapping) else {2: scale_k, 4: scale_k, 6: scale_k}
    out = {}
    for name, width in operator_widths(ion, names).items():
        k = _order(name)
        scale = scales.get(k)
        if scale is None or not float(scale) > 0:
            raise ParameterError(f"scale_k for order k = {k} must be a positive energy in K; got {scale!r}")
        out[name] = (-float(scale) / width, float(scale) / width)
    return out
