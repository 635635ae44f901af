"""Global min-max normalisation of chi T curves, fixed once from a large prior sample.

x = (chi T - lo) / (hi - lo), with lo, hi the global minimum and maximum (emu K/mol) over a
fixed-key sample of prior curves (error model and noise included). The same transform is
applied to every curve the model sees, in training and inference, and is saved with the model.

Stored alongside (from the same sample): per-point mean and std of x, used by the networks as a
fixed input standardisation (`features`), and the mean and std of the flow's target (theta, or
theta with (D, E) folded into the canonical wedge) used to standardise the flow's variables.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.data.config import DataConfig


@dataclasses.dataclass(frozen=True)
class Normalisation:
    """Fixed transforms of curves and parameters.

    Attributes:
      lo, hi: global min and max of chi T (emu K/mol).
      x_mean, x_std: (n_T,) per-point mean and std of the min-max normalised curves.
      theta_mean, theta_std: (4,) mean and std of theta = (D, E, chi_dia, f_m).
    """

    lo: float
    hi: float
    x_mean: np.ndarray
    x_std: np.ndarray
    theta_mean: np.ndarray
    theta_std: np.ndarray

    def normalise(self, chi_t):
        """(..., n_T) chi T (emu K/mol) -> min-max normalised curve."""
        return (chi_t - self.lo) / (self.hi - self.lo)

    def denormalise(self, x):
        """Inverse of `normalise`: normalised curve -> chi T (emu K/mol)."""
        return x * (self.hi - self.lo) + self.lo

    def features(self, x):
        """Normalised curve -> per-point standardised network input."""
        return (x - jnp.asarray(self.x_mean, x.dtype)) / jnp.asarray(self.x_std, x.dtype)

    def unfeatures(self, f):
        """Inverse of `features`."""
        return f * jnp.asarray(self.x_std, f.dtype) + jnp.asarray(self.x_mean, f.dtype)

    def standardise_theta(self, theta):
        """(..., 4) physical theta -> standardised."""
        return (theta - jnp.asarray(self.theta_mean, theta.dtype)) / jnp.asarray(self.theta_std, theta.dtype)

    def unstandardise_theta(self, u):
        """(..., 4) standardised theta -> physical units (K, K, emu/mol, 1)."""
        return u * jnp.asarray(self.theta_std, u.dtype) + jnp.asarray(self.theta_mean, u.dtype)

    def to_dict(self) -> dict:
        """JSON-able form."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else float(v)) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, raw: dict) -> Normalisation:
        """Inverse of `to_dict`; raises KeyError/TypeError on malformed input."""
        return cls(
            lo=float(raw["lo"]), hi=float(raw["hi"]),
            **{k: np.asarray(raw[k], dtype=np.float32) for k in ("x_mean", "x_std", "theta_mean", "theta_std")},
        )


def fit_normalisation(cfg: DataConfig, fold_canonical: bool = True, chunk: int = 10_000) -> Normalisation:
    """Fits the normalisation on cfg.norm_curves prior curves drawn with key cfg.norm_seed.

    With fold_canonical, the theta statistics are those of the canonical (D, E) (`fold_theta`),
    the flow's target; otherwise of theta as drawn.
    """
    from lfjax.data.prior import fold_theta
    from lfjax.data.stream import make_batch

    key = jax.random.key(cfg.norm_seed)
    n_chunks = max(1, -(-cfg.norm_curves // chunk))
    def draw_one(k):
        batch = make_batch(k, cfg, chunk)
        return dict(batch, theta=fold_theta(batch["theta"]) if fold_canonical else batch["theta"])

    draw = jax.jit(draw_one)
    batches = [jax.device_get(draw(jax.random.fold_in(key, i))) for i in range(n_chunks)]
    chi_t = np.concatenate([b["chi_t"] for b in batches])[: cfg.norm_curves].astype(np.float64)
    theta = np.concatenate([b["theta"] for b in batches])[: cfg.norm_curves].astype(np.float64)
    lo, hi = float(chi_t.min()), float(chi_t.max())
    x = (chi_t - lo) / (hi - lo)
    return Normalisation(
        lo=lo, hi=hi,
        x_mean=x.mean(0).astype(np.float32), x_std=np.maximum(x.std(0), 1e-6).astype(np.float32),
        theta_mean=theta.mean(0).astype(np.float32), theta_std=theta.std(0).astype(np.float32),
    )
