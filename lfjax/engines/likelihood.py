"""One likelihood for a whole measurement set: every curve, one (chi_dia, f_m) per sample, optional lambda.

Parameter vector theta (physical units): the free ligand-field parameters (K, in the order of
`Problem.free`), then chi_dia (emu/mol per ion), f_m, and the mean field lambda (mol/emu) when
fitted. Fixed ligand-field parameters (`--fix NAME=VALUE`) are inserted from `Problem.fixed`.

Error model per curve c (PHYSICS.md), with the simulated value s_i of point i:
  chi curves:  y_i = f_m s_i + chi_dia                     (emu/mol per ion)
  M(H) curves: y_i = f_m s_i + chi_dia H_i / (N_A mu_B)    (mu_B per ion; N_A mu_B = 5584.939 emu/mol)
Weighted residuals r_i = (y_i - d_i) / (w_i sigma_c), with w_i = |d_i| for chi (relative noise;
the same for chi and chi T), and w_i = max(|d_i|, 0.05 max_c |d|) for M(H) (relative noise with a
floor near H = 0). Priors add the residuals chi_dia / sigma_dia, (f_m - 1) / sigma_m,
lambda / sigma_lambda. The objective is the sum of all squared weighted residuals (what the fit
minimises); with known sigma_c, log posterior = -objective / 2 + const.

For the sampler, a curve whose noise is unknown is scored with sigma_c integrated out under a
Jeffreys prior p(sigma) ~ 1/sigma: log L_c = -(n_c / 2) log RSS_c + const (RSS_c = the sum of
squared relative residuals). The ligand-field prior is uniform on the spec's ranges; for the
(D, E) preset it is uniform on the canonical wedge |D| <= d_max mapped to all six equivalents.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.constants import NA_MUB_EMU_PER_MOL
from lfjax.engines._simulator import curve_values
from lfjax.errors import UserInputError
from lfjax.physics._serial import after
from lfjax.physics.equivalents import equivalents
from lfjax.physics.ions import Ion
from lfjax.spec import ModelSpec

MH_FLOOR = 0.05
NUISANCES = ("chi_dia_emu_per_mol", "f_m")
MEAN_FIELD = "mean_field_mol_per_emu"


@dataclasses.dataclass(frozen=True)
class Priors:
    """Gaussian priors of the nuisances: chi_dia ~ N(0, sigma_dia), f_m ~ N(1, sigma_m), lambda ~ N(0, sigma_lambda)."""

    sigma_dia_emu_per_mol: float = 0.002
    sigma_m: float = 0.02
    sigma_lambda_mol_per_emu: float = 1.0

    def __post_init__(self):
        for name, value in dataclasses.asdict(self).items():
            if not value > 0:
                raise UserInputError(f"prior width {name} must be > 0; got {value}; give a positive width")


@dataclasses.dataclass(frozen=True)
class CurveInfo:
    """What is static about a curve: kind ("chi" | "mh"), direction, points, and a shared field.

    `field_oe` is a float when every point has the same field (0.0 = zero-field linear
    response), else None (a field per point).
    """

    kind: str
    direction: object
    n: int
    field_oe: float | None
    label: str
    noise: float | None


@dataclasses.dataclass(frozen=True)
class Problem:
    """The static part of the likelihood (hashable: a jit key).

    Attributes:
      spec: the model (ion, parameter names in order, Stevens constraint, symmetry maps).
      free: the fitted ones; fixed: ((name, value K), ...) the others.
      ranges: ((lo, hi) K, ...) prior box of each free parameter.
      wedge_d_max_k: for the (D, E) preset: the canonical wedge size (prior = wedge and its six
        images); None otherwise.
      curves: per-curve static info; mean_field: whether lambda is fitted; priors: nuisance priors.
    """

    spec: ModelSpec
    free: tuple[str, ...]
    fixed: tuple[tuple[str, float], ...]
    ranges: tuple[tuple[float, float], ...]
    wedge_d_max_k: float | None
    curves: tuple[CurveInfo, ...]
    mean_field: bool
    priors: Priors

    @property
    def ion(self) -> Ion:
        return self.spec.ion

    @property
    def names(self) -> tuple[str, ...]:
        return self.spec.names

    @property
    def theta_names(self) -> tuple[str, ...]:
        return self.free + NUISANCES + ((MEAN_FIELD,) if self.mean_field else ())

    @property
    def n_theta(self) -> int:
        return len(self.theta_names)

    @property
    def n_free(self) -> int:
        return len(self.free)

    @property
    def n_points(self) -> int:
        return sum(c.n for c in self.curves)

    def theta_scale(self) -> np.ndarray:
        """A typical size of each theta entry (half the prior range; prior widths): LM units."""
        lf = [max(abs(lo), abs(hi), 1e-12) / 2 if lo == -hi else (hi - lo) / 2 for lo, hi in self.ranges]
        nuis = [self.priors.sigma_dia_emu_per_mol, self.priors.sigma_m]
        if self.mean_field:
            nuis.append(self.priors.sigma_lambda_mol_per_emu)
        return np.asarray(lf + nuis, dtype=float)

    def theta_center(self) -> np.ndarray:
        lf = [(lo + hi) / 2 for lo, hi in self.ranges]
        return np.asarray(lf + [0.0, 1.0] + ([0.0] if self.mean_field else []), dtype=float)


def _direction_key(direction):
    if isinstance(direction, str):
        return direction
    vec = np.asarray(direction, dtype=float).ravel()
    return tuple(float(v) for v in vec / np.linalg.norm(vec))


def build(
    curves,
    spec: ModelSpec,
    *,
    fixed=None,
    mean_field: bool = False,
    priors: Priors = Priors(),
    wedge_d_max_k: float | None = None,
    noise=None,
):
    """Static problem and data arrays from a list of curves.

    Args:
      curves: objects with kind, temps_k, fields_oe, values, direction, noise, label
        (`lfjax.io.Curve`); chi in emu/mol per ion, M in mu_B per ion.
      spec: the model (`lfjax.model_spec`); its ranges are the prior box in K.
      fixed: dict name -> value (K) held fixed.
      noise: relative noise for every curve (overrides each curve's own), or None.

    Returns:
      (Problem, data): data is a tuple of per-curve dicts of float64 numpy arrays
      (temps_k, fields_oe, values, weight).
    """
    fixed = dict(fixed or {})
    names = spec.names
    unknown = [n for n in fixed if n not in names]
    if unknown:
        raise UserInputError(f"--fix names {', '.join(unknown)} not in the model; expected some of {', '.join(names)}")
    ranges = np.asarray(spec.ranges, dtype=float).reshape(len(names), 2)
    free = tuple(n for n in names if n not in fixed)
    infos, data = [], []
    for i, c in enumerate(curves):
        kind = "chi" if c.kind in ("chi", "mt") else c.kind
        if kind not in ("chi", "mh"):
            raise UserInputError(f"curve kind must be 'chi' or 'mh'; got {c.kind!r}")
        temps = np.asarray(c.temps_k, dtype=float).ravel()
        fields = np.broadcast_to(np.asarray(c.fields_oe, dtype=float), temps.shape).copy()
        values = np.asarray(c.values, dtype=float).ravel()
        if values.size == 0:
            raise UserInputError(f"curve {getattr(c, 'label', i)!r} has no points; widen its ranges")
        same = bool(np.all(np.abs(fields - np.median(fields)) <= 1e-6 * max(1.0, abs(np.median(fields)))))
        if kind == "mh":
            weight = np.maximum(np.abs(values), MH_FLOOR * np.max(np.abs(values)))
            same = False
        else:
            weight = np.abs(values)
        c_noise = noise if noise is not None else getattr(c, "noise", None)
        infos.append(CurveInfo(kind=kind, direction=_direction_key(c.direction), n=int(values.size),
                               field_oe=float(np.median(fields)) if same else None,
                               label=str(getattr(c, "label", "") or f"curve {i + 1}"),
                               noise=None if c_noise is None else float(c_noise)))
        data.append({"temps_k": temps, "fields_oe": fields, "values": values, "weight": weight})
    problem = Problem(spec=spec, free=free, fixed=tuple((n, float(v)) for n, v in fixed.items()),
                      ranges=tuple((float(lo), float(hi)) for (lo, hi), n in zip(ranges, names) if n in free),
                      wedge_d_max_k=wedge_d_max_k if free == ("D", "E") else None,
                      curves=tuple(infos), mean_field=bool(mean_field), priors=priors)
    return problem, tuple(data)


def thinned(problem: Problem, data, n_max: int):
    """The problem on at most `n_max` points per curve (for a cheap exploratory fit), and its data.

    A curve with more points keeps those nearest to `n_max` targets evenly spaced along its swept
    variable (log T for chi curves, where the information sits at low temperature; H for M(H)).
    Curves with at most `n_max` points and every static setting are kept as they are.
    """
    infos, out = [], []
    for info, d in zip(problem.curves, data):
        if info.n <= n_max:
            infos.append(info)
            out.append(d)
            continue
        x = np.log(d["temps_k"]) if info.kind == "chi" else d["fields_oe"]
        targets = np.linspace(np.min(x), np.max(x), n_max)
        idx = np.unique(np.argmin(np.abs(x[None, :] - targets[:, None]), axis=1))
        infos.append(dataclasses.replace(info, n=int(idx.size)))
        out.append({k: np.asarray(v)[idx] for k, v in d.items()})
    return dataclasses.replace(problem, curves=tuple(infos)), tuple(out)


def full_vector(problem: Problem, theta):
    """The spec's parameter vector (n_names,) of one theta: free ones from theta, fixed inserted."""
    free = dict(zip(problem.free, [theta[i] for i in range(problem.n_free)]))
    fixed = dict(problem.fixed)
    return jnp.stack([free[n] if n in free else jnp.asarray(fixed[n], theta.dtype) for n in problem.names])


def params_of(problem: Problem, theta) -> dict:
    """The Stevens parameter dict (K) of one theta, for the physics functions."""
    return problem.spec.stevens_params(full_vector(problem, theta))


def predict(problem: Problem, theta, data) -> tuple:
    """Model values of every curve for one theta (n_theta,), with the error model applied."""
    params = params_of(problem, theta)
    chi_dia, f_m = theta[problem.n_free], theta[problem.n_free + 1]
    lam = theta[problem.n_free + 2] if problem.mean_field else None
    out = []
    for info, d in zip(problem.curves, data):
        fields = info.field_oe if info.field_oe is not None else d["fields_oe"]
        if out:  # one curve's eigensolvers after the other's (`physics._serial`)
            params = after(params, out[-1])
        sim = curve_values(problem.ion, params, info.kind, info.direction, d["temps_k"], fields,
                           mean_field=lam, dtype=theta.dtype)
        if info.kind == "chi":
            out.append(f_m * sim + chi_dia)
        else:
            out.append(f_m * sim + chi_dia * d["fields_oe"] / NA_MUB_EMU_PER_MOL)
    return tuple(out)


@functools.partial(jax.jit, static_argnames=("problem",))
def predict_batch(problem: Problem, thetas, data) -> tuple:
    """`predict` for thetas (m, n_theta), one after the other (`lax.map`): per curve (m, n)."""
    return jax.lax.map(lambda t: predict(problem, t, data), thetas)


def relative_residuals(problem: Problem, theta, data) -> tuple:
    """Per-curve relative residuals (model - data) / w, without the noise level."""
    return tuple((m - d["values"]) / d["weight"] for m, d in zip(predict(problem, theta, data), data))


def prior_residuals(problem: Problem, theta):
    """(n_nuisance,) residuals of the Gaussian nuisance priors."""
    p = problem.priors
    k = problem.n_free
    res = [theta[k] / p.sigma_dia_emu_per_mol, (theta[k + 1] - 1.0) / p.sigma_m]
    if problem.mean_field:
        res.append(theta[k + 2] / p.sigma_lambda_mol_per_emu)
    return jnp.stack(res)


def weighted_residuals(problem: Problem, theta, data, sigmas):
    """All residuals the fit squares and sums: data (N,) divided by sigma_c, then the priors."""
    rel = relative_residuals(problem, theta, data)
    return jnp.concatenate([r / s for r, s in zip(rel, sigmas)] + [prior_residuals(problem, theta)])


def _nuisance_system(problem: Problem, theta, data, sigmas):
    """The weighted least-squares system of (chi_dia, f_m) at the rest of theta.

    The error model is linear in (chi_dia, f_m) and their priors are Gaussian, so for fixed
    ligand field and mean field the objective is quadratic in the pair: with a_i = s_i / (w_i
    sigma_c), x_i the chi_dia coefficient (1, or H_i / (N_A mu_B)) over w_i sigma_c and
    b_i = d_i / (w_i sigma_c), its minimum solves N (chi_dia, f_m) = r with
      N = [sum x^2 + 1/sd^2, sum x a; sum x a, sum a^2 + 1/sm^2],  r = (sum x b, sum a b + 1/sm^2).

    Returns:
      (theta with chi_dia = 0 and f_m = 1, x (N,), a (N,), b (N,), N (2, 2), r (2,)).
    """
    k = problem.n_free
    base = theta.at[k].set(0.0).at[k + 1].set(1.0)
    sims = predict(problem, base, data)  # f_m = 1, chi_dia = 0: the simulated values s_i
    a_m, a_dia, b = [], [], []
    for info, sim, d, sigma in zip(problem.curves, sims, data, sigmas):
        scale = 1.0 / (d["weight"] * sigma)
        coeff = jnp.ones_like(sim) if info.kind == "chi" else d["fields_oe"] / NA_MUB_EMU_PER_MOL
        a_m.append(sim * scale)
        a_dia.append(coeff * scale)
        b.append(d["values"] * scale)
    a_m, a_dia, b = jnp.concatenate(a_m), jnp.concatenate(a_dia), jnp.concatenate(b)
    p = problem.priors
    normal = jnp.stack([
        jnp.stack([jnp.sum(a_dia**2) + 1.0 / p.sigma_dia_emu_per_mol**2, jnp.sum(a_dia * a_m)]),
        jnp.stack([jnp.sum(a_dia * a_m), jnp.sum(a_m**2) + 1.0 / p.sigma_m**2]),
    ])
    rhs = jnp.stack([jnp.sum(a_dia * b), jnp.sum(a_m * b) + 1.0 / p.sigma_m**2])
    return base, a_dia, a_m, b, normal, rhs


def _solve_2x2(normal, rhs):
    det = normal[0, 0] * normal[1, 1] - normal[0, 1] ** 2
    return jnp.stack([normal[1, 1] * rhs[0] - normal[0, 1] * rhs[1],
                      normal[0, 0] * rhs[1] - normal[0, 1] * rhs[0]]) / det, det


def profiled_residuals(problem: Problem, theta, data, sigmas):
    """`weighted_residuals` at the best (chi_dia, f_m) for the rest of theta, and that theta.

    The best pair is a 2 x 2 linear solve (`_nuisance_system`; variable projection). The entries
    of theta at (chi_dia, f_m) are ignored. Differentiable (the Jacobian of the projected
    residuals is the exact one of the reduced problem).

    Returns:
      (residuals (N + n_nuisance,), theta with the profiled chi_dia and f_m (n_theta,)).
    """
    k = problem.n_free
    base, a_dia, a_m, b, normal, rhs = _nuisance_system(problem, theta, data, sigmas)
    (chi_dia, f_m), _ = _solve_2x2(normal, rhs)
    full = base.at[k].set(chi_dia).at[k + 1].set(f_m)
    return jnp.concatenate([f_m * a_m + chi_dia * a_dia - b, prior_residuals(problem, full)]), full


def nuisances_integrable(problem: Problem) -> bool:
    """True where every curve has a noise level: (chi_dia, f_m) then integrate out in closed form."""
    return all(c.noise is not None for c in problem.curves)


def integrated_nuisances(problem: Problem, theta, data):
    """`log_likelihood` with (chi_dia, f_m) integrated out under their prior, and their conditional.

    For known noise levels the likelihood times the nuisances' normalised Gaussian prior is a
    Gaussian in (chi_dia, f_m) (`_nuisance_system`): its integral is
      log L(rest) = -sum_c n_c log sigma_c - Q_min / 2 - log det(N) / 2 - log(sd sm),
    with Q_min the objective at the best pair, and the pair given the rest of theta is
    N(N^-1 r, N^-1). The entries of theta at (chi_dia, f_m) are ignored. Needs
    `nuisances_integrable(problem)`.

    Returns:
      (log L (scalar, -inf where not finite), conditional mean (2,), covariance (2, 2)), the pair in
      the order (chi_dia, f_m).
    """
    sigmas = [c.noise for c in problem.curves]
    _, a_dia, a_m, b, normal, rhs = _nuisance_system(problem, theta, data, sigmas)
    mean, det = _solve_2x2(normal, rhs)
    p = problem.priors
    q_min = (jnp.sum((mean[1] * a_m + mean[0] * a_dia - b) ** 2) + (mean[0] / p.sigma_dia_emu_per_mol) ** 2
             + ((mean[1] - 1.0) / p.sigma_m) ** 2)
    log_l = (-sum(c.n * np.log(c.noise) for c in problem.curves) - 0.5 * q_min - 0.5 * jnp.log(det)
             - np.log(p.sigma_dia_emu_per_mol * p.sigma_m))
    cov = jnp.stack([jnp.stack([normal[1, 1], -normal[0, 1]]), jnp.stack([-normal[0, 1], normal[0, 0]])]) / det
    return jnp.where(jnp.isfinite(log_l), log_l, -jnp.inf), mean, cov


@dataclasses.dataclass(frozen=True, eq=False)
class SampledTarget:
    """The density a sampler moves in: all of theta, or theta without (chi_dia, f_m) integrated out.

    Attributes:
      problem: the problem; integrated: whether (chi_dia, f_m) are integrated out;
      keep: (n_sampled,) indices of theta the sampler moves.
    """

    problem: Problem
    integrated: bool
    keep: np.ndarray

    def embed(self, t):
        """theta (n_theta,) of a sampled vector, the pair at its prior means (where its prior terms vanish)."""
        if not self.integrated:
            return t
        k = self.problem.n_free
        return jnp.zeros(self.problem.n_theta, t.dtype).at[self.keep].set(t).at[k + 1].set(1.0)

    def log_prior(self, t):
        return log_prior(self.problem, self.embed(t))

    def log_likelihood(self, t, data):
        if not self.integrated:
            return log_likelihood(self.problem, t, data)
        return integrated_nuisances(self.problem, self.embed(t), data)[0]

    def draw_prior(self, key, n: int):
        return draw_prior(self.problem, key, n)[:, self.keep]

    def complete(self, sampled, data, key):
        """Full theta (m, n_theta) of sampled vectors (m, n_sampled): (chi_dia, f_m) drawn from their
        Gaussian conditional (`integrated_nuisances`) where integrated out."""
        if not self.integrated:
            return sampled
        k = self.problem.n_free

        def one(t, z):
            full = self.embed(t)
            _, mean, cov = integrated_nuisances(self.problem, full, data)
            pair = mean + jnp.linalg.cholesky(cov) @ z
            return full.at[k].set(pair[0]).at[k + 1].set(pair[1])

        z = jax.random.normal(key, (sampled.shape[0], 2), sampled.dtype)
        return jax.jit(jax.vmap(one))(sampled, z)


def sampled_target(problem: Problem, integrate: bool | None = None) -> SampledTarget:
    """The sampler's target: (chi_dia, f_m) integrated out where `integrate` (default: wherever
    `nuisances_integrable` and another entry of theta is free): the same posterior and evidence
    with two dimensions fewer, and without the ridges the pair forms with the ligand field."""
    possible = nuisances_integrable(problem) and problem.n_theta > 2
    if integrate is None:
        integrate = possible
    elif integrate and not possible:
        raise ValueError("integrating (chi_dia, f_m) out needs a noise level on every curve and another free entry")
    k = problem.n_free
    keep = np.asarray([i for i in range(problem.n_theta) if not (integrate and i in (k, k + 1))])
    return SampledTarget(problem=problem, integrated=bool(integrate), keep=keep)


@functools.partial(jax.jit, static_argnames=("problem", "batch_size"))
def log_likelihood_batch(problem: Problem, theta, data, batch_size: int = 64):
    """(m,) `log_likelihood` of each row of theta (m, n_theta), `batch_size` rows at a time."""
    return jax.lax.map(lambda t: log_likelihood(problem, t, data), theta, batch_size=batch_size)


def log_prior(problem: Problem, theta):
    """Log prior density (up to a constant): ligand-field box or (D, E) wedge, Gaussian nuisances."""
    lf = theta[: problem.n_free]
    if problem.wedge_d_max_k is not None:
        eq = equivalents(lf[0], lf[1])
        inside = jnp.max(jnp.abs(eq[..., 0])) <= problem.wedge_d_max_k
    else:
        lo = jnp.asarray([r[0] for r in problem.ranges], theta.dtype)
        hi = jnp.asarray([r[1] for r in problem.ranges], theta.dtype)
        inside = jnp.all((lf >= lo) & (lf <= hi)) if problem.n_free else jnp.asarray(True)
    gauss = -0.5 * jnp.sum(prior_residuals(problem, theta) ** 2)
    return jnp.where(inside, gauss, -jnp.inf)


def with_noise(problem: Problem, sigmas) -> Problem:
    """The problem with every curve's relative noise level given (`sigmas`, one per curve).

    Conditioning on noise levels estimated by a fit (empirical Bayes) replaces the integrated
    term -(n_c / 2) log RSS_c of each curve by a Gaussian one, which no longer rewards trading one
    curve's misfit against another's.
    """
    sigmas = [float(s) for s in np.asarray(sigmas, float).reshape(-1)]
    if len(sigmas) != len(problem.curves) or not all(np.isfinite(s) and s > 0 for s in sigmas):
        raise ValueError(f"need one positive noise level per curve ({len(problem.curves)}); got {sigmas}")
    curves = tuple(dataclasses.replace(c, noise=s) for c, s in zip(problem.curves, sigmas))
    return dataclasses.replace(problem, curves=curves)


def log_likelihood(problem: Problem, theta, data):
    """Log likelihood (up to a constant): known noise Gaussian, unknown noise integrated (Jeffreys)."""
    total = 0.0
    for info, r in zip(problem.curves, relative_residuals(problem, theta, data)):
        rss = jnp.sum(r**2)
        if info.noise is not None:
            total = total - 0.5 * rss / info.noise**2 - info.n * np.log(info.noise)
        else:
            total = total - 0.5 * info.n * jnp.log(rss)
    return jnp.where(jnp.isfinite(total), total, -jnp.inf)


def log_prior_norm(problem: Problem) -> float:
    """log of the normalising constant Z of `log_prior` (so log_prior - log Z is a density)."""
    p = problem.priors
    widths = [p.sigma_dia_emu_per_mol, p.sigma_m] + ([p.sigma_lambda_mol_per_emu] if problem.mean_field else [])
    log_z = float(np.sum(np.log(np.sqrt(2 * np.pi) * np.asarray(widths))))
    if problem.wedge_d_max_k is not None:  # the wedge (area d_max^2 / 3) and its six images
        return log_z + float(np.log(2 * problem.wedge_d_max_k**2))
    return log_z + float(sum(np.log(hi - lo) for lo, hi in problem.ranges))


def draw_prior(problem: Problem, key, n: int, dtype=jnp.float64):
    """(n, n_theta) draws from the prior (ligand field uniform, nuisances Gaussian)."""
    k_lf, k_eq, k_nu = jax.random.split(key, 3)
    p = problem.priors
    if problem.wedge_d_max_k is not None:
        u = jax.random.uniform(k_lf, (n, 2), dtype)
        d = problem.wedge_d_max_k * jnp.sqrt(u[:, 0]) * jnp.where(u[:, 1] < 0.5, -1.0, 1.0)
        e = jax.random.uniform(k_eq, (n,), dtype) * jnp.abs(d) / 3
        which = jax.random.randint(jax.random.fold_in(k_eq, 1), (n,), 0, 6)
        lf = jnp.take_along_axis(equivalents(d, e), which[:, None, None], axis=1)[:, 0, :]
    elif problem.n_free:
        lo = jnp.asarray([r[0] for r in problem.ranges], dtype)
        hi = jnp.asarray([r[1] for r in problem.ranges], dtype)
        lf = lo + (hi - lo) * jax.random.uniform(k_lf, (n, problem.n_free), dtype)
    else:
        lf = jnp.zeros((n, 0), dtype)
    widths = [p.sigma_dia_emu_per_mol, p.sigma_m] + ([p.sigma_lambda_mol_per_emu] if problem.mean_field else [])
    means = [0.0, 1.0] + ([0.0] if problem.mean_field else [])
    nuis = jnp.asarray(means, dtype) + jnp.asarray(widths, dtype) * jax.random.normal(k_nu, (n, len(widths)), dtype)
    return jnp.concatenate([lf, nuis], axis=1)


def to_jax(data) -> tuple:
    """The data tuple as float64 JAX arrays (call inside `jax.enable_x64(True)`)."""
    return tuple({k: jnp.asarray(v, jnp.float64) for k, v in d.items()} for d in data)
