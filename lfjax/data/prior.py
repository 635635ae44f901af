"""The prior over theta = (model parameters..., chi_dia, f_m[, lambda]), invariant under the model's group.

DE (the default model): (D, E) in K drawn uniformly (by area) from the canonical wedge
|D| <= d_max, 0 <= E <= |D| / 3 (`symmetry.sample_wedge`), then one of the six maps of
docs/physics.md chosen uniformly: (D, E), (D, -E), ((3E - D)/2, +-(D + E)/2), ((-3E - D)/2, +-(D - E)/2).
The maps form a group, so the prior is invariant under each of them and the posterior's six
modes carry equal weight.

Any other model (`DataConfig.preset` / `params`): uniform in the box of its `ModelSpec` ranges
(comparable-energy: each term alone splits the multiplet by at most scale_k; or `ranges_k`),
then one map of the likelihood's group (`ModelSpec.maps`, identity first) chosen uniformly.

Nuisances: chi_dia ~ N(0, sigma_dia) in emu/mol, f_m ~ N(1, sigma_m); with a mean field,
lambda ~ U(lambda_min, lambda_max) in mol/emu.

The flow's canonical target folds the model parameters with the same group (`fold_theta`):
for DE this is exactly the wedge fold of `physics.equivalents.canonical` (`symmetry.de_group`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from lfjax.data.config import DataConfig
from lfjax.symmetry import SymmetryGroup, de_group, fold, random_image, sample_wedge

#: Order of the columns of theta of the DE model (units: K, K, emu/mol, 1).
THETA_NAMES = ("D", "E", "chi_dia", "f_m")
#: Nuisance columns after the model parameters (lambda only with a mean field).
NUISANCE_NAMES = ("chi_dia", "f_m")
LAMBDA_NAME = "lambda"

_DEFAULT = DataConfig()


@functools.cache
def model_spec_of(cfg: DataConfig):
    """The `lfjax.spec.ModelSpec` of a data config (ion, parameter names, prior ranges, symmetry maps)."""
    from lfjax.spec import model_spec

    if cfg.params:
        names, preset = tuple(cfg.params), None
    else:
        names, preset = None, cfg.preset
    spec = model_spec(cfg.ion, preset=preset, names=names, scale_k=cfg.scale_k)
    if cfg.ranges_k:
        pairs = list(zip(cfg.ranges_k[::2], cfg.ranges_k[1::2]))
        if len(pairs) != spec.n_params:
            raise ValueError(f"ranges_k must give {spec.n_params} (low, high) pairs for {spec.names}; "
                             f"got {len(pairs)} pairs")
        spec = model_spec(cfg.ion, preset=preset, names=names, scale_k=cfg.scale_k, ranges=dict(zip(spec.names, pairs)))
    return spec


@functools.cache
def symmetry_group(cfg: DataConfig | None = None) -> SymmetryGroup:
    """The likelihood's group acting on the model parameters: `de_group()` for DE, else the spec's maps."""
    cfg = _DEFAULT if cfg is None else cfg
    if cfg.is_de:
        return de_group()
    spec = model_spec_of(cfg)
    return SymmetryGroup(maps=spec.maps_array(), names=spec.names)


def model_names(cfg: DataConfig | None = None) -> tuple[str, ...]:
    """The model parameter names (D, E or Stevens Bkq), in theta order."""
    cfg = _DEFAULT if cfg is None else cfg
    return ("D", "E") if cfg.is_de else tuple(model_spec_of(cfg).names)


def theta_names(cfg: DataConfig | None = None) -> tuple[str, ...]:
    """Names of the columns of theta: model parameters, chi_dia, f_m and (mean field) lambda."""
    cfg = _DEFAULT if cfg is None else cfg
    extra = (LAMBDA_NAME,) if cfg.has_mean_field else ()
    return model_names(cfg) + NUISANCE_NAMES + extra


def n_model_params(cfg: DataConfig | None = None) -> int:
    """Number of model parameters (columns of theta before chi_dia)."""
    return len(model_names(cfg))


def random_equivalent(key, de) -> jnp.ndarray:
    """Applies one of the six equivalence maps, uniformly at random, to each row of de (..., 2)."""
    return random_image(de_group(), key, de).astype(de.dtype)


def fold_theta(theta, cfg: DataConfig | None = None) -> jnp.ndarray:
    """(..., n_theta) theta -> the same with the model parameters folded into the canonical region.

    DE (default): (D, E) replaced by its canonical equivalent (0 <= E <= |D|/3).
    """
    group = symmetry_group(cfg)
    p = group.n_params
    if group.n_maps == 1:
        return theta
    folded = fold(group, theta[..., :p]).astype(theta.dtype)
    return jnp.concatenate([folded, theta[..., p:]], axis=-1)


def symmetrise_theta(key, theta, cfg: DataConfig | None = None) -> jnp.ndarray:
    """(..., n_theta) -> one image of the model parameters under a uniformly random map of the group."""
    group = symmetry_group(cfg)
    if group.n_maps == 1:
        return theta
    p = group.n_params
    img = random_image(group, key, theta[..., :p]).astype(theta.dtype)
    return jnp.concatenate([img, theta[..., p:]], axis=-1)


def prior_box(cfg: DataConfig) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(low, high) of the model parameters' uniform prior box in K (non-DE models)."""
    spec = model_spec_of(cfg)
    return tuple(float(x) for x in spec.low), tuple(float(x) for x in spec.high)


def sample_theta(key, n: int, cfg: DataConfig, dtype=jnp.float32) -> jnp.ndarray:
    """(n, n_theta) prior draws in physical units (K, emu/mol, 1, mol/emu), see the module docstring."""
    keys = jax.random.split(key, 5 if cfg.has_mean_field else 4)  # 4: the DE stream's keys, unchanged
    k_model, k_map, k_dia, k_m = keys[:4]
    if cfg.is_de:
        params = random_equivalent(k_map, sample_wedge(k_model, n, cfg.d_max_k, dtype))
    else:
        low, high = prior_box(cfg)
        params = jax.random.uniform(k_model, (n, len(low)), dtype, jnp.asarray(low, dtype), jnp.asarray(high, dtype))
        params = symmetrise_theta(k_map, params, cfg)
    chi_dia = cfg.sigma_dia_emu_per_mol * jax.random.normal(k_dia, (n,), dtype)
    f_m = 1.0 + cfg.sigma_m * jax.random.normal(k_m, (n,), dtype)
    cols = [params, chi_dia[:, None], f_m[:, None]]
    if cfg.has_mean_field:
        lam = jax.random.uniform(keys[4], (n, 1), dtype, cfg.lambda_min_mol_per_emu, cfg.lambda_max_mol_per_emu)
        cols.append(lam)
    return jnp.concatenate(cols, axis=-1)
