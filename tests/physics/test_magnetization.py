"""Magnetisation and chi at finite field against an independent numpy diagonalisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.constants import MUB_OVER_KB_K_PER_OE, NA_MUB_EMU_PER_MOL
from lfjax.errors import ParameterError
from lfjax.physics import chi_axes, hamiltonian, ion
from lfjax.physics.magnetization import chi, chi_tensor, directions, magnetization
from lfjax.physics.operators import spin_matrices
from lfjax.physics.sphere import field_symmetry, powder_quadrature

SETS = {
    "DE": {"D": -4.0, "E": 1.1},
    "axial": {"B20": -0.8, "B40": 4e-3, "B60": -2e-5},
    "D3d": {"B20": 0.5, "B40": -3e-3, "B43": 0.04, "B60": 1e-5, "B63": -3e-4, "B66": 2e-4},
    "general": {"B20": 0.3, "B2-1": 0.2, "B22": -0.4, "B4-3": 0.02, "B44": 0.01, "B6-5": 1e-4, "B62": -2e-4},
}


def brute_moment(the_ion, params, temps, fields, b):
    """-g <J.b> (mu_B/ion) by np.linalg.eigh of H_LF + g mu_B B J.b, float64, one point at a time."""
    h = np.asarray(hamiltonian(the_ion, params), np.complex128)
    b = np.asarray(b, float) / np.linalg.norm(b)
    jb = sum(c * op for c, op in zip(b, spin_matrices(the_ion.j)))
    out = []
    for t, field in zip(temps, fields):
        levels, vecs = np.linalg.eigh(h + the_ion.g * MUB_OVER_KB_K_PER_OE * field * jb)
        w = np.exp(-(levels - levels[0]) / t)
        diag = np.real(np.einsum("ji,jk,ki->i", vecs.conj(), jb, vecs))
        out.append(-the_ion.g * np.sum(w * diag) / np.sum(w))
    return np.array(out)


@pytest.mark.parametrize("name", ["Er", "Dy", "Nd", "Tb", "Pr", "Ho"])
def test_single_crystal_matches_exact_diagonalisation(name, x64):
    the_ion = ion(name)
    temps = np.array([2.0, 2.0, 2.0, 5.0, 20.0, 150.0])  # an M(H) sweep at 2 K, then M(T) at 1 T
    fields = np.array([100.0, 1e4, 7e4, 1e4, 1e4, 1e4])
    for params in SETS.values():
        mirror = (np.cos(np.pi / 3), np.sin(np.pi / 3), 0.4)  # a mirror plane of D3d, turned to xz
        for direction, vec in (("x", (1, 0, 0)), ("y", (0, 1, 0)), ("z", (0, 0, 1)), (mirror, mirror),
                               ((1.0, -2.0, 0.5), (1.0, -2.0, 0.5))):
            got = np.asarray(magnetization(the_ion, params, temps, fields, direction=direction))
            want = brute_moment(the_ion, params, temps, fields, vec)
            assert np.allclose(got, want, rtol=1e-6, atol=1e-12), (name, params, direction)


def test_points_broadcast_and_batch_shapes(x64):
    er = ion("Er")
    b20 = jnp.linspace(-1.0, 1.0, 6).reshape(2, 3)
    m = magnetization(er, {"B20": b20, "B43": 0.01}, 2.0, np.linspace(1e3, 5e4, 7))
    assert m.shape == (2, 3, 7)
    one = magnetization(er, {"B20": b20[1, 2], "B43": 0.01}, np.full(7, 2.0), np.linspace(1e3, 5e4, 7))
    assert np.allclose(m[1, 2], one, rtol=1e-12)
    with pytest.raises(ParameterError, match="one length"):
        magnetization(er, {"B20": 1.0}, np.ones(3), np.ones(4))


def test_direction_errors():
    er = ion("Er")
    with pytest.raises(ParameterError, match="zero vector"):
        magnetization(er, {"B20": 1.0}, 2.0, 1e3, direction=(0, 0, 0))
    with pytest.raises(ParameterError, match="'powder', 'x', 'y', 'z'"):
        magnetization(er, {"B20": 1.0}, 2.0, 1e3, direction="w")


def test_symmetry_of_the_field_from_names():
    assert field_symmetry(("B20", "B40", "B60")) == (0, True)
    assert field_symmetry(("B20", "B40", "B43", "B60", "B63", "B66")) == (3, True)
    assert field_symmetry(("D", "E")) == (2, True)
    assert field_symmetry(("B20", "B4-4", "B44")) == (4, False)
    assert field_symmetry(("B21", "B43")) == (1, True)
    dirs, w = powder_quadrature(3, True, 4, 18)  # 4 phi nodes on [0, pi/3]
    assert dirs.shape == (16, 3) and np.isclose(w.sum(), 1.0)
    assert np.allclose(np.linalg.norm(dirs, axis=1), 1.0) and np.all(dirs[:, 2] >= 0)


@pytest.mark.parametrize("preset", ["axial", "D3d", "general", "DE"])
def test_symmetry_reduced_powder_equals_full_hemisphere(preset, x64):
    """The wedge rule gives the full-hemisphere average (same phi resolution) to round-off."""
    er = ion("Er")
    params = SETS[preset]
    temps, fields = np.array([2.0, 2.0, 10.0]), np.array([2e3, 5e4, 3e4])
    names = tuple(params)
    n_rot, mirror = field_symmetry(names)
    wedge = magnetization(er, params, temps, fields, n_theta=12, n_phi=48)
    cos_t, w_t = np.polynomial.legendre.leggauss(12)
    cos_t, w_t = (cos_t + 1) / 2, w_t / 2
    phi = 2 * np.pi * np.arange(48) / 48  # the full circle at the wedge rule's phi nodes
    sin_t = np.sqrt(1 - cos_t**2)
    dirs = np.stack([np.outer(sin_t, np.cos(phi)).ravel(), np.outer(sin_t, np.sin(phi)).ravel(),
                     np.repeat(cos_t, 48)], -1)
    weights = np.repeat(w_t, 48) / 48
    full = sum(w * brute_moment(er, params, temps, fields, d) for d, w in zip(dirs, weights))
    assert np.allclose(wedge, full, rtol=1e-9), (preset, n_rot, mirror)


@pytest.mark.parametrize("preset", ["DE", "general"])
def test_reduced_lebedev_rule_equals_the_full_lebedev_rule(preset, x64):
    """The default rule for fields without a 3-fold or higher axis: a Lebedev rule reduced by the sign
    flips that leave M(b) . b unchanged gives the full-sphere Lebedev sum (numpy, every point)."""
    from scipy.integrate import lebedev_rule

    er = ion("Er")
    params = SETS[preset]
    temps, fields = np.array([2.0, 10.0]), np.array([5e4, 3e4])
    n_rot, mirror = field_symmetry(tuple(params))
    dirs, w = powder_quadrature(n_rot, mirror, order=17)
    full_dirs, full_w = lebedev_rule(17)
    assert dirs.shape[0] < full_dirs.shape[1] // (8 if (n_rot, mirror) == (2, True) else 2) + 20
    reduced = magnetization(er, params, temps, fields, order=17)
    full = sum(wi * brute_moment(er, params, temps, fields, d) for d, wi in zip(full_dirs.T, full_w)) / full_w.sum()
    assert np.allclose(reduced, full, rtol=1e-10), preset


def test_reduced_lebedev_octant_weights_on_boundary_planes():
    """One octant for real even-q fields: points on the coordinate planes carry their whole orbit."""
    from scipy.integrate import lebedev_rule

    dirs, w = powder_quadrature(2, True)
    assert np.all(dirs >= 0) and np.isclose(w.sum(), 1.0)
    pts, pw = lebedev_rule(41)
    for f in (lambda d: d[..., 0] ** 4 * d[..., 1] ** 2, lambda d: d[..., 2] ** 8 + d[..., 0] ** 2):
        assert np.isclose(np.dot(w, f(dirs)), np.dot(pw, f(pts.T)) / pw.sum(), rtol=1e-12)
    axis = np.all(np.isclose(np.sort(dirs, axis=1), [0, 0, 1]), axis=1)  # x, y, z axes: 6 points -> 3
    assert axis.sum() == 3 and np.allclose(w[axis], 2 * pw[0] / pw.sum())


def test_default_lebedev_rule_within_2e3_for_ising_axes_along_x_y_z(x64):
    """2 K, 100 Oe to 7 T: DE Ising doublets along z, x, y and D2h fields, default vs order 131."""
    rng = np.random.default_rng(7)
    temps, fields = np.array([2.0, 2.0, 2.0]), np.array([100.0, 1e4, 7e4])
    for name in ("Er", "Dy"):
        the_ion = ion(name)
        for d_sign, e_ratio in ((-1, 0.0), (1, 1.0), (1, -1.0)):
            d = d_sign * rng.uniform(1.0, 6.0, 3)
            params = {"D": d, "E": e_ratio * d}
            default = np.asarray(magnetization(the_ion, params, temps, fields))
            fine = np.asarray(magnetization(the_ion, params, temps, fields, order=131))
            assert np.max(np.abs(default / fine - 1)) < 2e-3
        names = ("B20", "B22", "B40", "B42", "B44", "B60", "B62", "B64", "B66")
        params = _prior_draw(the_ion, names, 300.0, 3, rng)
        default = np.asarray(magnetization(the_ion, params, temps, fields))
        fine = np.asarray(magnetization(the_ion, params, temps, fields, order=131))
        assert np.max(np.abs(default / fine - 1)) < 2e-3


def _prior_draw(the_ion, names, scale_k, n, rng):
    from lfjax.physics.operators import operator_stack

    span = [np.max(np.abs(np.linalg.eigvalsh(o))) for o in operator_stack(the_ion.j, names)]
    return {nm: rng.uniform(-1, 1, n) * scale_k / s for nm, s in zip(names, span)}


def _prior_500k(the_ion, n, rng):
    """D3d draws from the comparable-energy prior (`presets.prior_ranges`, 500 K per term)."""
    from lfjax.physics.presets import prior_ranges

    ranges = prior_ranges(the_ion, D3D_NAMES, 500.0)
    return {nm: rng.uniform(-1, 1, n) * ranges[nm][1] for nm in D3D_NAMES}


def _ising_500k(the_ion, n, rng):
    """Prior draws scaled by 0.2 with B20 at -(0.5..1) x its bound: |+-15/2>-like ground doublets."""
    from lfjax.physics.presets import prior_ranges

    params = {k: 0.2 * v for k, v in _prior_500k(the_ion, n, rng).items()}
    params["B20"] = -rng.uniform(0.5, 1.0, n) * prior_ranges(the_ion, D3D_NAMES)["B20"][1]
    return params


D3D_NAMES = ("B20", "B40", "B43", "B60", "B63", "B66")


@pytest.mark.parametrize("name", ["Er", "Dy"])
def test_default_powder_rule_within_2e3_of_fine(name, x64):
    """2 K, 100 Oe / 1 T / 7 T, default D3d rule (6 x 18) vs (48, 72): draws of the 500 K prior,
    Ising-like doublets (both from the prior) and weak fields of a few K to 30 K. Over 800 prior and
    300 Ising draws (`benchmarks/powder_quadrature.py`) the largest error is below 1e-3."""
    the_ion, rng = ion(name), np.random.default_rng(3)
    temps, fields = np.array([2.0, 2.0, 2.0]), np.array([100.0, 1e4, 7e4])
    draws = [_prior_draw(the_ion, D3D_NAMES, s, 4, rng) for s in (3.0, 30.0)]
    ising = _prior_draw(the_ion, D3D_NAMES, 20.0, 4, rng)
    ising["B20"] = -rng.uniform(0.5, 3.0, 4)
    draws += [ising, _prior_500k(the_ion, 8, rng), _ising_500k(the_ion, 6, rng)]
    for params in draws:
        default = np.asarray(magnetization(the_ion, params, temps, fields))
        fine = np.asarray(magnetization(the_ion, params, temps, fields, n_theta=48, n_phi=72))
        assert np.max(np.abs(default / fine - 1)) < 2e-3
    ising_g = np.asarray(magnetization(the_ion, ising, 2.0, 7e4))
    assert np.all(ising_g > 0.4 * the_ion.g * the_ion.j)  # saturating Ising moment ~ g J / 2


def test_float32_default_rule_within_2e3_of_fine_float64():
    """The fast path end to end: float32, default rule, vs float64 (48, 72), 2 K, 100 Oe to 7 T, Er
    draws of the 500 K prior and Ising-like ones. At 100 Oe float32 rounding of the levels
    (~1e-7 x the ligand-field spread) against the Zeeman splitting (~0.1 K) is the larger part."""
    er, rng = ion("Er"), np.random.default_rng(5)
    fields = np.array([100.0, 1e3, 1e4, 7e4])
    for params in (_prior_500k(er, 12, rng), _ising_500k(er, 6, rng)):
        f32 = np.asarray(magnetization(er, {k: v.astype(np.float32) for k, v in params.items()},
                                       np.float32(2.0), fields.astype(np.float32), dtype=jnp.float32))
        with jax.enable_x64(True):
            fine = np.asarray(magnetization(er, params, 2.0, fields, n_theta=48, n_phi=72))
        assert f32.dtype == np.float32
        assert np.max(np.abs(f32 / fine - 1)) < 2e-3


def test_banded_expectations_equal_the_dense_rotation(x64):
    """thermal_mean's forward pass sums <i|J.b|i> along the three bands of J.b (numpy operators);
    traced operators take the dense V^dagger A V path: both agree, and so do their derivatives."""
    from lfjax.physics._spectral import static_bands, thermal_mean

    er = ion("Er")
    h = np.asarray(hamiltonian(er, SETS["general"]), np.complex128)
    b = np.array([[0.3, -0.5, 0.8], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    ops = np.einsum("da,aij->dij", b, np.stack(spin_matrices(er.j)))
    assert static_bands(ops) == (-1, 0, 1) and static_bands(np.ones((4, 4))) is None
    h_tot = h[None] + 3.0 * ops  # (d, N, N)
    beta = jnp.array([[0.5], [0.1], [0.02]])[:, None, :]  # (T, d = 1, n_b = 1)
    banded = thermal_mean(h_tot, ops[:, None], beta)
    dense = jax.jit(lambda o: thermal_mean(h_tot, o, beta))(jnp.asarray(ops[:, None]))
    assert np.allclose(banded, dense, rtol=1e-12, atol=1e-13)
    want = [brute_moment(er, SETS["general"], [1 / bt], [3.0 / (er.g * MUB_OVER_KB_K_PER_OE)], bd)[0]
            for bt in (0.5, 0.1, 0.02) for bd in b]
    assert np.allclose(-er.g * np.asarray(banded)[..., 0, 0].ravel(), want, rtol=1e-10)
    tangent = jnp.asarray(np.diag(np.linspace(-1, 1, 16)).astype(np.complex128))
    jvp_banded = jax.jvp(lambda x: thermal_mean(x, ops[:, None], beta), (jnp.asarray(h_tot),), (tangent[None] + 0 * h_tot,))[1]
    jvp_dense = jax.jit(lambda x, t, o: jax.jvp(lambda y: thermal_mean(y, o, beta), (x,), (t,))[1])(
        jnp.asarray(h_tot), tangent[None] + 0 * h_tot, jnp.asarray(ops[:, None]))
    assert np.allclose(jvp_banded, jvp_dense, rtol=1e-12)


def test_zero_field_chi_is_the_van_vleck_limit(x64):
    er = ion("Er")
    params = SETS["D3d"]
    temps = np.array([2.0, 10.0, 100.0])
    axes = np.asarray(chi_axes(er, params, temps))
    assert np.allclose(chi(er, params, temps, 0.0, direction="z"), axes[:, 2], rtol=1e-10)
    assert np.allclose(chi(er, params, temps, 0.0), axes.mean(-1), rtol=1e-10)
    assert np.allclose(chi(er, params, temps, 0.5), axes.mean(-1), rtol=1e-5)  # M/H at 0.5 Oe
    tensor = np.asarray(chi_tensor(er, SETS["general"], temps))
    b = np.array([1.0, -2.0, 0.5]) / np.linalg.norm([1.0, -2.0, 0.5])
    small = np.asarray(chi(er, SETS["general"], temps, 0.5, direction=tuple(b)))
    assert np.allclose(np.einsum("a,tab,b->t", b, tensor, b), small, rtol=1e-5)
    mixed = np.asarray(chi(er, params, temps, np.array([0.0, 1e3, 0.0])))
    assert np.isclose(mixed[0], axes[0].mean(), rtol=1e-10) and np.isclose(mixed[2], axes[2].mean(), rtol=1e-10)
    assert np.isclose(mixed[1], NA_MUB_EMU_PER_MOL * float(magnetization(er, params, 10.0, 1e3)[0]) / 1e3, rtol=1e-10)


def test_mean_field_low_field_limit_and_convergence(x64):
    er = ion("Er")
    params = {"D": -3.0, "E": 0.5}
    temps = np.array([2.0, 5.0, 30.0])
    chi0 = np.asarray(chi_axes(er, params, temps))[:, 2]
    for lam in (-0.3, 0.05):
        low = np.asarray(chi(er, params, temps, 0.1, direction="z", mean_field=lam))
        assert np.allclose(low, chi0 / (1 - lam * chi0), rtol=1e-4)
        zero = np.asarray(chi(er, params, temps, 0.0, direction="z", mean_field=lam))
        assert np.allclose(zero, chi0 / (1 - lam * chi0), rtol=1e-10)
    # strong field: the solution satisfies M = M0(H + lambda M) along the field
    lam, field = 0.05, 2e4
    m = float(magnetization(er, params, 2.0, field, direction="z", mean_field=lam)[0])
    h_eff = field + lam * NA_MUB_EMU_PER_MOL * m
    assert m == pytest.approx(float(magnetization(er, params, 2.0, h_eff, direction="z")[0]), rel=1e-10)
    assert m > float(magnetization(er, params, 2.0, field, direction="z")[0])  # lambda > 0: ferromagnetic


@pytest.mark.parametrize("point", [{"D": 0.0, "E": 0.0}, {"D": -6.0, "E": 2.0}, {"B20": 0.3, "B43": 0.0, "B66": 0.0}])
def test_gradients_finite_and_match_finite_differences(point, x64):
    er = ion("Er")
    temps, fields = np.array([2.0, 2.0, 10.0]), np.array([500.0, 3e4, 1e4])
    names = list(point)

    def objective(values, lam):
        m = magnetization(er, dict(zip(names, values)), temps, fields, mean_field=lam, n_theta=4, n_phi=8)
        return jnp.sum(m * jnp.array([1.0, 0.3, 2.0]))

    x0 = jnp.array([point[n] for n in names])
    for lam in (0.0, 0.02):
        grad = np.asarray(jax.grad(objective)(x0, lam))
        assert np.all(np.isfinite(grad))
        for i in range(len(names)):
            step = 1e-4 if names[i] in ("D", "E", "B20") else 1e-6
            dx = np.eye(len(names))[i] * step
            fd = (float(objective(x0 + dx, lam)) - float(objective(x0 - dx, lam))) / (2 * step)
            assert abs(grad[i] - fd) <= 1e-5 * max(abs(fd), 1.0), (names[i], lam, grad[i], fd)
    g_lam = float(jax.grad(objective, argnums=1)(x0, 0.02))
    fd_lam = (float(objective(x0, 0.02 + 1e-5)) - float(objective(x0, 0.02 - 1e-5))) / 2e-5
    assert g_lam == pytest.approx(fd_lam, rel=1e-5)


def test_float32_matches_float64_and_jits():
    er = ion("Er")
    params = {k: np.float32(v) for k, v in SETS["D3d"].items()}
    temps, fields = np.float32(2.0), np.linspace(1e3, 7e4, 5).astype(np.float32)
    f32 = jax.jit(lambda p: magnetization(er, p, temps, fields))(params)
    assert f32.dtype == jnp.float32
    with jax.enable_x64(True):
        f64 = np.asarray(magnetization(er, {k: np.float64(v) for k, v in params.items()}, 2.0, fields.astype(float)))
    assert np.allclose(f32, f64, rtol=1e-5)


def test_chunked_batches_equal_one_call(x64):
    er = ion("Er")
    b20 = np.linspace(-1, 1, 5)
    one = magnetization(er, {"B20": b20, "B43": 0.02}, 2.0, np.array([1e3, 5e4]), n_theta=4, n_phi=6)
    tiny_budget = magnetization(er, {"B20": b20, "B43": 0.02}, 2.0, np.array([1e3, 5e4]), n_theta=4, n_phi=6,
                                budget_bytes=1.0)
    assert np.allclose(one, tiny_budget, rtol=1e-12)


def test_axial_zero_field_chi_along_directions_and_with_mean_field_equals_the_tensor_path(x64):
    er = ion("Er3+")
    params = {"B20": jnp.array([-0.8, 0.3]), "B40": jnp.array([4e-3, -2e-3]), "B60": jnp.array([-2e-5, 1e-5])}
    temps = jnp.geomspace(2.0, 300.0, 9)
    tensor = chi_tensor(er, params, temps)
    for direction, lam in (("x", 0.0), ((0.3, 0.4, 0.5), 0.0), ("z", -0.4), ("powder", 0.05)):
        got = chi(er, params, temps, 0.0, direction=direction, mean_field=lam)
        dirs, weights = directions(direction, tuple(params))  # the powder rule under a mean field
        chi_b = jnp.einsum("da,...ab,db->...d", dirs, tensor, dirs)
        chi_b = chi_b / (1.0 - lam * chi_b)
        np.testing.assert_allclose(got, jnp.einsum("...d,d->...", chi_b, weights), rtol=1e-10)
