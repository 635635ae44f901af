"""Serving a trained model: load it and use it on chi T curves (no training code, no optimiser).

    model = load_model("default")      # the shipped model, a train workdir or a checkpoint folder
    model.sample(chi_t, 1000, key=jax.random.key(0))   # (1000, 4): D [K], E [K], chi_dia [emu/mol], f_m

Curves are powder chi T in emu K/mol per magnetic ion, on the model's grid `model.temps_k` (K),
measured at `model.field_oe`. Posterior draws are symmetrised: each draw of (D, E) is mapped by
one of the six equivalence maps (`lfjax.symmetry`, docs/physics.md) chosen at random, so all six
modes carry equal weight. (A flow trained on canonical targets, the default, has its draws folded
into the wedge first.) The network functions are module-level jitted functions keyed by the
(hashable) network: every model of one shape shares their compiled code.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.data.config import DataConfig
from lfjax.data.cut import network_input, point_mask
from lfjax.data.normalise import Normalisation
from lfjax.data.prior import fold_theta, random_equivalent, symmetrise_theta, theta_names
from lfjax.data.stream import make_batch, observation
from lfjax.errors import CheckpointError, ModelMismatchError
from lfjax.models.config import ModelConfig
from lfjax.models.posterior import VAEFlow, build
from lfjax.models.stored import find_step_dir, read_meta, restore_params
from lfjax.physics.ions import ion as make_ion
from lfjax.symmetry import de_group, fold

#: Seed of the latent bank's prior sample (fixed, so the bank is deterministic).
BANK_SEED = 20_260_219
BANK_SIZE = 20_000
#: Neighbours averaged in the latent-distance OOD score.
OOD_NEIGHBOURS = 10


@dataclasses.dataclass(frozen=True)
class ServingConfig:
    """What serving needs of a training config: the data (prior, grid) and model (network) tables."""

    data: DataConfig
    model: ModelConfig

    @classmethod
    def from_meta(cls, raw: dict) -> ServingConfig:
        """From the resolved config stored in a checkpoint's metadata (lists become tuples)."""
        parts = {}
        for name, section in (("data", DataConfig), ("model", ModelConfig)):
            values = raw[name]
            parts[name] = section(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
        return cls(**parts)


def _as_key(key):
    if isinstance(key, int):
        return jax.random.key(key)
    return key


#: Normalisation fields that are static (Python numbers), not arrays, under jit.
_STATIC_NORM = ("n_chi",)


def _norm(tree: dict, n_chi: int = -1) -> Normalisation:
    return Normalisation(**tree, n_chi=n_chi)


def _features(norm: Normalisation, chi_t, config_data=None, t_cut=None):
    """The network input of observations chi_t (`lfjax.data.cut.network_input`)."""
    x = norm.normalise(chi_t)
    return norm.features(x) if config_data is None else network_input(norm, config_data, x, t_cut)


@functools.partial(jax.jit, static_argnames=("net", "n_chi", "config_data"))
def _encode(net: VAEFlow, params, norm_tree, chi_t, n_chi: int = -1, config_data=None, t_cut=None):
    """(..., n_points) observation (cut off below t_cut K, if given) -> latent means (..., d_z)."""
    return net.apply(params, _features(_norm(norm_tree, n_chi), chi_t, config_data, t_cut), method=net.encode)


@functools.partial(jax.jit, static_argnames=("net", "n_chi", "config_data"))
def _reconstruct(net: VAEFlow, params, norm_tree, chi_t, n_chi: int = -1, config_data=None, t_cut=None):
    """(..., n_points) observation -> the decoded latent mean (emu K/mol, mu_B/ion)."""
    norm = _norm(norm_tree, n_chi)
    z = net.apply(params, _features(norm, chi_t, config_data, t_cut), method=net.encode)
    return norm.denormalise(norm.unfeatures(net.apply(params, z, method=net.decode)))


@functools.partial(jax.jit, static_argnames=("net", "fold_canonical", "n", "config_data", "n_chi"))
def _sample(net: VAEFlow, fold_canonical: bool, n: int, params, norm_tree, chi_t, key, config_data=None,
            n_chi: int = -1, t_cut=None):
    """(B, n_points) observations -> (B, n, n_theta) draws symmetrised by the model's group.

    config_data None or a DE config: the (D, E) path (fold into the wedge, one of the six maps).
    """
    norm = _norm(norm_tree, n_chi)
    k_flow, k_map = jax.random.split(key)
    x = _features(norm, chi_t, config_data, t_cut)
    theta = norm.unstandardise_theta(net.apply(params, x, n, key=k_flow, method=net.sample))
    if config_data is not None and not config_data.is_de:
        if fold_canonical:
            theta = fold_theta(theta, config_data)
        return symmetrise_theta(k_map, theta, config_data)
    de = theta[..., :2]
    if fold_canonical:  # flow draws just outside the wedge are mapped back into it
        de = fold(de_group(), de).astype(de.dtype)
    de = random_equivalent(k_map, de)
    return jnp.concatenate([de, theta[..., 2:]], axis=-1)


@functools.partial(jax.jit, static_argnames=("net", "n_chi", "config_data"))
def _log_prob(net: VAEFlow, params, norm_tree, chi_t, theta, maps, n_chi: int = -1, config_data=None, t_cut=None):
    """log q(theta | curve) of the symmetrised draws of `_sample`, theta (n, n_theta) physical units.

    The draw is g . fold(u) with g uniform over the G maps (|det g| = 1 for every map), so
    q(theta) = (1/G) sum_g p_flow(standardise(g theta)) / prod(theta_std).
    """
    norm = _norm(norm_tree, n_chi)
    x = _features(norm, chi_t, config_data, t_cut)
    p = maps.shape[-1]
    imgs = jnp.einsum("gij,nj->gni", maps, theta[:, :p])
    full = jnp.concatenate([imgs, jnp.broadcast_to(theta[None, :, p:], imgs.shape[:2] + theta[:, p:].shape[1:])], -1)
    lp = net.apply(params, norm.standardise_theta(full), x, method=net.log_prob)  # (G, n)
    log_det = jnp.log(jnp.abs(jnp.linalg.det(maps)))[:, None]
    out = jax.nn.logsumexp(lp + log_det, axis=0) - jnp.log(maps.shape[0])
    return out - jnp.sum(jnp.log(jnp.asarray(norm.theta_std, theta.dtype)))


@functools.partial(jax.jit, static_argnames=("config_data", "n"))
def prior_batch(key, config_data: DataConfig, n: int) -> dict:
    """n simulated measurements of the prior and error model of `config_data` (`data.stream.make_batch`)."""
    return make_batch(key, config_data, n)


class TrainedModel:
    """A trained VAE + flow with its normalisation and config (see the module docstring)."""

    def __init__(self, config: ServingConfig, params, norm: Normalisation, source: Path | None = None):
        self.config = config
        self.ion = make_ion(config.data.ion)
        self.temps_k = np.asarray(config.data.temps_k())
        self.field_oe = float(config.data.field_oe)
        #: Names of the columns of `sample`'s draws (model parameters, chi_dia, f_m[, lambda]).
        self.theta_names = theta_names(config.data)
        #: (temperatures K, fields Oe) of the M(H) points after the chi T curve (empty without M(H)).
        self.mh_points = config.data.mh_points()
        self.n_points = config.data.n_points
        self.norm = norm
        self.source = source
        self._params = params
        self._net = build(config.model, config.data.n_points, len(self.theta_names))
        self._norm_tree = {k: jnp.asarray(v, jnp.float32) for k, v in dataclasses.asdict(norm).items()
                           if k not in _STATIC_NORM}
        self._n_chi = int(norm.n_chi)
        self._config_data = None if config.data.is_de else config.data
        #: The data config where the network input carries a cut-off (`lfjax.data.cut`), else None.
        self._cut_cfg = config.data if config.data.t_cut_max_k > 0 else None
        self._sample = _sample

    def _check(self, chi_t) -> np.ndarray:
        chi_t = np.asarray(chi_t, dtype=np.float32)
        if chi_t.ndim < 1 or chi_t.shape[-1] != self.n_points:
            extra = (f", followed by its {self.n_points - self.temps_k.size} M(H) points (model.mh_points),"
                     if self.n_points != self.temps_k.size else "")
            raise ModelMismatchError(
                f"chi_t must have {self.n_points} points on the model grid (model.temps_k, "
                f"{self.temps_k[0]:g}-{self.temps_k[-1]:g} K){extra} in its last axis; got shape {chi_t.shape}; "
                "resample the measurement onto model.temps_k first"
            )
        if not np.all(np.isfinite(chi_t)):
            raise ModelMismatchError("chi_t contains NaN or infinite values; remove or interpolate those points")
        return chi_t

    @property
    def t_cut_max_k(self) -> float:
        """Highest cut-off temperature (K) the model was trained on; 0: whole curves only."""
        return float(self.config.data.t_cut_max_k)

    def _cut(self, t_cut_k, batch_shape) -> dict:
        """Keyword arguments of the jitted network functions for cut-off temperatures t_cut_k (K)."""
        if t_cut_k is None:
            return {} if self._cut_cfg is None else {"config_data": self._cut_cfg}
        t_cut = np.broadcast_to(np.asarray(t_cut_k, np.float32), batch_shape)
        lo = float(self.temps_k[0])
        if self._cut_cfg is None:
            if np.any(t_cut > lo * (1 + 1e-5)):
                raise ModelMismatchError(
                    f"this model was trained on whole curves from {lo:g} K; a curve cut off at {float(np.max(t_cut)):g} K "
                    "needs a model trained with data.t_cut_max_k (e.g. er3_axial), or pass the whole curve")
            return {}
        if np.any(t_cut > self.t_cut_max_k * (1 + 1e-5)) or np.any(t_cut < lo * (1 - 1e-5)):
            raise ModelMismatchError(
                f"cut-off temperatures must lie in {lo:g}-{self.t_cut_max_k:g} K for this model (its training "
                f"range); got {float(np.min(t_cut)):g}-{float(np.max(t_cut)):g} K")
        return {"config_data": self._cut_cfg, "t_cut": jnp.asarray(t_cut)}

    def normalise(self, chi_t) -> np.ndarray:
        """(..., n_T) chi T (emu K/mol) -> min-max normalised network input (...,  n_T)."""
        return np.asarray(self.norm.normalise(self._check(chi_t)))

    def encode(self, chi_t, t_cut_k=None) -> np.ndarray:
        """(..., n_T) chi T (emu K/mol) -> latent mean (..., d_z).

        t_cut_k: cut-off temperature(s) (K, scalar or the batch shape) below which the curve's
        points are not used (values there are ignored but must be finite); None = whole curve.
        Models trained with data.t_cut_max_k only (`t_cut_max_k`).
        """
        chi_t = self._check(chi_t)
        return np.asarray(_encode(self._net, self._params, self._norm_tree, chi_t, n_chi=self._n_chi,
                                  **self._cut(t_cut_k, chi_t.shape[:-1])))

    def reconstruct(self, chi_t, t_cut_k=None) -> np.ndarray:
        """(..., n_T) chi T -> the VAE's reconstruction (decoded latent mean), emu K/mol (t_cut_k: `encode`)."""
        chi_t = self._check(chi_t)
        return np.asarray(_reconstruct(self._net, self._params, self._norm_tree, chi_t, n_chi=self._n_chi,
                                       **self._cut(t_cut_k, chi_t.shape[:-1])))

    def sample_batch(self, chi_t, n: int, *, key, t_cut_k=None) -> np.ndarray:
        """(B, n_T) chi T -> (B, n, n_theta) symmetrised posterior draws in physical units.

        Columns `theta_names`: DE: D [K], E [K], chi_dia [emu/mol], f_m; other models: their
        parameters [K], chi_dia, f_m (and lambda [mol/emu] with a mean field).

        One module-level jitted function; it compiles once per (model shape, B, n). t_cut_k: `encode`.
        """
        chi_t = self._check(chi_t)
        if chi_t.ndim != 2:
            raise ModelMismatchError(f"sample_batch expects chi_t of shape (B, {self.temps_k.size}); got {chi_t.shape}")
        cut = self._cut(t_cut_k, chi_t.shape[:-1])
        extra = {} if self._config_data is None else {"config_data": self._config_data, "n_chi": self._n_chi}
        if "t_cut" in cut:
            extra["t_cut"] = cut["t_cut"]
        return np.asarray(self._sample(self._net, self.config.model.fold_canonical, int(n), self._params, self._norm_tree,
                                       chi_t, _as_key(key), **extra))

    def sample(self, chi_t, n: int, *, key, t_cut_k=None) -> np.ndarray:
        """(n_T,) chi T -> (n, n_theta) symmetrised posterior draws in physical units (`theta_names`)."""
        chi_t = self._check(chi_t)
        if chi_t.ndim != 1:
            raise ModelMismatchError(f"sample expects one curve of shape ({self.temps_k.size},); got {chi_t.shape}")
        return self.sample_batch(chi_t[None], n, key=key, t_cut_k=None if t_cut_k is None else [t_cut_k])[0]

    def log_prob(self, chi_t, theta, t_cut_k=None) -> np.ndarray:
        """log q(theta | chi_t) (n,) of draws theta (n, n_theta) in physical units (`theta_names`).

        The density of `sample`'s symmetrised draws: the flow's density averaged over the
        model's symmetry group (see `_log_prob`), in nats per unit of each physical column.
        """
        from lfjax.data.prior import symmetry_group

        chi_t = self._check(chi_t)
        theta = np.asarray(theta, np.float32)
        if chi_t.ndim != 1 or theta.ndim != 2 or theta.shape[1] != len(self.theta_names):
            raise ModelMismatchError(f"log_prob expects one curve ({self.n_points},) and theta (n, "
                                     f"{len(self.theta_names)}); got {chi_t.shape} and {theta.shape}")
        maps = jnp.asarray(symmetry_group(self.config.data).maps, jnp.float32)
        return np.asarray(_log_prob(self._net, self._params, self._norm_tree, chi_t, theta, maps, n_chi=self._n_chi,
                                    **self._cut(t_cut_k, ())))

    @functools.cached_property
    def _bank(self) -> dict[str, np.ndarray]:
        batch = prior_batch(jax.random.key(BANK_SEED), self.config.data, BANK_SIZE)
        chi_t = np.asarray(observation(batch))
        t_cut = np.asarray(batch["t_cut_k"]) if "t_cut_k" in batch else np.full(len(chi_t), self.temps_k[0], np.float32)
        z = np.concatenate([self.encode(c, None if self._cut_cfg is None else t)
                            for c, t in zip(np.array_split(chi_t, 10), np.array_split(t_cut, 10))])
        return {"z": z, "theta": np.asarray(batch["theta"]), "chi_t": chi_t, "t_cut_k": t_cut}

    def latent_bank(self) -> dict[str, np.ndarray]:
        """Prior curves and their latent means: z (M, d_z), theta (M, n_theta), chi_t (M, n_points),
        t_cut_k (M,) (cut-off temperatures of models trained on cut curves, else the grid's first).

        M = 20000 simulated measurements (error model and noise included) from a fixed key;
        computed once per model. Used for the "VAE plot" (nearest training curves in latent
        space) and for the out-of-distribution thresholds.
        """
        return dict(self._bank)

    def nearest_in_bank(self, chi_t, k: int, t_cut_k=None) -> np.ndarray:
        """Indices of the k bank curves nearest in latent space to one (n_T,) curve (the "VAE plot").

        Distances are in latent units scaled by the bank's spread, as in `ood_scores`.
        """
        scale = self._bank["z"].std(axis=0)
        d2 = (((self._bank["z"] - self.encode(self._check(chi_t), t_cut_k)) / scale) ** 2).sum(-1)
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

    def _recon_rel_rms(self, chi_t: np.ndarray, t_cut_k=None) -> np.ndarray:
        """rms relative reconstruction error over the points seen (at or above the cut-off)."""
        rel = (self.reconstruct(chi_t, t_cut_k) - chi_t) / np.maximum(np.abs(chi_t), 1e-6)
        if self._cut_cfg is None or t_cut_k is None:
            return np.sqrt(np.mean(rel**2, axis=-1))
        seen = np.asarray(point_mask(self._cut_cfg, np.broadcast_to(np.asarray(t_cut_k, np.float32), chi_t.shape[:-1])))
        return np.sqrt(np.sum(seen * rel**2, axis=-1) / np.maximum(seen.sum(-1), 1))

    @functools.cached_property
    def _ood_thresholds(self) -> dict[str, float]:
        ref = slice(0, 2000)  # bank curves scored against the rest of the bank
        z, chi_t, t_cut = self._bank["z"][ref], self._bank["chi_t"][ref], self._bank["t_cut_k"][ref]
        return {
            "latent_distance": float(np.percentile(self._latent_distance(z, exclude_self=True), 99)),
            "recon_rel_rms": float(np.percentile(self._recon_rel_rms(chi_t, None if self._cut_cfg is None else t_cut), 99)),
        }

    def ood_scores(self, chi_t, t_cut_k=None) -> dict[str, np.ndarray]:
        """Out-of-distribution scores of (..., n_T) curves.

        latent_distance: mean distance (latent units scaled by the bank's spread) to the 10
        nearest bank curves; recon_rel_rms: rms relative error of the VAE reconstruction.
        flagged: either score above the bank's own 99th percentile (thresholds returned too).
        t_cut_k: `encode` (the reconstruction error then counts the points seen only).
        """
        chi_t = self._check(chi_t)
        dist = self._latent_distance(self.encode(chi_t, t_cut_k))
        recon = self._recon_rel_rms(chi_t, t_cut_k)
        thr = self._ood_thresholds
        flagged = (dist > thr["latent_distance"]) | (recon > thr["recon_rel_rms"])
        return {"latent_distance": dist, "recon_rel_rms": recon, "flagged": flagged, "thresholds": dict(thr)}


def default_model_path() -> Path:
    """Folder of the model shipped with lfjax (lfjax/trained/default)."""
    return shipped_model_path("default")


def shipped_model_path(name: str) -> Path:
    """Folder of a model shipped with lfjax: lfjax/trained/<name> ("default", "er3_axial", "dy3_axial")."""
    return Path(str(importlib.resources.files("lfjax").joinpath("trained", name)))


def shipped_models() -> list[str]:
    """Names of the models shipped with lfjax (folders of lfjax/trained with a checkpoint)."""
    base = Path(str(importlib.resources.files("lfjax").joinpath("trained")))
    return sorted(p.name for p in base.iterdir() if (p / "checkpoints").is_dir()) if base.is_dir() else []


def param_template(config: ServingConfig, net: VAEFlow):
    """Shapes and dtypes of the network's parameters (`jax.eval_shape` of the flax init; no optimiser)."""
    n, n_theta = config.data.n_inputs, len(theta_names(config.data))
    return jax.eval_shape(lambda: net.init(jax.random.key(0), jnp.zeros((1, n)), jnp.zeros((1, n_theta)),
                                           key=jax.random.key(1)))


def load_model(path: str | Path = "default") -> TrainedModel:
    """Loads a shipped model by name ("default", "er3_axial", "dy3_axial"), a train workdir, or a checkpoint folder.

    A bare name without a folder of that name in the working directory is a shipped model.

    Raises:
      CheckpointError: nothing loadable there, or a corrupted / mismatched checkpoint.
    """
    text = str(path)
    if text == "default" or ("/" not in text and not Path(text).exists() and shipped_model_path(text).is_dir()):
        path = shipped_model_path(text)
        if not path.is_dir():
            raise CheckpointError(
                f"the default model is missing from {path}; expected it in the lfjax package; reinstall lfjax"
            )
    step_dir = find_step_dir(path)
    meta = read_meta(step_dir)
    try:
        config = ServingConfig.from_meta(meta["config"])
        norm = Normalisation.from_dict(meta["normalisation"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"checkpoint {step_dir} has malformed metadata ({type(exc).__name__}: {exc}); "
            "expected the config and normalisation written by `lfjax train`; retrain or use another checkpoint"
        ) from None
    net = build(config.model, config.data.n_points, len(theta_names(config.data)))
    params = restore_params(step_dir, param_template(config, net))
    return TrainedModel(config, params, norm, source=step_dir)
