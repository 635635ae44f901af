"""One object that names a ligand-field model: ion, parameters, prior ranges, symmetry group.

`ModelSpec` is pure data (frozen, hashable, JSON-ready through `to_dict`/`from_dict`), saved
in result.json and next to checkpoints; `model_spec` builds one from a preset or a list of
names. Energies in K. The parameter vector theta (n,) is in the order of `names`; Stevens
values are s = constraint @ theta (`stevens_params` gives the dict the physics functions take).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from lfjax.errors import ParameterError
from lfjax.physics.ions import Ion
from lfjax.physics.ions import ion as make_ion
from lfjax.physics.presets import Preset, prior_ranges, resolve
from lfjax.physics.symmetry_maps import symmetry_maps

#: Default largest splitting per term (K) for the comparable-energy priors.
DEFAULT_SCALE_K = 500.0


def _tuples(array: np.ndarray):
    if array.ndim == 1:
        return tuple(float(x) for x in array)
    return tuple(_tuples(a) for a in array)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A ligand-field model.

    Attributes:
      ion: the ion.
      preset: canonical preset name ("DE", "D3d", ...) or "" for an explicit list of names.
      names: free parameter names, the order of the parameter vector, shape (n,).
      ranges: prior range (low, high) in K per name.
      stevens_names: the Stevens terms the parameters set, shape (m,).
      constraint: A (m rows, n columns): Stevens values s = A theta (cubic: B44 = 5 B40, ...).
      maps: the likelihood's symmetry group (n_maps, n, n), identity first (powder data).
      notes: remarks such as terms dropped for k > 2J.
    """

    ion: Ion
    preset: str
    names: tuple[str, ...]
    ranges: tuple[tuple[float, float], ...]
    stevens_names: tuple[str, ...]
    constraint: tuple[tuple[float, ...], ...]
    maps: tuple[tuple[tuple[float, ...], ...], ...]
    notes: tuple[str, ...] = ()

    @property
    def n_params(self) -> int:
        """Length n of the parameter vector."""
        return len(self.names)

    @property
    def low(self) -> np.ndarray:
        """Lower prior bounds (n,) in K."""
        return np.array([r[0] for r in self.ranges])

    @property
    def high(self) -> np.ndarray:
        """Upper prior bounds (n,) in K."""
        return np.array([r[1] for r in self.ranges])

    def maps_array(self) -> np.ndarray:
        """The symmetry maps as a read-only float64 array (n_maps, n, n)."""
        out = np.asarray(self.maps, dtype=np.float64).reshape(-1, self.n_params, self.n_params)
        out.flags.writeable = False
        return out

    def constraint_array(self) -> np.ndarray:
        """A as a read-only float64 array (m, n)."""
        out = np.asarray(self.constraint, dtype=np.float64).reshape(len(self.stevens_names), self.n_params)
        out.flags.writeable = False
        return out

    def stevens_params(self, values) -> dict[str, object]:
        """Maps parameter vectors (..., n) (numpy or JAX) to {Stevens name: (...,)} in K.

        The result goes straight into `lfjax.chi_t_powder`, `hamiltonian`, ...; it applies the
        cubic constraint. D and E come out as B20 = D / 3 and B22 = E.
        """
        if values.shape[-1] != self.n_params:
            raise ParameterError(f"expected {self.n_params} values {self.names} on the last axis; "
                                 f"got shape {tuple(values.shape)}")
        stevens = values @ self.constraint_array().T
        return {name: stevens[..., i] for i, name in enumerate(self.stevens_names)}

    def to_dict(self) -> dict:
        """JSON-ready dict (lists and floats only)."""
        return {
            "ion": {"name": self.ion.name, "j": self.ion.j, "g": self.ion.g},
            "preset": self.preset,
            "names": list(self.names),
            "ranges": [list(r) for r in self.ranges],
            "stevens_names": list(self.stevens_names),
            "constraint": [list(r) for r in self.constraint],
            "maps": [[list(r) for r in m] for m in self.maps],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> ModelSpec:
        """Inverse of `to_dict`.

        Raises:
          ParameterError: missing keys or inconsistent shapes.
        """
        try:
            ion_data = data["ion"]
            the_ion = Ion(name=str(ion_data["name"]), j=float(ion_data["j"]), g=float(ion_data["g"]))
            names = tuple(str(n) for n in data["names"])
            n = len(names)
            ranges = tuple((float(lo), float(hi)) for lo, hi in data["ranges"])
            stevens_names = tuple(str(s) for s in data["stevens_names"])
            constraint = np.asarray(data["constraint"], dtype=np.float64).reshape(len(stevens_names), n)
            maps = np.asarray(data["maps"], dtype=np.float64).reshape(-1, n, n)
            spec = cls(the_ion, str(data["preset"]), names, ranges, stevens_names, _tuples(constraint),
                       _tuples(maps), tuple(str(x) for x in data.get("notes", ())))
        except (KeyError, TypeError, ValueError) as exc:
            raise ParameterError(f"not a model specification (expected the keys of ModelSpec.to_dict): {exc}") from None
        if len(ranges) != n:
            raise ParameterError(f"model specification has {n} names but {len(ranges)} ranges")
        return spec


def model_spec(
    ion: Ion | str,
    preset: str | None = None,
    names: Sequence[str] | None = None,
    scale_k: float | Mapping[int, float] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> ModelSpec:
    """Builds a `ModelSpec` from a preset (default "DE") or an explicit list of names.

    Args:
      ion: an `Ion` or an ion name ("Er3+").
      preset: preset or alias ("D3d", "c3v", "cubic", ...); exclusive with `names`.
      names: explicit parameter names (D, E or Stevens Bkq); exclusive with `preset`.
      scale_k: largest splitting per term in K for the default ranges (`presets.prior_ranges`),
        one number or {k: scale}; default 500 K.
      ranges: {name: (low, high)} in K overriding the default range of those names.

    Raises:
      ParameterError: both or an unknown preset/name, a range for a name not in the model, or
        a range with low >= high.
    """
    if preset is not None and names is not None:
        raise ParameterError("give a preset or a list of parameter names, not both")
    the_ion = make_ion(ion)
    model: Preset = resolve(tuple(names) if names is not None else (preset or "DE"), the_ion)
    default = prior_ranges(the_ion, model, DEFAULT_SCALE_K if scale_k is None else scale_k)
    if ranges:
        from lfjax.physics.hamiltonian import normalise_name

        for raw, bounds in ranges.items():
            name = normalise_name(raw)
            if name not in default:
                raise ParameterError(f"range given for {raw!r}, which is not a parameter of the model {model.names}")
            low, high = (float(b) for b in bounds)
            if not low < high:
                raise ParameterError(f"range of {name} must have low < high; got ({low}, {high})")
            default[name] = (low, high)
    maps = symmetry_maps(model)
    return ModelSpec(
        ion=the_ion,
        preset=model.name,
        names=model.names,
        ranges=tuple(default[n] for n in model.names),
        stevens_names=model.stevens_names,
        constraint=model.matrix,
        maps=_tuples(maps),
        notes=model.notes,
    )
