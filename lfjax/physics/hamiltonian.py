"""Ligand-field Hamiltonians H = sum_kq B_k^q O_k^q(J) from parameter dictionaries (kelvin)."""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp

from lfjax.constants import K_PER_CM1, K_PER_MEV
from lfjax.errors import ParameterError
from lfjax.physics.ions import Ion
from lfjax.physics.operators import STEVENS_NAMES, operator_stack, parse_stevens_name

#: Energy units accepted at the boundary and their size in kelvin.
ENERGY_UNITS: dict[str, float] = {"K": 1.0, "cm-1": K_PER_CM1, "meV": K_PER_MEV}
#: Parameter names accepted besides the Stevens names: D = 3 B20, E = B22.
SECOND_ORDER_NAMES = ("D", "E")


def normalise_name(name: str) -> str:
    """Returns the canonical spelling of a parameter name ("b4-3" -> "B4-3", "d" -> "D").

    Raises:
      ParameterError: the name is neither D, E nor a Stevens Bkq.
    """
    text = name.strip()
    if text.upper() in SECOND_ORDER_NAMES:
        return text.upper()
    canonical = "B" + text[1:] if text[:1] in "bB" else text
    try:
        parse_stevens_name(canonical)
    except ValueError:
        raise ParameterError(
            f"unknown parameter {name!r}; expected D, E or a Stevens Bkq "
            "(k in 2, 4, 6; |q| <= k; negative q as Bk-q, e.g. B20, B22, B4-3, B66)"
        ) from None
    return canonical


def to_kelvin(params: Mapping[str, object], unit: str = "K") -> dict[str, object]:
    """Converts a parameter dict from `unit` ("K", "cm-1" or "meV") to kelvin."""
    if unit not in ENERGY_UNITS:
        raise ParameterError(f"unknown energy unit {unit!r}; expected one of {', '.join(ENERGY_UNITS)}")
    scale = ENERGY_UNITS[unit]
    return {k: (v if scale == 1.0 else jnp.asarray(v) * scale) for k, v in params.items()}


def stevens_params(params: Mapping[str, object]) -> tuple[tuple[str, ...], jnp.ndarray]:
    """Returns (names, values) with D, E folded into B20, B22 and values of shape (..., n_names).

    Args:
      params: dict of parameter name -> array (all of one shape, or broadcastable), in kelvin.

    Raises:
      ParameterError: unknown names, a name given twice (e.g. D and B20), or shapes that disagree.
    """
    if not params:
        raise ParameterError("no ligand-field parameters given; expected e.g. {'D': -5.0, 'E': 1.0}")
    values: dict[str, jnp.ndarray] = {}
    for raw, value in params.items():
        name = normalise_name(raw)
        value = jnp.asarray(value)
        if name == "D":
            name, value = "B20", value / 3.0
        elif name == "E":
            name = "B22"
        if name in values:
            raise ParameterError(f"parameter {name} given twice (D sets B20 and E sets B22)")
        values[name] = value
    names = tuple(n for n in STEVENS_NAMES if n in values)
    try:
        shape = jnp.broadcast_shapes(*(v.shape for v in values.values()))
    except ValueError:
        shapes = {n: tuple(v.shape) for n, v in values.items()}
        raise ParameterError(f"parameter arrays must have one shape; got {shapes}") from None
    stacked = jnp.stack([jnp.broadcast_to(values[n], shape) for n in names], axis=-1)
    return names, stacked


def is_real(names: tuple[str, ...]) -> bool:
    """True when no sine-type (negative q) operator appears: H is then real symmetric."""
    return all("-" not in n for n in names)


def hamiltonian(ion: Ion, params: Mapping[str, object], dtype=None) -> jnp.ndarray:
    """Returns H = sum B_k^q O_k^q in kelvin, shape (..., 2J+1, 2J+1).

    Real (float) when only cosine-type operators appear, complex otherwise. `dtype` is the real
    precision (default: that of the parameters, at least float32).
    """
    names, values = stevens_params(params)
    real_dtype = dtype or jnp.result_type(values.dtype, jnp.float32)
    values = values.astype(real_dtype)
    ops = operator_stack(ion.j, names)
    if is_real(names):
        return jnp.einsum("...p,pij->...ij", values, jnp.asarray(ops.real, dtype=real_dtype))
    cdtype = jnp.result_type(real_dtype, jnp.complex64)
    return jnp.einsum("...p,pij->...ij", values.astype(cdtype), jnp.asarray(ops, dtype=cdtype))
