"""`lfjax infer` on a measurement set: amortized draws made exact by importance weights or SMC.

1. The set's curve the model knows (`proposal.observed_curve`) -> N draws theta_i from the
   trained model with their density q(theta_i | curve) (`TrainedModel.log_prob`).
2. Importance weights from the exact likelihood of everything measured (`engines.likelihood`:
   every curve at its actual fields, temperatures, directions and ranges, one chi_dia and f_m,
   optional mean field, the noise of curves without a level integrated out):
     log w_i = log prior(theta_i) + log L(theta_i) - log q(theta_i),
   normalised; effective sample size ESS = (sum w)^2 / sum w^2.
3. Route: "importance" when ESS >= min_ess and ESS / N >= min_ess_fraction (the posterior is the
   N draws resampled by weight); otherwise "smc": tempered SMC (`engines.sample.run_sample`)
   from r = (1 - eps) m + eps prior to the posterior, r^(1-beta) (prior L)^beta, m a Gaussian
   mixture fitted to the amortized draws joined by one component per optimum of a global fit
   started from the draws' modes (`engines.sample.fit_reference`; a narrow mode the network
   underweights is then still in r), started from draws of r, where its estimated time fits `budget_min` (`engines.route`); beyond
   that (costly finite-field or M(H) curves) "fit-importance": the best amortized draws start the
   global fit and the posterior is importance-sampled around its optima (`engines.importance`).
   Either way the reported posterior is the exact one, with its ESS.
4. Modes: the best distinct posterior draws (modulo the model's symmetry group, folded) start the
   engines' multi-start Levenberg-Marquardt fit (`engines.fit.run_fit`), which lists the distinct
   optima with errors; each gets the share of posterior draws nearest to it.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.engines import exported
from lfjax.engines import likelihood as lk
from lfjax.errors import ConfigError, ModelMismatchError
from lfjax.inference import proposal as prop

ROUTES = ("auto", "importance", "smc", "fit-importance")
#: Draws evaluated together (vmap) inside the sequential map of `_log_target`.
LOG_TARGET_BATCH = 16


@dataclasses.dataclass(frozen=True)
class SetInferConfig:
    """Everything `run_infer_set` needs (paths: a set TOML, or data files)."""

    data: tuple[Path, ...]
    model: str = "default"
    samples: int = 2000
    seed: int = 0
    route: str = "auto"
    min_ess: float = 100.0
    min_ess_fraction: float = 0.05
    smc_particles: int = 1000
    smc_mcmc: int = 10
    defensive: float = 0.1
    mean_field: bool | None = None
    noise: float | None = None
    starts: int = 8
    max_modes: int = 6
    refine: bool = True
    budget_min: float = 10.0
    fit_importance_draws: int = 2000
    read_options: tuple[tuple[str, object], ...] = ()

    def __post_init__(self):
        if self.route not in ROUTES:
            raise ConfigError(f"route must be one of {', '.join(ROUTES)}; got {self.route!r}")
        if self.samples < 10 or self.smc_particles < 10:
            raise ConfigError(f"samples and SMC particles must be >= 10; got {self.samples}, {self.smc_particles}")
        if not 0 <= self.defensive < 1:
            raise ConfigError(f"defensive must be in [0, 1); got {self.defensive}")


@dataclasses.dataclass(frozen=True, eq=False)
class Importance:
    """Draws of the proposal, their log q, log target and normalised weights; ESS."""

    theta: np.ndarray
    log_q: np.ndarray
    log_target: np.ndarray
    weights: np.ndarray
    ess: float

    @property
    def ess_fraction(self) -> float:
        return self.ess / self.theta.shape[0]

    @property
    def log_evidence(self) -> float:
        """log mean of the unnormalised weights (the prior's Gaussian constants left out)."""
        lw = self.log_target - self.log_q
        lw = lw[np.isfinite(lw)]
        return float(np.logaddexp.reduce(lw) - np.log(self.theta.shape[0])) if lw.size else float("-inf")


@dataclasses.dataclass(frozen=True, eq=False)
class SetInferResult:
    """The outcome of `run_infer_set`."""

    config: SetInferConfig
    model_name: str
    measurement_set: object
    problem: lk.Problem
    data: tuple
    observed: prop.ObservedCurve
    ood: dict
    importance: Importance
    route: str
    smc: object
    fit_importance: object
    samples: np.ndarray
    folded: np.ndarray
    fit: object
    posterior_mass: tuple[float, ...]
    warnings: tuple[str, ...]
    timings_s: dict


@functools.partial(jax.jit, static_argnames=("problem",))
def _log_target_batch(problem, theta, data):
    """(B,) log prior + log likelihood of each row of theta (B, n_theta)."""
    out = jax.vmap(lambda t: lk.log_prior(problem, t) + lk.log_likelihood(problem, t, data))(theta)
    return jnp.where(jnp.isnan(out), -jnp.inf, out)


def _log_target(problem, theta, data) -> np.ndarray:
    """(n,) log prior + log likelihood, in fixed batches of LOG_TARGET_BATCH rows (one compilation, bounded memory)."""
    theta = np.asarray(theta, np.float64)
    n = theta.shape[0]
    pad = (-n) % LOG_TARGET_BATCH
    padded = np.concatenate([theta, np.repeat(theta[:1], pad, axis=0)]) if pad else theta
    out = [np.asarray(exported.call("infer.log_target", _log_target_batch, (problem,),
                                    jnp.asarray(padded[i:i + LOG_TARGET_BATCH]), data))
           for i in range(0, padded.shape[0], LOG_TARGET_BATCH)]
    return np.concatenate(out)[:n]


def importance_weights(problem: lk.Problem, data, theta: np.ndarray, log_q: np.ndarray) -> Importance:
    """Self-normalised importance weights of draws theta (n, n_theta) with proposal density log q (n,)."""
    with jax.enable_x64(True):
        log_t = np.asarray(_log_target(problem, jnp.asarray(theta, jnp.float64), lk.to_jax(data)))
    lw = log_t - log_q
    lw = np.where(np.isfinite(lw), lw, -np.inf)
    if not np.isfinite(lw).any():
        w = np.zeros_like(lw)
        ess = 0.0
    else:
        w = np.exp(lw - lw.max())
        w = w / w.sum()
        ess = float(1.0 / np.sum(w**2))
    return Importance(theta=np.asarray(theta), log_q=np.asarray(log_q), log_target=log_t, weights=w, ess=ess)


def systematic_resample(weights: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n indices drawn by systematic resampling of normalised weights."""
    u = (np.random.default_rng(seed).random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(weights), u), weights.size - 1)


def build_problem(mset, model, *, mean_field=None, noise=None) -> tuple[lk.Problem, tuple]:
    """The engines problem of the set with the model's spec, priors (chi_dia, f_m) and mean field."""
    from lfjax.data.prior import model_spec_of
    from lfjax.spec import model_spec

    cfg = model.config.data
    if mset.ion is not None:
        from lfjax.physics import ion as make_ion

        wanted = make_ion(mset.ion)
        if (wanted.j, wanted.g) != (model.ion.j, model.ion.g):
            raise ModelMismatchError(f"the set is {wanted.name} but the model was trained for {model.ion.name}; "
                                     "use a model of this ion, or `lfjax sample`")
    spec = model_spec(cfg.ion, preset="DE") if cfg.is_de else model_spec_of(cfg)
    if cfg.has_mean_field and mean_field is False:
        raise ModelMismatchError("the model draws a mean field lambda; infer with the mean field (drop --no-mean-field)")
    mean_field = bool(cfg.has_mean_field or mean_field or mset.options.get("mean_field", False))
    if cfg.is_de and noise is None and all(c.noise is None for c in mset.curves):
        noise = float(cfg.noise_rel)  # the default model's error model, as in `lfjax fit`
    priors = lk.Priors(sigma_dia_emu_per_mol=float(cfg.sigma_dia_emu_per_mol), sigma_m=float(cfg.sigma_m))
    problem, data = lk.build(mset.curves, spec, mean_field=mean_field, priors=priors,
                             wedge_d_max_k=float(cfg.d_max_k) if cfg.is_de else None, noise=noise)
    prop.check_compatible(model, problem)
    return problem, data


def _draw_mode_starts(problem: lk.Problem, imp, max_modes: int) -> np.ndarray:
    """`mode_starts` of the amortized draws (folded), ranked by their exact log posterior."""
    from lfjax.engines.sample import fold_samples

    return mode_starts(problem, fold_samples(problem, imp.theta), imp.log_target, max_modes)


def mode_starts(problem: lk.Problem, folded: np.ndarray, log_post: np.ndarray, max_modes: int,
                radius: float = 0.05) -> np.ndarray:
    """Up to max_modes folded draws, best log posterior first, at least `radius` prior half-widths apart."""
    scale = problem.theta_scale()
    kept: list[int] = []
    for i in np.argsort(-np.where(np.isfinite(log_post), log_post, -np.inf)):
        if not np.isfinite(log_post[i]):
            break
        if all(np.linalg.norm((folded[i] - folded[j])[: problem.n_free] / scale[: problem.n_free]) > radius for j in kept):
            kept.append(int(i))
        if len(kept) >= max_modes:
            break
    return folded[kept]


def masses(problem: lk.Problem, folded: np.ndarray, solutions) -> tuple[float, ...]:
    """Share of the folded posterior draws nearest (scaled distance, folded) to each folded solution."""
    from lfjax.engines.sample import fold_samples

    if not solutions:
        return ()
    k = problem.n_free
    scale = problem.theta_scale()[:k]
    sols = fold_samples(problem, np.stack([s.theta for s in solutions]))[:, :k]
    d = np.linalg.norm((folded[:, None, :k] - sols[None]) / scale, axis=-1)
    nearest = np.argmin(d, axis=1)
    return tuple(float(np.mean(nearest == i)) for i in range(len(solutions)))


def run_infer_set(config: SetInferConfig, model=None, progress=None) -> SetInferResult:
    """Reads the set, draws the amortized posterior, corrects it, refines its modes (module docstring).

    progress: optional callable(message) told of the stages after the importance weights.
    """
    from lfjax.engines.fit import run_fit
    from lfjax.engines.sample import fit_reference, fold_samples, run_sample, seeding_fit
    from lfjax.io.measurement_set import read_measurement_set
    from lfjax.models.trained import load_model

    say = progress or (lambda message: None)
    clock = {"start": time.perf_counter()}
    model = load_model(config.model) if model is None else model
    clock["load"] = time.perf_counter()
    paths = [str(p) for p in config.data]
    mset = read_measurement_set(paths[0] if len(paths) == 1 else paths, **dict(config.read_options))
    problem, data = build_problem(mset, model, mean_field=config.mean_field, noise=config.noise)
    obs = prop.observed_curve(mset, model)
    warnings = list(mset.warnings) + list(obs.warnings)
    ood = model.ood_scores(obs.chi_t_on_grid, t_cut_k=obs.t_cut_k)
    if bool(np.asarray(ood["flagged"])):
        warnings.append(f"{obs.label!r} looks out of the training distribution (latent distance "
                        f"{float(ood['latent_distance']):.2f}, threshold {ood['thresholds']['latent_distance']:.2f}; "
                        f"reconstruction {100 * float(ood['recon_rel_rms']):.2f} %, threshold "
                        f"{100 * ood['thresholds']['recon_rel_rms']:.2f} %): expect a low ESS")
    clock["read"] = time.perf_counter()
    key = jax.random.key(config.seed)
    theta, log_q = prop.proposal(model, obs, problem, config.samples, jax.random.fold_in(key, 0))
    imp = importance_weights(problem, data, theta, log_q)
    clock["importance"] = time.perf_counter()
    low = imp.ess < config.min_ess or imp.ess_fraction < config.min_ess_fraction
    route = config.route
    if route == "auto":
        route = "importance"
        if low:
            from lfjax.engines.route import choose_route

            choice, estimate = choose_route(problem, data, config.smc_particles, config.smc_mcmc, config.budget_min)
            route = "smc" if choice == "smc" else "fit-importance"
            say(f"ESS {imp.ess:.1f} of {imp.theta.shape[0]} draws is low: SMC estimated at {estimate / 60:.1f} min "
                f"(budget {config.budget_min:g} min) -> {route}")
    smc = fit = fit_imp = None
    if route == "importance":
        if imp.ess == 0:
            raise ModelMismatchError("every amortized draw has zero posterior density (outside the prior or "
                                     "non-finite likelihood); use --route smc or `lfjax sample`")
        idx = systematic_resample(imp.weights, config.samples, config.seed)
        samples, log_post = imp.theta[idx], imp.log_target[idx]
    elif route == "smc":
        seeds = seeding_fit(problem, data, config.starts, seed=config.seed,
                            extra_starts=_draw_mode_starts(problem, imp, config.max_modes),
                            progress=lambda message: say(f"fit: {message}"))
        say(f"SMC from the amortized proposal and {len(seeds.solutions)} fitted optima: {config.smc_particles} particles")
        ref = fit_reference(problem, data, seeds, config.smc_particles, seed=config.seed,
                            particles=imp.theta[np.isfinite(imp.log_target)], defensive=config.defensive)
        smc = run_sample(problem, data, n_particles=config.smc_particles, n_mcmc=config.smc_mcmc, seed=config.seed,
                         reference=ref)
        samples = smc.samples
        with jax.enable_x64(True):
            log_post = np.asarray(_log_target(problem, jnp.asarray(samples), lk.to_jax(data)))
    else:  # fit-importance: the amortized draws start the fit, the posterior is sampled around its optima
        from lfjax.engines.importance import run_importance

        fit = run_fit(problem, data, n_starts=config.starts, seed=config.seed,
                      extra_starts=_draw_mode_starts(problem, imp, config.max_modes),
                      progress=lambda message: say(f"fit: {message}"))
        say(f"importance sampling around {len(fit.solutions)} optima: {config.fit_importance_draws} draws per round")
        fit_imp = run_importance(problem, data, fit, n_draws=config.fit_importance_draws, seed=config.seed)
        samples = fit_imp.samples
    folded = fold_samples(problem, samples)
    clock["posterior"] = time.perf_counter()
    if config.refine and fit is None:
        starts = mode_starts(problem, folded, log_post, config.max_modes)
        fit = run_fit(problem, data, n_starts=config.starts, seed=config.seed, extra_starts=starts)
    clock["refine"] = time.perf_counter()
    names = ("load_model", "read_and_check", "importance", "posterior", "refine")
    marks = list(clock.values())
    timings = {n: b - a for n, a, b in zip(names, marks[:-1], marks[1:])} | {"total": marks[-1] - marks[0]}
    return SetInferResult(config=config, model_name=str(config.model), measurement_set=mset, problem=problem,
                          data=data, observed=obs, ood=ood, importance=imp, route=route, smc=smc,
                          fit_importance=fit_imp, samples=samples,
                          folded=folded, fit=fit, posterior_mass=masses(problem, folded, fit.solutions if fit else ()),
                          warnings=tuple(warnings), timings_s=timings)
