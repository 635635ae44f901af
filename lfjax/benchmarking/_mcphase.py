"""McPhase's compiled single-ion module (`libmcphase.cf1ion`) as an independent reference.

A McPhase user computes one curve at a time: set the Stevens parameters of a `cf1ion`, then call
`susceptibility` (zero field, per direction) or `magnetisation` (per direction, all fields of a
sweep at once). These functions do exactly that, so the benchmarks time McPhase's own compiled
code the way it is used, and the tests compare lfjax with it.

Conventions (checked in tests/benchmarking/test_mcphase_reference.py): cf1ion's `Bkq` (unit "K")
are lfjax's B_k^q for q >= 0; its sine terms `BkqS` equal **minus** lfjax's B_k^-q (spectra and
the χ along x, y, z agree either way; M along a direction with a y component only agrees so).
Its `susceptibility(T, direction, "cgs")` is χ in emu/mol, its `magnetisation(T, H_tesla,
direction, "bohr")` the moment along the field in μB per ion, shape (n_fields, n_temps).

`libmcphase` is optional (the `test` extra installs it); `available()` says whether it imports.
"""

from __future__ import annotations

import numpy as np

OE_PER_TESLA = 1e4


def available() -> bool:
    """True when `libmcphase` (McPhase's Python module) imports."""
    try:
        import libmcphase  # noqa: F401
    except ImportError:
        return False
    return True


def _attribute(name: str) -> tuple[str, float]:
    """lfjax parameter name -> (cf1ion attribute, sign): 'B4-3' -> ('B43S', -1.0)."""
    if "-" in name:
        return name.replace("-", "") + "S", -1.0
    return name, 1.0


def single_ion(ion_name: str, names, values=None):
    """A `cf1ion` for the named lanthanide (e.g. "Er3+") with parameters in K (lfjax names)."""
    from libmcphase import cf1ion

    model = cf1ion(ion_name, unit="K")
    if values is not None:
        set_parameters(model, names, values)
    return model


def set_parameters(model, names, values) -> None:
    """Writes lfjax-named Stevens parameters (K) into a cf1ion (see the sign of the sine terms)."""
    for name, value in zip(names, values):
        attr, sign = _attribute(name)
        setattr(model, attr, sign * float(value))


def chi_axes(ion_name: str, names, values: np.ndarray, temps_k: np.ndarray) -> np.ndarray:
    """(n, n_T, 3) zero-field χ_x, χ_y, χ_z (emu/mol) per parameter row of `values` (n, p)."""
    model = single_ion(ion_name, names)
    temps = [float(t) for t in np.ravel(temps_k)]
    out = np.empty((values.shape[0], len(temps), 3))
    for i, row in enumerate(np.atleast_2d(values)):
        set_parameters(model, names, row)
        for a, axis in enumerate(([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0])):
            out[i, :, a] = np.ravel(model.susceptibility(temps, axis, "cgs"))
    return out


def chi_t_powder(ion_name: str, names, values: np.ndarray, temps_k: np.ndarray) -> np.ndarray:
    """(n, n_T) zero-field powder χT (emu K/mol): the mean of the three axes times T."""
    return chi_axes(ion_name, names, values, temps_k).mean(-1) * np.ravel(temps_k)


def magnetization_sweep(ion_name: str, names, values: np.ndarray, temp_k: float, fields_oe: np.ndarray,
                        directions: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """M along the field (μB per ion) at one temperature, averaged over `directions` (d, 3).

    With `weights` (d,) summing to 1 this is a powder average by that quadrature (McPhase has no
    powder average of its own); with one direction and no weights, the single-crystal sweep.
    Returns (n, n_fields).
    """
    model = single_ion(ion_name, names)
    fields_t = [float(h) / OE_PER_TESLA for h in np.ravel(fields_oe)]
    dirs = np.atleast_2d(np.asarray(directions, np.float64))
    w = np.ones(dirs.shape[0]) / dirs.shape[0] if weights is None else np.asarray(weights, np.float64)
    out = np.zeros((np.atleast_2d(values).shape[0], len(fields_t)))
    for i, row in enumerate(np.atleast_2d(values)):
        set_parameters(model, names, row)
        for d, wd in zip(dirs, w):
            out[i] += wd * np.ravel(model.magnetisation([float(temp_k)], fields_t, list(d), "bohr"))
    return out


def powder_magnetization(ion_name: str, names, values: np.ndarray, temp_k: float, fields_oe: np.ndarray,
                         n_theta: int, n_phi: int) -> np.ndarray:
    """(n, n_fields) powder M (μB per ion) on the full-hemisphere product rule (n_theta, n_phi)
    (`sphere.hemisphere_quadrature`), the way the benchmarks' numpy loop averages."""
    from lfjax.physics.sphere import hemisphere_quadrature

    dirs, weights = hemisphere_quadrature(n_theta, n_phi)
    return magnetization_sweep(ion_name, names, values, temp_k, fields_oe, dirs, weights)
