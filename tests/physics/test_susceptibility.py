"""Analytic limits, invariants, finite field and gradients of the susceptibility."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.constants import MUB_OVER_KB_K_PER_OE, NA_MUB2_OVER_KB_EMU_K_PER_MOL, NA_MUB_EMU_PER_MOL
from lfjax.physics import chi_axes, chi_powder_finite_field, chi_t_powder, equivalents, hamiltonian, ion
from lfjax.physics._spectral import van_vleck_ratio
from lfjax.physics.operators import spin_matrices

TEMPS = np.geomspace(1.8, 300, 24)


def test_free_ion_curie(x64):
    for name in ["Ce", "Nd", "Gd", "Tb", "Dy", "Er", "Yb", "Ho"]:
        the_ion = ion(name)
        chi_t = chi_t_powder(the_ion, {"B20": 0.0}, TEMPS)
        assert np.allclose(chi_t, the_ion.curie_constant, rtol=1e-12)


def test_free_ion_limit_at_high_temperature(x64):
    er = ion("Er")
    chi_t = chi_t_powder(er, {"D": -3.0, "E": 0.7, "B40": 1e-3, "B66": 1e-5}, np.array([1e5]))
    assert float(chi_t[0]) == pytest.approx(er.curie_constant, rel=1e-4)


def test_spin_half_curie_law(x64):
    s = ion("1/2", g=2.0)
    chi = chi_axes(s, {"B20": 0.0}, TEMPS)
    assert np.allclose(np.asarray(chi) * TEMPS[:, None], 0.25 * 4 * NA_MUB2_OVER_KB_EMU_K_PER_MOL, rtol=1e-12)


def test_ising_doublet_low_temperature(x64):
    er = ion("Er")
    temps = np.array([0.2, 0.5])
    chi = np.asarray(chi_axes(er, {"D": -20.0}, temps))
    ising = NA_MUB2_OVER_KB_EMU_K_PER_MOL * er.g**2 * 7.5**2
    assert np.allclose(chi[:, 2] * temps, ising, rtol=1e-9)  # |+-15/2> pure: no Van Vleck along z
    assert np.all(chi[:, 0] * temps < 1e-3 * ising)
    assert np.allclose(chi_t_powder(er, {"D": -20.0}, temps), ising / 3, rtol=2e-3)


def test_six_equivalents_identical(x64):
    rng = np.random.default_rng(1)
    for name in ["Er", "Tb"]:
        d, e = rng.uniform(-15, 15, 8), rng.uniform(-5, 5, 8)
        eq = np.asarray(equivalents(d, e))
        curves = chi_t_powder(ion(name), {"D": eq[..., 0], "E": eq[..., 1]}, TEMPS)
        assert np.max(np.abs(curves - curves[:, :1]) / curves[:, :1]) < 1e-10


def test_constant_shift_changes_nothing(x64):
    er = ion("Er")
    h = hamiltonian(er, {"D": -4.0, "E": 1.1, "B43": 0.02})
    jx, jy, jz = spin_matrices(er.j)
    ops = jnp.asarray(np.stack([jx, jy, jz]))
    r1 = van_vleck_ratio(h, ops, 1 / TEMPS, (1, 1, 1))
    r2 = van_vleck_ratio(h + 37.0 * jnp.eye(16), ops, 1 / TEMPS, (1, 1, 1))
    assert np.allclose(r1, r2, rtol=1e-10)


def test_batching_jit_vmap(x64):
    er = ion("Er")
    d, e = jnp.linspace(-10, 10, 6), jnp.linspace(0, 3, 6)
    batched = chi_t_powder(er, {"D": d, "E": e}, TEMPS)
    jitted = jax.jit(lambda d, e: chi_t_powder(er, {"D": d, "E": e}, TEMPS))(d, e)
    mapped = jax.vmap(lambda d, e: chi_t_powder(er, {"D": d, "E": e}, TEMPS))(d, e)
    single = jnp.stack([chi_t_powder(er, {"D": d[i], "E": e[i]}, TEMPS) for i in range(6)])
    assert batched.shape == (6, TEMPS.size)
    for other in (jitted, mapped, single):
        assert np.allclose(batched, other, rtol=1e-12)
    grid = chi_axes(er, {"D": jnp.zeros((2, 3)), "B43": jnp.ones((2, 3))}, TEMPS)
    assert grid.shape == (2, 3, TEMPS.size, 3)


def test_float32_matches_float64():
    er = ion("Er")
    params = {"D": np.float32(-5.0), "E": np.float32(1.0)}
    f32 = chi_t_powder(er, params, TEMPS.astype(np.float32))
    assert f32.dtype == jnp.float32
    with jax.enable_x64(True):
        f64 = np.asarray(chi_t_powder(er, {k: np.float64(v) for k, v in params.items()}, TEMPS))
    assert np.allclose(f32, f64, rtol=1e-5)


# --- finite field ---------------------------------------------------------------------------


def _brute_force_powder_m_over_b(the_ion, params, temps, field_oe, n_theta=40, n_phi=80):
    """M/B by numerical differentiation of the free energy on a full-sphere product grid (numpy)."""
    h = np.asarray(hamiltonian(the_ion, params), dtype=np.complex128)
    jx, jy, jz = spin_matrices(the_ion.j)
    ct, wt = np.polynomial.legendre.leggauss(n_theta)
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    zee = the_ion.g * MUB_OVER_KB_K_PER_OE
    total = np.zeros_like(temps)
    step = 1e-3 * field_oe
    for c, w in zip(ct, wt):
        s = np.sqrt(1 - c * c)
        for p in phi:
            jn = s * np.cos(p) * jx + s * np.sin(p) * jy + c * jz
            free = []
            for b in (field_oe - step, field_oe + step):
                levels = np.linalg.eigvalsh(h + zee * b * jn)
                ground = levels.min()
                boltzmann = np.exp(-(levels[None, :] - ground) / temps[:, None])
                free.append(ground - temps * np.log(boltzmann.sum(-1)))
            # M along the field per ion in units of k_B K / Oe -> emu/mol
            dfdb = (free[1] - free[0]) / (2 * step)
            total += w / 2 / n_phi * (-dfdb)
    return total / MUB_OVER_KB_K_PER_OE * NA_MUB_EMU_PER_MOL / field_oe


def test_finite_field_against_brute_force(x64):
    er = ion("Er")
    params = {"D": -5.0, "E": 1.0, "B43": 0.01}
    temps = np.array([2.0, 5.0, 20.0, 100.0])
    brute = _brute_force_powder_m_over_b(er, params, temps, 5000.0)
    fine = np.asarray(chi_powder_finite_field(er, params, temps, 5000.0, n_theta=20, n_phi=40))
    default = np.asarray(chi_powder_finite_field(er, params, temps, 5000.0))
    assert np.allclose(fine, brute, rtol=1e-6)
    assert np.allclose(default, brute, rtol=1e-3)


def test_finite_field_tends_to_zero_field(x64):
    er = ion("Er")
    params = {"D": -5.0, "E": 1.0}
    zero = chi_t_powder(er, params, TEMPS)
    small = chi_t_powder(er, params, TEMPS, field_oe=1.0)
    assert np.allclose(small, zero, rtol=1e-6)
    big = chi_t_powder(er, params, np.array([2.0]), field_oe=1000.0)
    assert 0.005 < 1 - float(big[0] / zero[0]) < 0.05  # a SQUID at 0.1 T reads a few % low at 2 K


def test_field_per_point(x64):
    er = ion("Er")
    fields = np.linspace(1000, 2000, TEMPS.size)
    per_point = chi_t_powder(er, {"D": 2.0}, TEMPS, field_oe=fields)
    one = np.array([float(chi_t_powder(er, {"D": 2.0}, TEMPS[i : i + 1], field_oe=fields[i])[0]) for i in (0, 7)])
    assert np.allclose(per_point[np.array([0, 7])], one, rtol=1e-12)
    uniform = chi_t_powder(er, {"D": 2.0}, TEMPS, field_oe=np.full(TEMPS.size, 1500.0))
    assert np.allclose(uniform, chi_t_powder(er, {"D": 2.0}, TEMPS, field_oe=1500.0), rtol=1e-12)


def test_gradient_with_respect_to_temperature(x64):
    er = ion("Er")
    for field in (0.0, 1500.0):
        f = lambda t: chi_t_powder(er, {"D": -3.0, "E": 0.4}, t[None], field_oe=field)[0]
        t0 = jnp.asarray(3.0)
        fd = (f(t0 + 1e-5) - f(t0 - 1e-5)) / 2e-5
        assert float(jax.grad(f)(t0)) == pytest.approx(float(fd), rel=1e-6)


# --- gradients -------------------------------------------------------------------------------

POINTS = [
    {"D": 0.0, "E": 0.0},
    {"D": 3.0, "E": 0.0},
    {"D": -6.0, "E": 2.0},
    {"D": -6.0, "E": -2.0},
    {"D": 4.5, "E": 1.5},
    {"D": 2.0, "E": 0.5, "B43": 0.01, "B6-3": 1e-4, "B40": 0.0},
]


@pytest.mark.parametrize("field_oe", [0.0, 1500.0])
@pytest.mark.parametrize("point", POINTS)
def test_gradients_match_finite_differences(point, field_oe, x64):
    er = ion("Er")
    temps = np.array([1.8, 4.0, 15.0, 80.0, 300.0])
    weights = jnp.linspace(1.0, 2.0, temps.size)
    names = list(point)

    def objective(values):
        return jnp.sum(weights * chi_t_powder(er, dict(zip(names, values)), temps, field_oe=field_oe))

    x0 = jnp.array([point[n] for n in names], dtype=jnp.float64)
    grad = np.asarray(jax.grad(objective)(x0))
    assert np.all(np.isfinite(grad))
    for i, name in enumerate(names):
        step = 1e-4 if not name.startswith("B6") else 1e-6
        dx = np.zeros(len(names))
        dx[i] = 1.0

        def central(h):
            return (float(objective(x0 + h * dx)) - float(objective(x0 - h * dx))) / (2 * h)

        fd = (4 * central(step / 2) - central(step)) / 3  # Richardson: error O(h^4)
        scale = max(abs(fd), 1e-3 * (1 if not name.startswith("B") else 100))
        assert abs(grad[i] - fd) <= 1e-5 * scale + 1e-7, (name, grad[i], fd)


# --- fast and bounded ------------------------------------------------------------------------


def test_second_order_params_take_the_tridiagonal_path_with_exact_gradients():
    from lfjax.physics import chi_t_powder_de

    er = ion("Er")
    temps = TEMPS.astype(np.float32)
    d, e = np.float32([-5.0, 0.0, 12.0]), np.float32([1.0, 0.0, 0.5])
    auto = np.asarray(chi_t_powder(er, {"D": d, "E": e}, temps))
    stevens = np.asarray(chi_t_powder(er, {"B20": d / 3, "B22": e}, temps))
    fast = np.asarray(chi_t_powder_de(er, d, e, temps))
    assert np.array_equal(auto, fast) and np.array_equal(stevens, fast)  # the same computation
    with jax.enable_x64(True):
        ref = np.asarray(chi_t_powder(er, {"D": d.astype(float), "E": e.astype(float)}, TEMPS))
    assert np.max(np.abs(auto / ref - 1)) < 5e-6  # as accurate as the float32 general path
    grad = jax.grad(lambda x: jnp.sum(chi_t_powder(er, {"D": x[0], "E": x[1]}, temps)))(jnp.zeros(2))
    assert np.all(np.isfinite(grad)) and np.allclose(grad, 0.0, atol=1e-3)  # powder chi T is even at D=E=0


def test_chunked_batches_equal_one_call(x64):
    er = ion("Er")
    rng = np.random.default_rng(0)
    params = {"B20": rng.uniform(-1, 1, (3, 5)), "B43": rng.uniform(-0.01, 0.01, (3, 5))}
    one = chi_axes(er, params, TEMPS)
    chunked = chi_axes(er, params, TEMPS, budget_bytes=1.0)  # one curve per chunk
    assert chunked.shape == (3, 5, TEMPS.size, 3) and np.allclose(one, chunked, rtol=1e-13)
    grad_one = jax.grad(lambda b: jnp.sum(chi_t_powder(er, {"B20": b, "B43": 0.01}, TEMPS)))(jnp.ones(4))
    grad_chunked = jax.grad(lambda b: jnp.sum(chi_t_powder(er, {"B20": b, "B43": 0.01}, TEMPS,
                                                           budget_bytes=1.0)))(jnp.ones(4))
    assert np.allclose(grad_one, grad_chunked, rtol=1e-12)


def test_peak_memory_nearly_flat_in_the_batch_size():
    """Peak RSS of a fresh process at 4,000 and 40,000 curves (general path, 64 T, B43 present)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]

    def peak(n):
        out = subprocess.run([sys.executable, str(repo / "benchmarks" / "chi_memory.py"), "--kind", "general",
                              "--n", str(n), "--budget-mib", "32"], capture_output=True, text=True, timeout=300,
                             check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mib"]

    small, large = peak(4_000), peak(40_000)
    # Unchunked, 40,000 x 64 x 16 x 16 float32 divided differences alone would be 2,500 MiB.
    assert large - small < 200, (small, large)
