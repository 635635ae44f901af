"""lfjax: ligand-field parameters of lanthanide complexes from magnetic susceptibility, in JAX.

Public API (energies in K, chi in emu/mol, chi T in emu K/mol, fields in Oe):
  ion(name_or_j, g=None) -> Ion
  chi_axes(ion, params, temps_k) -> (..., n_T, 3)
  chi_t_powder(ion, params, temps_k, field_oe=0.0) -> (..., n_T)
  chi_t_powder_de(ion, d, e, temps_k) -> (..., n_T)   fast second-order path
  magnetization(ion, params, temps_k, fields_oe, direction="powder", mean_field=0.0) -> (..., n_points)
  chi(ion, params, temps_k, fields_oe, direction="powder", mean_field=0.0) -> (..., n_points)  M/H
  levels(ion, params) -> (..., 2J+1) K above the ground level;  ground_g(ion, params) -> (..., 3)
  equivalents(d, e) -> (..., 6, 2);  canonical(d, e) -> (..., 2)
  preset(name, ion=None) -> parameter names;  prior_ranges(ion, names, scale_k=500.0) -> {name: (lo, hi)}
  symmetry_maps(names, ion=None, directions=None) -> (n_maps, n, n), identity first
  model_spec(ion, preset=None, names=None, scale_k=None, ranges=None) -> ModelSpec
"""

from lfjax._xla import set_xla_flags as _set_xla_flags

_set_xla_flags()  # before JAX starts its backend (see lfjax._xla)

from lfjax.physics import Ion as Ion
from lfjax.physics import apply_errors as apply_errors
from lfjax.physics import canonical as canonical
from lfjax.physics import chi as chi
from lfjax.physics import chi_axes as chi_axes
from lfjax.physics import chi_t_powder as chi_t_powder
from lfjax.physics import chi_t_powder_de as chi_t_powder_de
from lfjax.physics import equivalents as equivalents
from lfjax.physics import ground_g as ground_g
from lfjax.physics import ion as ion
from lfjax.physics import levels as levels
from lfjax.physics import magnetization as magnetization
from lfjax.physics.presets import preset as preset
from lfjax.physics.presets import prior_ranges as prior_ranges
from lfjax.physics.symmetry_maps import symmetry_maps as symmetry_maps
from lfjax.spec import ModelSpec as ModelSpec
from lfjax.spec import model_spec as model_spec

__version__ = "0.1.0"
