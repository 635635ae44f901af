"""Benchmark rows for general ligand-field models (Er3+, float32), each against two baselines.

Rows (same JSON as the eigh paths, key "model_rows"):
  chi_t_axial, chi_t_D3d, chi_t_general   zero-field powder chi T at 64 temperatures for the
                                          axial (B20, B40, B60), D3d (B20, B40, B43, B60, B63, B66)
                                          and general (all 27 Stevens terms) models
  mh_powder_D3d                           powder M(H) at 2 K, 20 fields (0.35-7 T), D3d
Each row times, in the same run: lfjax (the library call, jitted), `plain_jnp` (batched
jnp.linalg.eigh of the full matrices with the textbook sums: Van Vleck level form for chi T; the
full hemisphere at the same phi resolution for M(H)), and `numpy_loop` (McPhase-style: one
np.linalg.eigh per curve, and per field and direction for M(H), float64; timed on a few curves
and extrapolated), and, where `libmcphase` is installed, `mcphase`: McPhase's compiled cf1ion
one curve at a time (`_mcphase`: three `susceptibility` calls for a powder χT, one `magnetisation`
sweep per direction of the same hemisphere rule for M(H); timed on a few curves and extrapolated).
Each row reports the max relative difference of every implementation to a float64 lfjax reference;
the targets compare lfjax with McPhase (with numpy_loop where McPhase is absent).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.benchmarking import _mcphase, _numpy_baseline
from lfjax.constants import MUB_OVER_KB_K_PER_OE
from lfjax.physics import chi_t_powder, ion
from lfjax.physics.magnetization import magnetization
from lfjax.physics.operators import STEVENS_NAMES, operator_stack, spin_matrices
from lfjax.physics.sphere import default_rule, field_symmetry, hemisphere_quadrature

MODELS = {
    "axial": ("B20", "B40", "B60"),
    "D3d": ("B20", "B40", "B43", "B60", "B63", "B66"),
    "general": STEVENS_NAMES,
}
ROWS = ("chi_t_axial", "chi_t_D3d", "chi_t_general", "mh_powder_D3d")
MCPHASE_ABSENT = "libmcphase is not installed: numpy_loop stands in for McPhase's per-curve cf1ion"
_SCALE = {"2": 1.0, "4": 1e-2, "6": 1e-4}


def _values(names, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, len(names))) * np.array([_SCALE[nm[1]] for nm in names])


def _plain_chi_t(er, names, values, temps):
    """Batched jnp.linalg.eigh of full H + Van Vleck level form (the numpy baseline's sums in jnp)."""
    ops = operator_stack(er.j, names)
    real = all("-" not in n for n in names)
    h = jnp.einsum("np,pij->nij", values, jnp.asarray(ops.real if real else ops, values.dtype if real else jnp.complex64))
    levels, vecs = jnp.linalg.eigh(h)
    levels = levels - levels[:, :1]
    vh = jnp.conj(jnp.swapaxes(vecs, -1, -2))
    weights = sum(jnp.abs(vh @ jnp.asarray(op, jnp.complex64) @ vecs) ** 2 for op in spin_matrices(er.j))
    gap = levels[:, None, :] - levels[:, :, None]
    deg = jnp.abs(gap) < 3e-3
    curie = jnp.sum(jnp.where(deg, weights, 0.0), -1)
    vv = jnp.sum(jnp.where(deg, 0.0, 2 * weights / jnp.where(deg, 1.0, gap)), -1)
    boltz = jnp.exp(-levels[:, None, :] / temps[:, None])
    num = jnp.einsum("ntm,nm->nt", boltz, curie) + temps * jnp.einsum("ntm,nm->nt", boltz, vv)
    return 0.3751481 * er.g**2 / 3 * num / jnp.sum(boltz, -1)


def _plain_mh(er, names, values, temp, fields, n_theta, n_phi):
    """Batched jnp.linalg.eigh over (curves, fields, full-hemisphere directions); no symmetry used."""
    dirs, w = hemisphere_quadrature(n_theta, n_phi)
    jb = jnp.asarray(np.einsum("da,aij->dij", dirs, np.stack(spin_matrices(er.j))), jnp.complex64)
    h = jnp.einsum("np,pij->nij", values.astype(jnp.complex64), jnp.asarray(operator_stack(er.j, names), jnp.complex64))
    zee = er.g * MUB_OVER_KB_K_PER_OE
    h_tot = h[:, None, None] + zee * fields[None, :, None, None, None] * jb[None, None]
    levels, vecs = jnp.linalg.eigh(h_tot)
    diag = jnp.real(jnp.einsum("...ji,...jk,...ki->...i", jnp.conj(vecs), jb[None, None], vecs))
    boltz = jnp.exp(-(levels - levels[..., :1]) / temp)
    m = -er.g * jnp.sum(boltz * diag, -1) / jnp.sum(boltz, -1)
    return jnp.einsum("nfd,d->nf", m, jnp.asarray(w, jnp.float32))


def _numpy_mh_loop(er, names, values, temp, fields, n_theta, n_phi):
    """McPhase-style: per curve, field and direction one np.linalg.eigh (float64)."""
    dirs, w = hemisphere_quadrature(n_theta, n_phi)
    jops = np.stack(spin_matrices(er.j))
    out = np.zeros((values.shape[0], fields.size))
    zee = er.g * MUB_OVER_KB_K_PER_OE
    for i, row in enumerate(values):
        h = _numpy_baseline.hamiltonians(er, names, row).astype(np.complex128)
        for f, field in enumerate(fields):
            for d, wd in zip(dirs, w):
                jb = np.einsum("a,aij->ij", d, jops)
                levels, vecs = np.linalg.eigh(h + zee * field * jb)
                diag = np.real(np.einsum("ji,jk,ki->i", vecs.conj(), jb, vecs))
                boltz = np.exp(-(levels - levels[0]) / temp)
                out[i, f] += wd * (-er.g) * np.sum(boltz * diag) / np.sum(boltz)
    return out


def _time(fn, *args, repeats=2):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def _jit_timed(fn, *args):
    jitted = jax.jit(fn)
    t0 = time.perf_counter()
    out = jax.block_until_ready(jitted(*args))
    first = time.perf_counter() - t0
    return out, first, _time(jitted, *args)


def _entry(n, seconds, out, ref, **extra):
    rel = float(np.max(np.abs(np.asarray(out, np.float64) / ref[: np.asarray(out).shape[0]] - 1)))
    return {"n": n, "seconds": seconds, "curves_per_s": n / seconds, "max_rel_diff_vs_f64": rel, **extra}


def run_model_rows(n_chi: int = 4096, n_mh: int = 64, n_loop: int = 32, n_loop_mh: int = 1,
                   n_temps: int = 64, log=lambda s: None) -> dict:
    """Runs the four rows; returns {row: {"lfjax": ..., "plain_jnp": ..., "numpy_loop": ..., speedups}}."""
    er = ion("Er3+")
    temps = np.geomspace(1.8, 300.0, n_temps)
    rows = {}
    for model, names in MODELS.items():
        values = _values(names, n_chi)
        v32 = jnp.asarray(values, jnp.float32)
        t32 = jnp.asarray(temps, jnp.float32)
        with jax.enable_x64(True):
            ref = np.asarray(chi_t_powder(er, dict(zip(names, values[:n_loop].T)), temps, dtype=jnp.float64))
        lib = lambda v: chi_t_powder(er, dict(zip(names, v.T)), t32, dtype=jnp.float32)
        out, first, secs = _jit_timed(lib, v32)
        plain_out, plain_first, plain_secs = _jit_timed(lambda v: _plain_chi_t(er, names, v, t32), v32)
        t0 = time.perf_counter()
        loop_out = _numpy_baseline.chi_t_loop(er, names, values[:n_loop], temps)
        loop_secs = time.perf_counter() - t0
        row = {"model": model, "parameters": list(names), "quantity": f"zero-field powder chi T, {n_temps} T",
               "lfjax": _entry(n_chi, secs, out[:n_loop], ref, first_call_s=first),
               "plain_jnp": _entry(n_chi, plain_secs, plain_out[:n_loop], ref, first_call_s=plain_first),
               "numpy_loop": _entry(n_loop, loop_secs, loop_out, ref, extrapolated=True)}
        if _mcphase.available():
            t0 = time.perf_counter()
            mc_out = _mcphase.chi_t_powder(er.name, names, values[:n_loop], temps)
            row["mcphase"] = _entry(n_loop, time.perf_counter() - t0, mc_out, ref, extrapolated=True)
        rows[f"chi_t_{model}"] = row
    names = MODELS["D3d"]
    n_theta, n_phi = default_rule(field_symmetry(names)[0])
    fields = np.linspace(3500.0, 70000.0, 20)
    values = _values(names, n_mh, seed=1)
    with jax.enable_x64(True):
        ref = np.asarray(magnetization(er, dict(zip(names, values[:max(n_loop_mh, 4)].T)), 2.0, fields,
                                       dtype=jnp.float64))
    v32, f32 = jnp.asarray(values, jnp.float32), jnp.asarray(fields, jnp.float32)
    lib = lambda v: magnetization(er, dict(zip(names, v.T)), jnp.float32(2.0), f32, dtype=jnp.float32)
    out, first, secs = _jit_timed(lib, v32)
    plain_out, plain_first, plain_secs = _jit_timed(
        lambda v: _plain_mh(er, names, v, jnp.float32(2.0), f32, n_theta, n_phi), v32)
    t0 = time.perf_counter()
    loop_out = _numpy_mh_loop(er, names, values[:n_loop_mh], 2.0, fields, n_theta, n_phi)
    loop_secs = time.perf_counter() - t0
    rows["mh_powder_D3d"] = {
        "model": "D3d", "parameters": list(names), "quantity": "powder M(H), 2 K, 20 fields 0.35-7 T",
        "quadrature": {"n_theta": n_theta, "n_phi": n_phi,
                       "lfjax_directions": "symmetry wedge, mirror-plane directions in real arithmetic",
                       "baselines_directions": f"full hemisphere {n_theta} x {n_phi}"},
        "lfjax": _entry(n_mh, secs, out[:4], ref, first_call_s=first),
        "plain_jnp": _entry(n_mh, plain_secs, plain_out[:4], ref, first_call_s=plain_first),
        "numpy_loop": _entry(n_loop_mh, loop_secs, loop_out, ref, extrapolated=True)}
    if _mcphase.available():
        t0 = time.perf_counter()
        mc_out = _mcphase.powder_magnetization(er.name, names, values[:n_loop_mh], 2.0, fields, n_theta, n_phi)
        rows["mh_powder_D3d"]["mcphase"] = _entry(n_loop_mh, time.perf_counter() - t0, mc_out, ref, extrapolated=True)
    for key, row in rows.items():
        lib_rate = row["lfjax"]["curves_per_s"]
        row["speedup_vs_numpy_loop"] = lib_rate / row["numpy_loop"]["curves_per_s"]
        if "mcphase" in row:
            row["speedup_vs_mcphase"] = lib_rate / row["mcphase"]["curves_per_s"]
        row["speedup_vs_plain_jnp"] = lib_rate / row["plain_jnp"]["curves_per_s"]
        log(f"{key}: lfjax {lib_rate:.4g} curves/s, plain jnp {row['plain_jnp']['curves_per_s']:.4g}, "
            f"numpy loop {row['numpy_loop']['curves_per_s']:.4g}"
            + (f", McPhase cf1ion {row['mcphase']['curves_per_s']:.4g}" if "mcphase" in row else ""))
    reference = "mcphase" if _mcphase.available() else "numpy_loop"
    rows["targets"] = {
        f"chi_t_D3d_ge_10x_{reference}": rows["chi_t_D3d"][f"speedup_vs_{reference}"] >= 10,
        "mh_powder_D3d_ge_100_curves_per_s": rows["mh_powder_D3d"]["lfjax"]["curves_per_s"] >= 100,
        "reference": reference if reference == "mcphase" else MCPHASE_ABSENT,
    }
    return rows
