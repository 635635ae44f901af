"""Powder M(H) of Er3+ in a D3d field: speed of three implementations and accuracy of the default rule.

One run measures, on the same parameter sets drawn from the comparable-energy prior
(`presets.prior_ranges`, 500 K per term):

  lfjax        `magnetization` (float32, jitted; default wedge rule of `sphere.powder_quadrature`,
               mirror-plane directions in real arithmetic; eigensolvers on every core through
               `physics._host_eigh`)
  lfjax_jaxlib_eigh  the same with jaxlib's eigh inside the jitted function (`_host_eigh.disabled`)
  plain_jnp    batched jnp.linalg.eigh of every (curve, field, direction) on the full hemisphere at
               the default rule's resolution, complex64, textbook thermal mean (`models._plain_mh`)
  numpy_loop   one np.linalg.eigh per curve, field and direction (float64, McPhase-style,
               `models._numpy_mh_loop`), timed on a few curves and extrapolated
  mcphase      McPhase's compiled cf1ion (where `libmcphase` is installed): one `magnetisation`
               sweep of the 20 fields per direction of the same hemisphere rule (`_mcphase`)

at 2 K and 20 fields from 0.35 to 7 T; and the accuracy of the default rule against a fine product
rule (`FINE_RULE`, float64) at 2 K, 100 Oe / 1 T / 7 T, over prior draws and three harder classes:
Ising-like ground doublets (B20 < 0 dominant), weak ligand fields (each term <= 30 K) and
moderate ones (<= 100 K). Each class reports the quadrature error alone (float64 default rule) and
the end-to-end error of the float32 path. The load average is recorded at the start and the end
(the machine is shared; rates scale with the free CPU).
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.benchmarking import _mcphase
from lfjax.benchmarking.models import _numpy_mh_loop, _plain_mh
from lfjax.physics import _host_eigh
from lfjax.physics import ion as make_ion
from lfjax.physics.magnetization import magnetization
from lfjax.physics.presets import prior_ranges
from lfjax.physics.sphere import default_rule, field_symmetry, powder_quadrature

NAMES = ("B20", "B40", "B43", "B60", "B63", "B66")
#: (n_theta, n_phi) of the reference rule for the accuracy check.
FINE_RULE = (64, 96)
TEMP_K = 2.0
SPEED_FIELDS_OE = np.linspace(3500.0, 70000.0, 20)
ACCURACY_FIELDS_OE = np.array([100.0, 1e4, 7e4])
#: Bound the tests and this benchmark hold the default rule to (relative, vs `FINE_RULE`).
BOUND = 2e-3
#: Rules timed and checked beside the default, (n_theta, n_phi): the previous D3d default.
OTHER_RULES = ((6, 18),)


def prior_draws(the_ion, n: int, rng, scale_k: float = 500.0) -> np.ndarray:
    """(n, 6) D3d parameters (K), uniform in `prior_ranges(the_ion, "D3d", scale_k)`."""
    high = np.array([prior_ranges(the_ion, NAMES, scale_k)[nm][1] for nm in NAMES])
    return rng.uniform(-1.0, 1.0, (n, len(NAMES))) * high


def ising_draws(the_ion, n: int, rng) -> np.ndarray:
    """(n, 6) with B20 in -(0.5..1) x its prior bound and the other terms within 20 % of theirs.

    The ground doublet is then |+-15/2>-like (g_par near 2 g J, g_perp near 0): the integrand
    M(b) . b is a step of width ~ k_B T / (g_par mu_B B) in cos theta at the equator.
    """
    p = prior_draws(the_ion, n, rng) * 0.2
    p[:, 0] = -rng.uniform(0.5, 1.0, n) * prior_ranges(the_ion, NAMES)["B20"][1]
    return p


def draw_classes(the_ion, n_prior: int, n_hard: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Parameter sets per accuracy class (see the module docstring)."""
    rng = np.random.default_rng(seed)
    return {"prior_500K": prior_draws(the_ion, n_prior, rng), "ising": ising_draws(the_ion, n_hard, rng),
            "weak_30K": prior_draws(the_ion, n_hard, rng, 30.0),
            "moderate_100K": prior_draws(the_ion, n_hard, rng, 100.0)}


def _powder(the_ion, values, fields, dtype, **rule):
    params = dict(zip(NAMES, jnp.asarray(values.T, dtype)))
    temps = jnp.full(fields.shape, TEMP_K, dtype)
    return np.asarray(magnetization(the_ion, params, temps, jnp.asarray(fields, dtype), dtype=dtype, **rule),
                      np.float64)


def accuracy(the_ion, classes: dict[str, np.ndarray], fields=ACCURACY_FIELDS_OE, batch: int = 32,
             other_rules=OTHER_RULES) -> dict:
    """Relative error of the default rule vs `FINE_RULE` per class and field (float64 and float32).

    Per class: the max per field, the max, the 99.5 % quantile over draws and how many draws exceed
    `BOUND`; `other_rules` ((n_theta, n_phi), float64) for comparison. All classes go through in
    batches of one shape (the last one padded), so each rule compiles once.
    """
    values = np.concatenate(list(classes.values()))
    batch = min(batch, values.shape[0])
    n_pad = -values.shape[0] % batch
    padded = np.concatenate([values, np.repeat(values[-1:], n_pad, axis=0)])
    errs = {"quadrature_f64": [], "end_to_end_f32": []} | {f"quadrature_f64_{a}x{b}": [] for a, b in other_rules}
    for start in range(0, padded.shape[0], batch):
        part = padded[start:start + batch]
        with jax.enable_x64(True):
            fine = _powder(the_ion, part, fields, jnp.float64, n_theta=FINE_RULE[0], n_phi=FINE_RULE[1])
            errs["quadrature_f64"].append(np.abs(_powder(the_ion, part, fields, jnp.float64) / fine - 1))
            for a, b in other_rules:
                other = _powder(the_ion, part, fields, jnp.float64, n_theta=a, n_phi=b)
                errs[f"quadrature_f64_{a}x{b}"].append(np.abs(other / fine - 1))
        errs["end_to_end_f32"].append(np.abs(_powder(the_ion, part, fields, jnp.float32) / fine - 1))
    errs = {k: np.concatenate(v)[:values.shape[0]] for k, v in errs.items()}
    out, start = {}, 0
    for label, vals in classes.items():
        sl = slice(start, start + vals.shape[0])
        start += vals.shape[0]
        row = {"n": int(vals.shape[0]), "fields_oe": fields.tolist()}
        for key, e in errs.items():
            e = e[sl]
            row[key] = e.max(0).tolist()
            row[f"max_{key}"] = float(e.max())
            row[f"q995_{key}"] = float(np.quantile(e.max(1), 0.995))
            row[f"n_above_bound_{key}"] = int(np.sum(e.max(1) > BOUND))
        out[label] = row
    return out


def _jit_timed(fn, arg, repeats: int):
    """(output, first call s (compile + run), best of `repeats` steady-state calls s)."""
    jitted = jax.jit(fn)
    t0 = time.perf_counter()
    out = jax.block_until_ready(jitted(arg))
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(jitted(arg))
        best = min(best, time.perf_counter() - t0)
    return out, first, best


def run(n_curves: int = 64, n_loop: int = 1, n_prior: int = 200, n_hard: int = 40, seed: int = 0,
        repeats: int = 5, log=lambda s: None) -> dict:
    """Timing of lfjax / plain_jnp / numpy_loop and the accuracy table, as one JSON-ready dict."""
    er = make_ion("Er3+")
    load_start = os.getloadavg()
    n_rot, mirror = field_symmetry(NAMES)
    n_theta, n_phi = default_rule(n_rot)
    n_wedge = powder_quadrature(n_rot, mirror)[0].shape[0]
    values = prior_draws(er, n_curves, np.random.default_rng(seed + 1))
    v32, f32 = jnp.asarray(values, jnp.float32), jnp.asarray(SPEED_FIELDS_OE, jnp.float32)
    lib = lambda v: magnetization(er, dict(zip(NAMES, v.T)), jnp.float32(TEMP_K), f32, dtype=jnp.float32)
    out, first, secs = _jit_timed(lib, v32, repeats)
    with _host_eigh.disabled():
        _, jl_first, jl_secs = _jit_timed(lambda v: lib(v), v32, repeats)
    plain_out, plain_first, plain_secs = _jit_timed(
        lambda v: _plain_mh(er, NAMES, v, jnp.float32(TEMP_K), f32, n_theta, n_phi), v32, max(1, repeats // 2))
    t0 = time.perf_counter()
    loop_out = _numpy_mh_loop(er, NAMES, values[:n_loop], TEMP_K, SPEED_FIELDS_OE, n_theta, n_phi)
    loop_secs = time.perf_counter() - t0
    with jax.enable_x64(True):
        ref = _powder(er, values[:max(n_loop, 4)], SPEED_FIELDS_OE, jnp.float64)
    rows = {
        "lfjax": {"n": n_curves, "seconds": secs, "curves_per_s": n_curves / secs, "first_call_s": first,
                  "directions": n_wedge, "max_rel_diff_vs_f64": float(np.max(np.abs(np.asarray(out)[:4] / ref[:4] - 1)))},
        "lfjax_jaxlib_eigh": {"n": n_curves, "seconds": jl_secs, "curves_per_s": n_curves / jl_secs,
                              "first_call_s": jl_first, "directions": n_wedge},
        "plain_jnp": {"n": n_curves, "seconds": plain_secs, "curves_per_s": n_curves / plain_secs,
                      "first_call_s": plain_first, "directions": n_theta * n_phi,
                      "max_rel_diff_vs_f64": float(np.max(np.abs(np.asarray(plain_out)[:4] / ref[:4] - 1)))},
        "numpy_loop": {"n": n_loop, "seconds": loop_secs, "curves_per_s": n_loop / loop_secs, "extrapolated": True,
                       "directions": n_theta * n_phi,
                       "max_rel_diff_vs_f64": float(np.max(np.abs(loop_out / ref[:n_loop] - 1)))},
    }
    if _mcphase.available():
        t0 = time.perf_counter()
        mc_out = _mcphase.powder_magnetization(er.name, NAMES, values[:n_loop], TEMP_K, SPEED_FIELDS_OE, n_theta, n_phi)
        mc_secs = time.perf_counter() - t0
        rows["mcphase"] = {"n": n_loop, "seconds": mc_secs, "curves_per_s": n_loop / mc_secs, "extrapolated": True,
                           "directions": n_theta * n_phi,
                           "max_rel_diff_vs_f64": float(np.max(np.abs(mc_out / ref[:n_loop] - 1)))}
    for a, b in OTHER_RULES:
        other = lambda v, a=a, b=b: magnetization(er, dict(zip(NAMES, v.T)), jnp.float32(TEMP_K), f32,
                                                  dtype=jnp.float32, n_theta=a, n_phi=b)
        _, o_first, o_secs = _jit_timed(other, v32, repeats)
        rows[f"lfjax_{a}x{b}"] = {"n": n_curves, "seconds": o_secs, "curves_per_s": n_curves / o_secs,
                                  "first_call_s": o_first, "directions": powder_quadrature(n_rot, mirror, a, b)[0].shape[0]}
    for key, row in rows.items():
        log(f"{key}: {row['curves_per_s']:.4g} curves/s ({row['directions']} directions x 20 fields)")
    acc = accuracy(er, draw_classes(er, n_prior, n_hard, seed))
    for label, row in acc.items():
        log(f"{label} (n={row['n']}): quadrature max {row['max_quadrature_f64']:.1e} "
            f"(99.5 % {row['q995_quadrature_f64']:.1e}, {row['n_above_bound_quadrature_f64']} above {BOUND:g}); "
            f"float32 end to end max {row['max_end_to_end_f32']:.1e} (per field {row['fields_oe']}: "
            + ", ".join(f"{e:.1e}" for e in row["end_to_end_f32"]) + "); "
            + "; ".join(f"{a}x{b}: max {row[f'max_quadrature_f64_{a}x{b}']:.1e}, "
                        f"{row[f'n_above_bound_quadrature_f64_{a}x{b}']} above" for a, b in OTHER_RULES))
    return {
        "quantity": "Er3+ D3d powder M(H), 2 K, 20 fields 0.35-7 T, float32",
        "rule": {"n_theta": n_theta, "n_phi": n_phi, "wedge_directions": n_wedge,
                 "fine_rule": list(FINE_RULE), "bound": BOUND},
        "rows": rows, "speedup_vs_plain_jnp": rows["lfjax"]["curves_per_s"] / rows["plain_jnp"]["curves_per_s"],
        "speedup_vs_numpy_loop": rows["lfjax"]["curves_per_s"] / rows["numpy_loop"]["curves_per_s"],
        "speedup_vs_mcphase": (rows["lfjax"]["curves_per_s"] / rows["mcphase"]["curves_per_s"]
                               if "mcphase" in rows else None),
        "accuracy": acc, "loadavg_start": list(load_start), "loadavg_end": list(os.getloadavg()),
        "jax": jax.__version__, "cpu_count": os.cpu_count(), "host_eigh_threads": _host_eigh.n_threads(),
    }
