"""The symmetry group as data: the (D, E) maps, fold, distances, merge, KDE, hits, sampling, other groups."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.errors import ParameterError
from lfjax.physics import canonical, chi_t_powder_de, equivalents, ion
from lfjax.symmetry import (
    SymmetryGroup,
    de_group,
    distance,
    errors,
    fold,
    hits,
    images,
    kde_density,
    kde_mode,
    merge,
    nearest_image,
    pairwise_distance,
    random_image,
    sample_folded_box,
    sample_wedge,
)

RNG = np.random.default_rng(0)
POINTS = RNG.uniform(-15, 15, (2000, 2))


def _sign_flip_group():
    """B43 -> -B43 and B63 -> -B63 together (60 deg about z) on (B20, B40, B43, B60, B63, B66)."""
    flip = np.diag([1.0, 1.0, -1.0, 1.0, -1.0, 1.0])
    return SymmetryGroup(maps=np.stack([np.eye(6), flip]), names=("B20", "B40", "B43", "B60", "B63", "B66"))


def test_de_maps_are_the_six_equivalents_as_matrices():
    g = de_group()
    assert g.maps.shape == (6, 2, 2) and np.array_equal(g.maps[0], np.eye(2))
    np.testing.assert_allclose(images(g, POINTS), np.asarray(equivalents(POINTS[:, 0], POINTS[:, 1])), atol=1e-12)
    # rotations by 120 deg and reflections in (D, sqrt(3) E): |det| = 1, so the maps preserve area
    np.testing.assert_allclose(np.abs(np.linalg.det(g.maps)), 1.0, atol=1e-12)


def test_equivalent_parameters_give_the_same_curve():
    temps = np.geomspace(2, 300, 12)
    with jax.enable_x64(True):
        curves = [np.asarray(chi_t_powder_de(ion("Er3+"), d, e, temps, dtype=jnp.float64))
                  for d, e in images(de_group(), np.array([-7.0, 1.1]))]
    np.testing.assert_allclose(curves, np.broadcast_to(curves[0], (6, 12)), rtol=1e-9)


def test_fold_is_physics_canonical_in_numpy_and_under_jit():
    g = de_group()
    expected = np.asarray(canonical(POINTS[:, 0], POINTS[:, 1]))
    np.testing.assert_array_equal(fold(g, POINTS), expected)
    folded = jax.jit(lambda x: fold(g, x))(jnp.asarray(POINTS, jnp.float32))
    np.testing.assert_allclose(np.asarray(folded), expected, atol=1e-5)
    assert np.all(expected[:, 1] >= 0) and np.all(expected[:, 1] <= np.abs(expected[:, 0]) / 3 + 1e-12)


@pytest.mark.parametrize("group", [de_group(), _sign_flip_group()], ids=["DE", "sign-flip"])
def test_fold_is_invariant_under_every_map(group):
    x = RNG.normal(size=(300, group.n_params))
    ref = fold(group, x)
    for m in group.maps:
        np.testing.assert_allclose(fold(group, x @ m.T), ref, atol=1e-12)
    # the canonical image is one of the images, and folding twice changes nothing
    assert np.all(np.min(np.abs(images(group, x) - ref[:, None]).sum(-1), axis=1) < 1e-12)
    np.testing.assert_array_equal(fold(group, ref), ref)


def test_generic_key_picks_one_side_of_a_sign_flip():
    group = _sign_flip_group()
    x = RNG.normal(size=(500, 6))
    f = fold(group, x)
    w = group.key_rows[0]
    assert np.all(f @ w >= (f @ group.maps[1].T) @ w)
    np.testing.assert_array_equal(f[:, [0, 1, 3, 5]], x[:, [0, 1, 3, 5]])


def test_maps_that_are_not_a_group_are_refused():
    with pytest.raises(ParameterError, match="identity"):
        SymmetryGroup(maps=np.stack([-np.eye(2), np.eye(2)]))
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])  # 90 deg: needs its powers too
    with pytest.raises(ParameterError, match="closed under composition"):
        SymmetryGroup(maps=np.stack([np.eye(2), rot]))
    with pytest.raises(ParameterError, match="key_rows"):
        SymmetryGroup(maps=np.eye(3)[None], key_rows=np.ones((1, 2)))


def test_distance_modulo_the_group():
    g = de_group()
    eq = images(g, np.array([4.0, 1.0]))
    np.testing.assert_allclose(distance(g, eq, np.array([4.0, 1.0])), 0.0, atol=1e-12)
    np.testing.assert_allclose(pairwise_distance(g, np.array([[4.0, 1.0]]), eq), 0.0, atol=1e-12)
    a, b = POINTS[:200], POINTS[200:400]
    d = distance(g, a, b)
    brute = np.min(np.linalg.norm(np.asarray(equivalents(a[:, 0], a[:, 1])) - b[:, None], axis=-1), axis=1)
    np.testing.assert_allclose(d, brute, atol=1e-12)
    assert np.all(d <= np.linalg.norm(a - b, axis=1) + 1e-12)
    np.testing.assert_allclose(np.diag(pairwise_distance(g, a, b)), d, atol=1e-12)
    # the wedge edge E = |D|/3 identifies D and -D
    assert distance(g, np.array([6.0, 2.0]), np.array([-6.0, 2.0])) < 1e-12


def test_nearest_image_and_errors():
    g = de_group()
    truth = np.array([[-9.0, 1.0]])
    est = images(g, np.array([-8.5, 1.3]))[3][None]  # a far-away image of a nearby estimate
    np.testing.assert_allclose(nearest_image(g, est, truth), [[-8.5, 1.3]], atol=1e-12)
    np.testing.assert_allclose(errors(g, est, truth), [[0.5, 0.3]], atol=1e-12)


def test_merge_keeps_the_best_of_each_cluster_modulo_the_maps():
    g = de_group()
    pts = np.array([[-6.0, 0.5], images(g, np.array([-6.2, 0.6]))[4], [5.0, 1.5], [5.1, 1.5]])
    assert merge(g, pts, scores=np.array([1.0, 2.0, 0.5, 0.7]), radius=0.5) == [1, 3]
    trivial = SymmetryGroup(maps=np.eye(2)[None])
    assert merge(trivial, pts, scores=np.array([1.0, 2.0, 0.5, 0.7]), radius=0.5) == [1, 0, 3]


def test_hits_and_the_strict_variant():
    g = de_group()
    tol = (1.5, 1.0)
    truth = np.array([[6.0, 2.0], [-10.0, 1.0]])
    est = np.array([[-6.0, 2.0], [-8.6, 1.9]])
    assert hits(g, est, truth, tol).tolist() == [True, True]
    assert hits(g, est, truth, tol, strict=True).tolist() == [False, True]
    assert hits(g, images(g, est[1])[2][None], truth[1:], tol).tolist() == [True]


def _brute_kde(samples, at, h):
    pts = np.asarray(canonical(samples[:, 0], samples[:, 1]))
    out = []
    for q in at:
        eq = np.asarray(equivalents(q[0], q[1]))
        d2 = np.min(np.sum(((eq[:, None, :] - pts[None]) / h) ** 2, axis=-1), axis=0)
        out.append(np.exp(-0.5 * d2).sum())
    return np.array(out)


def test_kde_density_against_a_direct_sum():
    g = de_group()
    samples = images(g, RNG.normal([-6.0, 0.8], 0.3, (400, 2)))[np.arange(400), RNG.integers(0, 6, 400)]
    at = np.array([[-6.0, 0.8], [6.0, 0.2], [3.0, 1.0]])
    _, dens = kde_density(g, samples, at, bandwidth=(0.4, 0.25))
    np.testing.assert_allclose(dens, _brute_kde(samples, at, np.array([0.4, 0.25])), rtol=1e-10)
    pts, at_samples = kde_density(g, samples, bandwidth=0.4)
    _, loo = kde_density(g, samples, bandwidth=0.4, leave_one_out=True)
    np.testing.assert_allclose(at_samples - loo, 1.0, atol=1e-12)
    np.testing.assert_allclose(at_samples, _brute_kde(samples, pts, 0.4), rtol=1e-10)
    mode = kde_mode(g, samples, bandwidth=0.4)
    assert np.linalg.norm(mode - [-6.0, 0.8]) < 0.3
    # the same numbers under jit in float32
    _, dens32 = jax.jit(lambda s, q: kde_density(g, s, q, bandwidth=0.4))(jnp.asarray(samples, jnp.float32),
                                                                          jnp.asarray(at, jnp.float32))
    np.testing.assert_allclose(np.asarray(dens32), _brute_kde(samples, at, 0.4), rtol=1e-3, atol=1e-3)


def test_wedge_sampler_is_area_uniform_and_the_box_sampler_folds():
    de = np.asarray(sample_wedge(jax.random.key(0), 100_000, 15.0))
    assert np.all(np.abs(de[:, 0]) <= 15) and np.all((de[:, 1] >= 0) & (de[:, 1] <= np.abs(de[:, 0]) / 3 + 1e-5))
    assert abs(np.abs(de[:, 0]).mean() - 10.0) < 0.05  # density of |D| is 2|D| / d_max^2
    group = _sign_flip_group()
    box = np.asarray(sample_folded_box(group, jax.random.key(1), 50_000, np.ones(6)))
    assert np.all(np.abs(box) <= 1)
    np.testing.assert_array_equal(np.asarray(fold(group, box)), box)
    # folding keeps the other coordinates uniform, and halves nothing else: |B43| stays uniform on [0, 1]
    assert abs(np.abs(box[:, 2]).mean() - 0.5) < 0.01 and abs(box[:, 0].mean()) < 0.01


def test_random_image_uses_every_map_equally_often():
    g = de_group()
    out = np.asarray(random_image(g, jax.random.key(2), jnp.tile(jnp.array([[-9.0, 1.0]]), (60_000, 1))))
    which = np.argmin(np.abs(out[:, None, :] - images(g, np.array([-9.0, 1.0]))[None]).sum(-1), axis=1)
    assert np.all(np.abs(np.bincount(which, minlength=6) - 10_000) < 400)
