"""`evaluate` for any model: calibration, posterior contraction and OOD rate on fresh prior curves.

Test curves: `run.test_curves` (the model's own prior, error model and noise, a key derived from
`seed` and a fixed tag). For each curve, `n_samples` posterior draws (`model.sample_batch`).

Coordinates: every column of theta is standardised by its prior spread (mean and sd of a fixed
prior sample, `prior_scale`), so B20 and B60, whose raw ranges differ by 10^4, weigh alike.
The likelihood's group acts in these coordinates by S^-1 M S (S the diagonal of prior sds).

Calibration (see `metrics` for the argument): the HPD rank of the truth under one Gaussian
kernel density of the draws modulo the group (`symmetry.kde_density`, leave-one-out at the draws;
bandwidth per curve and coordinate by Scott's rule, sd(folded draws) n^(-1 / (d + 4))),
q = #{i : p(theta_i) > p(theta*)} / n; an exact posterior gives q ~ U(0, 1), so the coverage
mean(q <= alpha) of the level-alpha HPD region equals alpha. Reported for the joint posterior of
the model parameters and for all of theta (nuisances included), and per column the coverage of
central intervals (`metrics.central_ranks`).

Contraction per column: posterior sd / prior sd (of folded draws and folded prior for a model with
symmetries), mean and median over curves: near 0 = the curve determines the parameter, near 1 =
the posterior is the prior. OOD rate: share of the (in-distribution) test curves that
`model.ood_scores` flags; by construction near 1-2 %.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.data.prior import n_model_params, sample_theta, symmetry_group
from lfjax.data.stream import make_batch, observation
from lfjax.evaluation.metrics import LEVELS, central_ranks, coverage_curve
from lfjax.symmetry import SymmetryGroup, fold, kde_density

#: Mixed into the key of the test curves (same tag as `run.TEST_TAG`: the same curves for a model).
TEST_TAG = 0x5E7A1
#: Prior draws that fix the standardisation of the evaluation.
PRIOR_SAMPLE = 20_000


@functools.partial(jax.jit, static_argnames=("config_data", "n"))
def _batch(key, config_data, n: int):
    batch = make_batch(key, config_data, n)
    return {"theta": batch["theta"], "obs": observation(batch)}


def test_curves(config_data, n: int, seed: int) -> dict[str, np.ndarray]:
    """n fresh measurements: theta (n, n_theta) and the observation obs (n, n_points)."""
    batch = _batch(jax.random.fold_in(jax.random.key(seed), TEST_TAG), config_data, n)
    return {"theta": np.asarray(batch["theta"], np.float64), "obs": np.asarray(batch["obs"], np.float64)}


def prior_scale(config_data) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sd) of each theta column over a fixed prior sample (physical units)."""
    theta = np.asarray(jax.jit(lambda k: sample_theta(k, PRIOR_SAMPLE, config_data))(jax.random.key(7)), np.float64)
    return theta.mean(0), theta.std(0)


def scaled_group(group: SymmetryGroup, sd: np.ndarray, n_theta: int) -> SymmetryGroup:
    """The group acting on all n_theta standardised columns: S^-1 M S on the model block, identity elsewhere."""
    p = group.n_params
    maps = np.tile(np.eye(n_theta), (group.n_maps, 1, 1))
    s = sd[:p]
    maps[:, :p, :p] = group.maps / s[None, :, None] * s[None, None, :]
    return SymmetryGroup(maps=maps)


@functools.partial(jax.jit, static_argnames="group")
def _hpd_ranks(group: SymmetryGroup, draws, truth, bandwidth):
    """Per curve: HPD rank of the truth under the leave-one-out KDE of the draws (module docstring)."""

    def one(args):
        s, t, h = args
        _, dens = kde_density(group, s, bandwidth=h, leave_one_out=True)
        _, dens_t = kde_density(group, s, t[None], bandwidth=h)
        return jnp.mean(dens > dens_t[0])

    return jax.lax.map(one, (draws, truth, bandwidth))


def hpd_ranks(group: SymmetryGroup, draws, truth) -> np.ndarray:
    """(B, n, d) standardised draws, (B, d) truths -> (B,) HPD ranks (Scott bandwidths per curve)."""
    draws = np.asarray(draws, np.float32)
    folded = np.asarray(fold(group, draws)) if group.n_maps > 1 else draws
    n, d = draws.shape[1], draws.shape[2]
    bw = np.maximum(folded.std(axis=1), 1e-3) * n ** (-1.0 / (d + 4))
    return np.asarray(_hpd_ranks(group, jnp.asarray(draws), jnp.asarray(truth, jnp.float32), jnp.asarray(bw, jnp.float32)))


def evaluate_any(model, *, n: int = 300, seed: int = 0, n_samples: int = 1000, batch: int = 25,
                 t_cut_k: float | None = None,
                 log: Callable[[str], None] = lambda s: None) -> tuple[dict, dict[str, np.ndarray]]:
    """Calibration, contraction and OOD rate of a trained model of any specification.

    Args:
      model: a `TrainedModel`.
      n: test curves; seed: their seed (and that of the posterior draws).
      n_samples: posterior draws per curve; batch: curves per batched call.
      t_cut_k: evaluate on curves cut off below this temperature (K): the network sees only the
        grid points from there up, as for a measurement analysed from t_cut_k (models trained with
        `data.t_cut_max_k`); None: whole curves.
      log: progress callback.

    Returns:
      (summary: JSON-able dict, arrays: per-curve ranks, sds, truths and medians for figures).
    """
    cfg = model.config.data
    names = tuple(model.theta_names)
    p = n_model_params(cfg)
    t_all = time.perf_counter()
    data = test_curves(cfg, n, seed)
    mean, sd = prior_scale(cfg)
    group = symmetry_group(cfg)
    sgroup = scaled_group(group, sd, len(names))
    model_group = scaled_group(group, sd[:p], p)
    log(f"posterior: {n} curves x {n_samples} draws")
    key = jax.random.key(seed + 1)
    hpd_model, hpd_all, central, post_sd, post_median = [], [], [], [], []
    t_sample = 0.0
    for i, lo in enumerate(range(0, n, batch)):
        block = data["obs"][lo:lo + batch]
        truth = (data["theta"][lo:lo + batch] - mean) / sd
        t0 = time.perf_counter()
        draws = model.sample_batch(block, n_samples, key=jax.random.fold_in(key, i), t_cut_k=t_cut_k)
        draws = draws.astype(np.float64)
        t_sample += time.perf_counter() - t0
        u = (draws - mean) / sd
        hpd_model.append(hpd_ranks(model_group, u[..., :p], truth[:, :p]))
        hpd_all.append(hpd_ranks(sgroup, u, truth))
        folded = np.asarray(fold(sgroup, u)) if group.n_maps > 1 else u
        ftruth = np.asarray(fold(sgroup, truth)) if group.n_maps > 1 else truth
        central.append(np.stack([central_ranks(folded[..., j], ftruth[:, j]) for j in range(len(names))], -1))
        post_sd.append(folded.std(axis=1))
        post_median.append(np.median(folded, axis=1) * sd + mean)
    hpd_model, hpd_all = np.concatenate(hpd_model), np.concatenate(hpd_all)
    central, post_sd, post_median = (np.concatenate(x) for x in (central, post_sd, post_median))
    prior_u = (np.asarray(jax.jit(lambda k: sample_theta(k, PRIOR_SAMPLE, cfg))(jax.random.key(7)), np.float64) - mean) / sd
    prior_sd_folded = (np.asarray(fold(sgroup, prior_u)) if group.n_maps > 1 else prior_u).std(0)
    contraction = post_sd / prior_sd_folded
    log("out-of-distribution scores")
    ood = model.ood_scores(data["obs"].astype(np.float32), t_cut_k=t_cut_k)
    truth_folded = np.asarray(fold(sgroup, (data["theta"] - mean) / sd)) * sd + mean if group.n_maps > 1 else data["theta"]
    summary = {
        "model": str(model.source), "n": n, "n_samples": n_samples, "seed": seed, "t_cut_k": t_cut_k,
        "parameters": list(names),
        "model_parameters": list(names[:p]), "group_order": int(group.n_maps),
        "prior_mean": mean.tolist(), "prior_sd": sd.tolist(),
        "coverage_50": float(np.mean(hpd_model <= 0.5)), "coverage_90": float(np.mean(hpd_model <= 0.9)),
        "coverage_all_50": float(np.mean(hpd_all <= 0.5)), "coverage_all_90": float(np.mean(hpd_all <= 0.9)),
        "coverage_levels": LEVELS.tolist(),
        "coverage_hpd_model": coverage_curve(hpd_model).tolist(),
        "coverage_hpd_all": coverage_curve(hpd_all).tolist(),
        "coverage_central": {nm: {"50": float(np.mean(central[:, j] <= 0.5)), "90": float(np.mean(central[:, j] <= 0.9)),
                                 "curve": coverage_curve(central[:, j]).tolist()} for j, nm in enumerate(names)},
        "contraction": {nm: {"mean": float(contraction[:, j].mean()), "median": float(np.median(contraction[:, j]))}
                        for j, nm in enumerate(names)},
        "ood_rate": float(np.mean(ood["flagged"])),
        "timings": {"sample_s_per_curve": t_sample / n, "total_s": time.perf_counter() - t_all},
    }
    arrays = {"theta": data["theta"], "truth_folded": truth_folded, "posterior_median": post_median,
              "posterior_sd_std_units": post_sd, "contraction": contraction, "hpd_rank_model": hpd_model,
              "hpd_rank_all": hpd_all, "central_rank": central, "ood_flagged": np.asarray(ood["flagged"])}
    return summary, arrays
