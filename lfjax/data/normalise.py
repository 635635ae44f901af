"""Global min-max normalisation of chi T curves, fixed once from a large prior sample.

x = (chi T - lo) / (hi - lo), with lo, hi the global minimum and maximum (emu K/mol) over a
fixed-key sample of prior curves (error model and noise included). The same transform is
applied to every curve the model sees, in training and inference, and is saved with the model.

Stored alongside (from the same sample): per-point mean and std of x, used by the networks as a
fixed input standardisation (`features`), and the mean and std of the flow's target (theta, or
theta with the model parameters folded into the canonical region) used to standardise the flow's
variables: this per-parameter standardisation makes the flow's target O(1) even where the raw
ranges differ by 10^4 (B20 vs B60).

Models with M(H) observables see the vector (chi T (n_T,), M (n_mh,)): the M points have their
own global min-max (mh_lo, mh_hi in mu_B per ion), `n_chi` = n_T marks the split.
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
      theta_mean, theta_std: (n_theta,) mean and std of theta (`prior.theta_names`; DE: D, E, chi_dia, f_m).
      mh_lo, mh_hi: global min and max of the M(H) points (mu_B per ion); unused without M(H).
      n_chi: number of chi T points at the start of an observation; -1 = all (no M(H)).
    """

    lo: float
    hi: float
    x_mean: np.ndarray
    x_std: np.ndarray
    theta_mean: np.ndarray
    theta_std: np.ndarray
    mh_lo: float = 0.0
    mh_hi: float = 1.0
    n_chi: int = -1

    def _split(self, obs):
        xp = jnp if isinstance(obs, jax.Array) else np
        if self.n_chi < 0 or obs.shape[-1] == self.n_chi:
            return obs, None, xp
        return obs[..., : self.n_chi], obs[..., self.n_chi :], xp

    def normalise(self, chi_t):
        """(..., n_T) chi T (emu K/mol), or (..., n_T + n_mh) with M (mu_B/ion) -> min-max normalised."""
        chi, mh, xp = self._split(chi_t)
        x = (chi - self.lo) / (self.hi - self.lo)
        if mh is None:
            return x
        return xp.concatenate([x, (mh - self.mh_lo) / (self.mh_hi - self.mh_lo)], axis=-1)

    def denormalise(self, x):
        """Inverse of `normalise`: normalised curve -> chi T (emu K/mol) (and M in mu_B/ion)."""
        chi, mh, xp = self._split(x)
        out = chi * (self.hi - self.lo) + self.lo
        if mh is None:
            return out
        return xp.concatenate([out, mh * (self.mh_hi - self.mh_lo) + self.mh_lo], axis=-1)

    def features(self, x):
        """Normalised curve -> per-point standardised network input."""
        return (x - jnp.asarray(self.x_mean, x.dtype)) / jnp.asarray(self.x_std, x.dtype)

    def unfeatures(self, f):
        """Inverse of `features`."""
        return f * jnp.asarray(self.x_std, f.dtype) + jnp.asarray(self.x_mean, f.dtype)

    def standardise_theta(self, theta):
        """(..., n_theta) physical theta -> standardised."""
        return (theta - jnp.asarray(self.theta_mean, theta.dtype)) / jnp.asarray(self.theta_std, theta.dtype)

    def unstandardise_theta(self, u):
        """(..., n_theta) standardised theta -> physical units (K, emu/mol, 1, mol/emu)."""
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
            mh_lo=float(raw.get("mh_lo", 0.0)), mh_hi=float(raw.get("mh_hi", 1.0)), n_chi=int(raw.get("n_chi", -1)),
        )


def fit_normalisation(cfg: DataConfig, fold_canonical: bool = True, chunk: int = 10_000) -> Normalisation:
    """Fits the normalisation on cfg.norm_curves prior curves drawn with key cfg.norm_seed.

    With fold_canonical, the theta statistics are those of the canonical model parameters
    (`fold_theta` with the model's group), the flow's target; otherwise of theta as drawn.
    """
    from lfjax.data.prior import fold_theta
    from lfjax.data.stream import make_batch, observation

    key = jax.random.key(cfg.norm_seed)
    n_chunks = max(1, -(-cfg.norm_curves // chunk))
    def draw_one(k):
        batch = make_batch(k, cfg, chunk)
        return {"obs": observation(batch), "theta": fold_theta(batch["theta"], cfg) if fold_canonical else batch["theta"]}

    draw = jax.jit(draw_one)
    batches = [jax.device_get(draw(jax.random.fold_in(key, i))) for i in range(n_chunks)]
    obs = np.concatenate([b["obs"] for b in batches])[: cfg.norm_curves].astype(np.float64)
    theta = np.concatenate([b["theta"] for b in batches])[: cfg.norm_curves].astype(np.float64)
    chi_t = obs[:, : cfg.n_temps]
    lo, hi = float(chi_t.min()), float(chi_t.max())
    extra = {}
    if cfg.n_mh:
        mh = obs[:, cfg.n_temps :]
        extra = {"mh_lo": float(mh.min()), "mh_hi": float(max(mh.max(), mh.min() + 1e-6)), "n_chi": cfg.n_temps}
    norm = Normalisation(
        lo=lo, hi=hi, x_mean=np.zeros(1, np.float32), x_std=np.ones(1, np.float32),
        theta_mean=theta.mean(0).astype(np.float32), theta_std=theta.std(0).astype(np.float32), **extra,
    )
    x = np.asarray(norm.normalise(obs))
    return dataclasses.replace(
        norm, x_mean=x.mean(0).astype(np.float32), x_std=np.maximum(x.std(0), 1e-6).astype(np.float32))
