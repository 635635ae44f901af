"""Saved `jax.export` solvers (`engines.exported`): identical numbers, no tracing when loaded,
and unreadable or stale files rebuilt instead of failing."""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.engines import exported
from lfjax.inference.compiled import TRACES
from lfjax.inference.grid import _de_curves, de_curves
from lfjax.inference.refine import (
    CurveModel,
    FitData,
    Problem,
    _solve,
    batched_solve,
    refine,
)
from lfjax.physics import chi_t_powder_de, ion

ER = ion("Er3+")
TEMPS = np.geomspace(2.0, 300.0, 24)


@pytest.fixture(autouse=True)
def fresh_table():
    """Every test starts, and leaves, with an empty in-process table (as a new process would)."""
    exported.forget()
    yield
    exported.forget()
    exported._WARNED[0] = False


def _files(folder):
    return sorted(folder.glob(f"*{exported.SUFFIX}"))


def _grid_points():
    return np.array([[-6.0, 0.4], [5.0, 1.5], [0.3, 0.0]])


def test_saved_lm_solver_gives_the_traced_numbers_and_traces_nothing(tmp_path, x64):
    # the optimistix Levenberg-Marquardt solver (while loops, custom_jvp) through a saved export
    problem = Problem(ER, ("D", "E", "chi_dia", "f_m"))
    truth = np.asarray(chi_t_powder_de(ER, -6.0, 0.8, TEMPS, dtype=jnp.float64))
    arrays = (TEMPS, 0.98 * truth + 0.002 * TEMPS, np.zeros_like(TEMPS), np.ones_like(TEMPS))
    data = FitData(*(jnp.asarray(a) for a in arrays), jnp.ones((16, TEMPS.size)))
    starts = jnp.asarray(np.tile([[-5.0, 0.5], [4.0, 1.0]], (8, 1)))
    plain = np.asarray(_solve(problem, CurveModel.FAST, 40, starts, data))
    path = exported.save(tmp_path, "refine.solve.fast", _solve, (problem, CurveModel.FAST, 40), starts, data)
    assert path is not None and path.name.startswith("refine.solve.fast-")
    before = dict(TRACES)
    with exported.export_cache(tmp_path):
        loaded = np.asarray(batched_solve(problem, CurveModel.FAST, 40, starts, data))
    assert dict(TRACES) == before  # read from the file, not traced
    np.testing.assert_array_equal(plain, loaded)
    np.testing.assert_allclose(plain[0], [-6.0, 0.8], atol=1e-5)  # the truth, from (-5, 0.5)


@pytest.mark.slow
def test_refine_from_saved_solvers_is_bit_identical_and_traces_nothing(tmp_path, x64):
    truth = np.asarray(chi_t_powder_de(ER, -6.0, 0.8, TEMPS, dtype=jnp.float64))
    y = 0.98 * truth + 0.002 * TEMPS
    problem = Problem(ER, ("D", "E", "chi_dia", "f_m"))
    starts = np.array([[-5.0, 0.5], [4.0, 1.0]])

    def run():
        return refine(problem, TEMPS, y, np.zeros_like(TEMPS), starts, max_steps=60)

    traced = run()  # plain jit
    with exported.export_cache(tmp_path):
        first = run()  # exports, writes the files
    names = {p.name.split("-")[0] for p in _files(tmp_path)}
    assert {"refine.solve.fast", "refine.rss.fast", "refine.jacobian.zero", "refine.projected.zero"} <= names
    exported.forget()
    before = dict(TRACES)
    with exported.export_cache(tmp_path):
        loaded = run()  # a new process: every solver read from its file
    assert dict(TRACES) == before  # nothing traced
    assert abs(traced[0].values["D"]) == pytest.approx(6.0, abs=1e-6)  # the fit itself is right
    for other in (first, loaded):
        assert len(other) == len(traced)
        for a, b in zip(traced, other):
            assert a.values == b.values and a.rss == b.rss
            np.testing.assert_array_equal(a.residuals_rel, b.residuals_rel)
            np.testing.assert_array_equal(np.array(list(a.errors.values())), np.array(list(b.errors.values())))


def test_grid_curves_from_a_saved_export_equal_the_traced_ones(tmp_path, x64):
    points = _grid_points()
    plain = de_curves(ER, TEMPS, points)
    with exported.export_cache(tmp_path):
        saved = de_curves(ER, TEMPS, points)
    exported.forget()
    with exported.export_cache(tmp_path):
        loaded = de_curves(ER, TEMPS, points)
    np.testing.assert_array_equal(plain, saved)
    np.testing.assert_array_equal(plain, loaded)
    # the Curie law holds at high T: a physics check that the served function is the right one
    assert plain[:, -1] == pytest.approx(ER.curie_constant, rel=0.02)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other_key", "other_shapes", "empty"])
def test_unreadable_or_stale_file_is_rebuilt_with_one_warning(tmp_path, x64, caplog, damage):
    points = _grid_points()
    plain = de_curves(ER, TEMPS, points)
    with exported.export_cache(tmp_path):
        de_curves(ER, TEMPS, points)
    (path,) = _files(tmp_path)
    good = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00\x01not an export" * 50)
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "other_key":  # a valid file written for another key
        path.write_bytes(good.replace(good.split(b"\n")[1], b"0" * 64, 1))
    else:  # a valid export of the same function for other input shapes, under this name
        other = tmp_path / "other"
        with exported.export_cache(other):
            de_curves(ER, TEMPS[:10], points)
        blob = _files(other)[0].read_bytes()
        header = b"\n".join(good.split(b"\n")[:2]) + b"\n"  # this key's header over the other shapes' export
        path.write_bytes(header + blob[len(header):])
    exported.forget()
    with caplog.at_level(logging.WARNING, logger="lfjax"), exported.export_cache(tmp_path):
        again = de_curves(ER, TEMPS, points)
        exported.forget()
        de_curves(ER, TEMPS, points)  # a second bad read in the same process stays silent
    np.testing.assert_array_equal(plain, again)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "unreadable" in warnings[0].getMessage(), caplog.text
    assert path.read_bytes().startswith(exported.MAGIC) and len(path.read_bytes()) > 1000  # rebuilt
    exported.forget()
    before = dict(TRACES)
    with exported.export_cache(tmp_path):
        np.testing.assert_array_equal(plain, de_curves(ER, TEMPS, points))
    assert dict(TRACES) == before


def test_key_follows_shapes_statics_and_precision():
    a = [jnp.zeros((4, 2), jnp.float32)]
    tree = jax.tree.structure((0,))
    base = exported.cache_key("f", (ER,), tree, a)
    assert exported.cache_key("f", (ER,), tree, [jnp.zeros((4, 2), jnp.float32)]) == base
    assert exported.cache_key("f", (ER,), tree, [jnp.zeros((5, 2), jnp.float32)]) != base
    assert exported.cache_key("f", (ER,), tree, [jnp.zeros((4, 2), jnp.int32)]) != base
    assert exported.cache_key("f", (ion("Dy3+"),), tree, a) != base
    assert exported.cache_key("g", (ER,), tree, a) != base
    with jax.enable_x64(True):
        assert exported.cache_key("f", (ER,), tree, a) != base


def test_without_a_folder_call_is_the_jitted_function(tmp_path, x64):
    before = TRACES["grid.de_curves"]
    d = jnp.asarray(np.linspace(-5, 5, 2048))
    out = exported.call("grid.de_curves", _de_curves, (ER,), d, 0.1 * d, jnp.asarray(TEMPS))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(_de_curves(ER, d, 0.1 * d, jnp.asarray(TEMPS))))
    assert TRACES["grid.de_curves"] - before <= 1 and not _files(tmp_path)


def test_unwritable_folder_still_computes(tmp_path, x64):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    points = _grid_points()
    with exported.export_cache(blocker / "sub"):
        out = de_curves(ER, TEMPS, points)
    np.testing.assert_array_equal(out, de_curves(ER, TEMPS, points))


def test_saving_prunes_files_unused_for_a_month(tmp_path, x64):
    import os
    import time

    old, recent = tmp_path / f"refine.solve.fast-old{exported.SUFFIX}", tmp_path / f"grid.de_curves-recent{exported.SUFFIX}"
    for path, age_days in ((old, 40), (recent, 10)):
        path.write_bytes(b"x")
        stamp = time.time() - age_days * 86400
        os.utime(path, (stamp, stamp))
    keep = tmp_path / "notes.txt"  # not a saved solver: never touched
    keep.write_text("mine")
    os.utime(keep, (0, 0))
    with exported.export_cache(tmp_path):
        de_curves(ER, TEMPS, _grid_points())
    assert not old.exists() and recent.exists() and keep.exists()
    assert len(_files(tmp_path)) == 2  # the recent one and the new export


def test_engine_solvers_are_saved_and_served_with_the_same_numbers(tmp_path, x64):
    # the global fit's objective and the set likelihood's predictions, as `lfjax infer` runs them
    from _sim import simulate_curves

    from lfjax.engines import fit
    from lfjax.engines import likelihood as lk
    from lfjax.engines.report import predictions
    from lfjax.physics import without_host_threads
    from lfjax.spec import model_spec

    curves = simulate_curves(ER, {"B20": -0.6, "B40": 0.003, "B60": -2e-5}, n_t=10, n_h=5)
    problem, data = lk.build(curves, model_spec(ER, preset="axial"))
    jdata = lk.to_jax(data)
    theta = np.asarray(lk.draw_prior(problem, jax.random.key(3), 20))
    sigmas = np.array([0.003, 0.01])
    # exports are traced with jaxlib's eigh; the plain jitted functions too here (their first trace)
    with without_host_threads():
        plain = fit.objective(problem, theta, jdata, sigmas), predictions(problem, data, theta[:3])
    with exported.export_cache(tmp_path):
        saved = fit.objective(problem, theta, jdata, sigmas), predictions(problem, data, theta[:3])
    assert {p.name.split("-")[0] for p in _files(tmp_path)} == {"fit.objective", "likelihood.predict"}
    exported.forget()
    with exported.export_cache(tmp_path):
        loaded = fit.objective(problem, theta, jdata, sigmas), predictions(problem, data, theta[:3])
    for other in (saved, loaded):
        np.testing.assert_array_equal(plain[0], other[0])
        for a, b in zip(plain[1], other[1]):
            np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(plain[0])) and plain[1][1].shape == (3, 5)
