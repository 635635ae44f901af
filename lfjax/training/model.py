"""The trained-model interface: load a model and use it on chi T curves.

    model = load_model("default")      # the shipped model, a train workdir or a checkpoint folder
    model.sample(chi_t, 1000, key=jax.random.key(0))   # (1000, 4): D [K], E [K], chi_dia [emu/mol], f_m

Curves are powder chi T in emu K/mol per magnetic ion, on the model's grid `model.temps_k` (K),
measured at `model.field_oe`. Posterior draws are symmetrised: each draw of (D, E) is mapped by
one of the six equivalence maps (docs/physics.md) chosen at random, so all six modes carry equal weight.
(A flow trained on canonical targets, the default, has its draws folded into the wedge first.)
"""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.data.normalise import Normalisation
from lfjax.data.prior import THETA_NAMES, random_equivalent
from lfjax.data.stream import make_batch
from lfjax.models.posterior import build
from lfjax.physics.equivalents import canonical
from lfjax.physics.ions import ion as make_ion
from lfjax.training import checkpoint as ckpt
from lfjax.training.config import Config, from_dict
from lfjax.training.train import init_params

#: Seed of the latent bank's prior sample (fixed, so the bank is deterministic).
BANK_SEED = 20_260_219
BANK_SIZE = 20_000
#: Neighbours averaged in the latent-distance OOD score.
OOD_NEIGHBOURS = 10


def _as_key(key):
    if isinstance(key, int):
        return jax.random.key(key)
    return key


class TrainedModel:
    """A trained VAE + flow with its normalisation and config (see the module docstring)."""

    theta_names = THETA_NAMES

    def __init__(self, config: Config, params, norm: Normalisation, source: Path | None = None):
        self.config = config
        self.ion = make_ion(config.data.ion)
        self.temps_k = np.asarray(config.data.temps_k())
        self.field_oe = float(config.data.field_oe)
        self.norm = norm
        self.source = source
        self._params = params
        net = build(config.model, config.data.n_temps)
        self._net = net
        fold = config.model.fold_canonical

        def features(chi_t):
            return norm.features(norm.normalise(chi_t))

        self._encode = jax.jit(lambda p, c: net.apply(p, features(c), method=net.encode))

        def reconstruct(p, c):
            z = net.apply(p, features(c), method=net.encode)
            return norm.denormalise(norm.unfeatures(net.apply(p, z, method=net.decode)))

        self._reconstruct = jax.jit(reconstruct)

        def sample(p, c, key, n):
            k_flow, k_map = jax.random.split(key)
            u = net.apply(p, features(c), n, key=k_flow, method=net.sample)
            theta = norm.unstandardise_theta(u)
            de = theta[..., :2]
            if fold:  # flow draws just outside the wedge are mapped back into it
                de = canonical(de[..., 0], de[..., 1]).astype(de.dtype)
            de = random_equivalent(k_map, de)
            return jnp.concatenate([de, theta[..., 2:]], axis=-1)

        self._sample = jax.jit(sample, static_argnums=3)

    def _check(self, chi_t) -> np.ndarray:
        chi_t = np.asarray(chi_t, dtype=np.float32)
        if chi_t.ndim < 1 or chi_t.shape[-1] != self.temps_k.size:
            raise ValueError(
                f"chi_t must have {self.temps_k.size} points on the model grid (model.temps_k, "
                f"{self.temps_k[0]:g}-{self.temps_k[-1]:g} K) in its last axis; got shape {chi_t.shape}; "
                "resample the measurement onto model.temps_k first"
            )
        if not np.all(np.isfinite(chi_t)):
            raise ValueError("chi_t contains NaN or infinite values; remove or interpolate those points")
        return chi_t

    def normalise(self, chi_t) -> np.ndarray:
        """(..., n_T) chi T (emu K/mol) -> min-max normalised network input (...,  n_T)."""
        return np.asarray(self.norm.normalise(self._check(chi_t)))

    def encode(self, chi_t) -> np.ndarray:
        """(..., n_T) chi T (emu K/mol) -> latent mean (..., d_z)."""
        return np.asarray(self._encode(self._params, self._check(chi_t)))

    def reconstruct(self, chi_t) -> np.ndarray:
        """(..., n_T) chi T -> the VAE's reconstruction (decoded latent mean), emu K/mol."""
        return np.asarray(self._reconstruct(self._params, self._check(chi_t)))

    def sample_batch(self, chi_t, n: int, *, key) -> np.ndarray:
        """(B, n_T) chi T -> (B, n, 4) symmetrised posterior draws of (D [K], E [K], chi_dia [emu/mol], f_m).

        One jitted function; it compiles once per (B, n).
        """
        chi_t = self._check(chi_t)
        if chi_t.ndim != 2:
            raise ValueError(f"sample_batch expects chi_t of shape (B, {self.temps_k.size}); got {chi_t.shape}")
        return np.asarray(self._sample(self._params, chi_t, _as_key(key), int(n)))

    def sample(self, chi_t, n: int, *, key) -> np.ndarray:
        """(n_T,) chi T -> (n, 4) symmetrised posterior draws in physical units."""
        chi_t = self._check(chi_t)
        if chi_t.ndim != 1:
            raise ValueError(f"sample expects one curve of shape ({self.temps_k.size},); got {chi_t.shape}")
        return self.sample_batch(chi_t[None], n, key=key)[0]

    @functools.cached_property
    def _bank(self) -> dict[str, np.ndarray]:
        batch = jax.jit(lambda k: make_batch(k, self.config.data, BANK_SIZE))(jax.random.key(BANK_SEED))
        chi_t = np.asarray(batch["chi_t"])
        z = np.concatenate([self.encode(c) for c in np.array_split(chi_t, 10)])
        return {"z": z, "theta": np.asarray(batch["theta"]), "chi_t": chi_t}

    def latent_bank(self) -> dict[str, np.ndarray]:
        """Prior curves and their latent means: z (M, d_z), theta (M, 4), chi_t (M, n_T).

        M = 20000 simulated measurements (error model and noise included) from a fixed key;
        computed once per model. Used for the "VAE plot" (nearest training curves in latent
        space) and for the out-of-distribution thresholds.
        """
        return dict(self._bank)

    def nearest_in_bank(self, chi_t, k: int) -> np.ndarray:
        """Indices of the k bank curves nearest in latent space to one (n_T,) curve (the "VAE plot").

        Distances are in latent units scaled by the bank's spread, as in `ood_scores`.
        """
        scale = self._bank["z"].std(axis=0)
        d2 = (((self._bank["z"] - self.encode(self._check(chi_t))) / scale) ** 2).sum(-1)
        return np.argsort(d2)[:k]

    def _latent_distance(self, z: np.ndarray, exclude_self: bool = False) -> np.ndarray:
        scale = self._bank["z"].std(axis=0)
        bank = self._bank["z"] / scale
        bank_sq = (bank**2).sum(-1)
        k = OOD_NEIGHBOURS + int(exclude_self)
        out = []
        for chunk in np.array_split(z.reshape(-1, z.shape[-1]) / scale, max(1, z.size // 3_000 + 1)):
            # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, one (chunk, M) matrix product
            d2 = (chunk**2).sum(-1)[:, None] + bank_sq[None, :] - 2.0 * chunk @ bank.T
            d = np.sqrt(np.maximum(np.partition(d2, k - 1, axis=1)[:, :k], 0.0))
            out.append(np.sort(d, axis=1)[:, int(exclude_self):].mean(axis=1))
        return np.concatenate(out).reshape(z.shape[:-1])

    def _recon_rel_rms(self, chi_t: np.ndarray) -> np.ndarray:
        rel = (self.reconstruct(chi_t) - chi_t) / np.maximum(np.abs(chi_t), 1e-6)
        return np.sqrt(np.mean(rel**2, axis=-1))

    @functools.cached_property
    def _ood_thresholds(self) -> dict[str, float]:
        ref = slice(0, 2000)  # bank curves scored against the rest of the bank
        z, chi_t = self._bank["z"][ref], self._bank["chi_t"][ref]
        return {
            "latent_distance": float(np.percentile(self._latent_distance(z, exclude_self=True), 99)),
            "recon_rel_rms": float(np.percentile(self._recon_rel_rms(chi_t), 99)),
        }

    def ood_scores(self, chi_t) -> dict[str, np.ndarray]:
        """Out-of-distribution scores of (..., n_T) curves.

        latent_distance: mean distance (latent units scaled by the bank's spread) to the 10
        nearest bank curves; recon_rel_rms: rms relative error of the VAE reconstruction.
        flagged: either score above the bank's own 99th percentile (thresholds returned too).
        """
        chi_t = self._check(chi_t)
        dist = self._latent_distance(self.encode(chi_t))
        recon = self._recon_rel_rms(chi_t)
        thr = self._ood_thresholds
        flagged = (dist > thr["latent_distance"]) | (recon > thr["recon_rel_rms"])
        return {"latent_distance": dist, "recon_rel_rms": recon, "flagged": flagged, "thresholds": dict(thr)}


def default_model_path() -> Path:
    """Folder of the model shipped with lfjax (lfjax/trained/default)."""
    return Path(str(importlib.resources.files("lfjax").joinpath("trained", "default")))


def load_model(path: str | Path = "default") -> TrainedModel:
    """Loads "default" (the shipped model), a train workdir, or a checkpoint folder.

    Raises:
      CheckpointError: nothing loadable there, or a corrupted / mismatched checkpoint.
    """
    if str(path) == "default":
        path = default_model_path()
        if not path.is_dir():
            raise ckpt.CheckpointError(
                f"the default model is missing from {path}; expected it in the lfjax package; reinstall lfjax"
            )
    step_dir = ckpt.find_step_dir(path)
    meta = ckpt.read_meta(step_dir)
    try:
        config = from_dict(meta["config"])
        norm = Normalisation.from_dict(meta["normalisation"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ckpt.CheckpointError(
            f"checkpoint {step_dir} has malformed metadata ({type(exc).__name__}: {exc}); "
            "expected the config and normalisation written by `lfjax train`; retrain or use another checkpoint"
        ) from None
    net = build(config.model, config.data.n_temps)
    params_like = jax.eval_shape(lambda: init_params(config, net, jax.random.key(0)))
    params, _, _ = ckpt.restore(step_dir, params_like)
    return TrainedModel(config, params, norm, source=step_dir)
