"""Model values of one curve for one parameter set: chi (emu/mol per ion) or M (mu_B per ion).

Calls `lfjax.chi` / `lfjax.magnetization` (the general-physics simulator: any direction, finite
field, mean field). Where those are not available it falls back on the older zero-field /
powder finite-field functions, with the low-field mean-field correction chi / (1 - lambda chi).
"""

from __future__ import annotations

import jax.numpy as jnp

from lfjax.constants import NA_MUB_EMU_PER_MOL

_AXES = {"x": 0, "y": 1, "z": 2}


def _general():
    """(chi, magnetization) of the general simulator, or None where it is not installed."""
    import lfjax

    chi = getattr(lfjax, "chi", None)
    mag = getattr(lfjax, "magnetization", None)
    return (chi, mag) if chi is not None and mag is not None else None


def curve_values(ion, params, kind: str, direction, temps_k, fields_oe, mean_field=None, dtype=None):
    """Model values of one curve, shape (n,).

    Args:
      ion: the ion.
      params: dict name -> scalar (K).
      kind: "chi" (M/H in emu/mol per ion; field 0 means zero-field linear response) or "mh"
        (M in mu_B per ion).
      direction: "powder", "x", "y", "z" or a unit 3-tuple.
      temps_k: (n,) K; fields_oe: (n,) Oe, or a Python float shared by every point.
      mean_field: lambda in mol/emu (scalar, may be traced) or None.
    """
    general = _general()
    lam = 0.0 if mean_field is None else mean_field
    if general is not None:
        chi_fn, mag_fn = general
        fn = chi_fn if kind == "chi" else mag_fn
        return fn(ion, params, temps_k, fields_oe, direction=direction, mean_field=lam, dtype=dtype)
    return _fallback(ion, params, kind, direction, temps_k, fields_oe, lam, dtype)


def _fallback(ion, params, kind, direction, temps_k, fields_oe, lam, dtype):
    from lfjax.physics import chi_axes, chi_powder_finite_field

    temps = jnp.asarray(temps_k)
    zero_field = isinstance(fields_oe, float) and fields_oe == 0.0
    if kind == "chi" and zero_field:
        axes = chi_axes(ion, params, temps, dtype=dtype)
        if direction == "powder":
            per_axis = axes / (1.0 - lam * axes)
            return jnp.mean(per_axis, axis=-1)
        vec = jnp.asarray(_vector(direction), axes.dtype)
        chi0 = axes @ (vec**2)
        return chi0 / (1.0 - lam * chi0)
    if direction != "powder":
        raise NotImplementedError("single-crystal finite-field curves need lfjax.chi / lfjax.magnetization")
    fields = jnp.broadcast_to(jnp.asarray(fields_oe, temps.dtype), temps.shape)
    chi0 = chi_powder_finite_field(ion, params, temps, fields, dtype=dtype)
    chi = chi0 / (1.0 - lam * chi0)
    if kind == "chi":
        return chi
    return chi * fields / NA_MUB_EMU_PER_MOL


def _vector(direction):
    if isinstance(direction, str):
        out = [0.0, 0.0, 0.0]
        out[_AXES[direction]] = 1.0
        return out
    return list(direction)
