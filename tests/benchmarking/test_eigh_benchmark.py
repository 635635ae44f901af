"""The throughput benchmark at tiny size: every path runs, compiles once, and agrees with float64."""

import json

import jax
import pytest
from typer.testing import CliRunner

from lfjax.benchmarking import PATHS, BenchConfig, format_table, run_benchmark
from lfjax.cli.main import app


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "eigh.json"
    previous = jax.config.jax_enable_x64
    result = CliRunner().invoke(app, ["bench", "--quick", "--json", str(path)])
    jax.config.update("jax_enable_x64", previous)
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text())


def test_report_has_environment_and_load(report):
    env = report["environment"]
    assert env["devices"] and env["backend"] in ("cpu", "gpu", "cuda", "rocm", "tpu")
    assert env["cpu_count"] >= 1 and env["jax"] == jax.__version__
    for key in ("jaxlib", "numpy", "date_utc", "platform"):
        assert env[key]
    assert len(report["loadavg_start"]) == 3
    assert report["temperatures_k"] == {"n": 64, "min": 1.8, "max": 300.0, "spacing": "log"}


def test_every_path_reports_figures(report):
    assert set(report["results"]) == set(PATHS)
    for path, entry in report["results"].items():
        expected_n = [report["config"]["loop_n"]] if path == "numpy_loop" else [64]
        assert entry["n_values"] == expected_n, path
        for run in entry["runs"]:
            assert run["seconds"] > 0 and run["curves_per_s"] > 0
            assert run["matrices_per_s"] == pytest.approx(run["curves_per_s"] * entry["matrices_per_curve"])
        assert entry["peak_rss_mib"] > 0 and entry["rss_peak_increase_mib"] >= 0
    assert report["results"]["numpy_loop"]["extrapolated"] is True
    assert report["results"]["general_de_f32"]["matrices_per_curve"] == 1
    assert report["results"]["general_de_f32"]["matrix_size"] == 16
    assert report["results"]["fast_de_f32"]["matrix_size"] == 8


def test_jax_paths_compile_once_per_chunk_shape(report):
    for path in ("general_de_f32", "fast_de_f32", "fast_de_f64", "general_stevens_f32"):
        entry = report["results"][path]
        assert entry["runs"][0]["n_chunks"] == 2  # N = 64 in chunks of 32: the second call reuses the first
        assert entry["n_traces"] == 1 and entry["compiled_once_per_chunk_shape"], path
        assert entry["compiles"][0]["compile_s"] > 0


def test_every_path_agrees_with_float64_general_path(report):
    assert report["all_agree"]
    for path, check in report["agreement"].items():
        limit = 1e-9 if check["tolerance"] <= 1e-9 else 1e-4
        assert check["max_rel_diff"] <= limit, (path, check)


def test_float64_required():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match="float64"):
            run_benchmark(BenchConfig.quick(paths=("fast_de_f32",)))
    finally:
        jax.config.update("jax_enable_x64", previous)


def test_unknown_path_lists_valid_ones():
    with pytest.raises(ValueError, match="fast_de_f32"):
        BenchConfig(paths=("fast",))


def test_table_lists_each_run(report):
    table = format_table(report)
    assert "| fast_de_f32 | float32 | 64 |" in table and "| numpy_batched | float64 | 64 |" in table
    assert len(table.splitlines()) == 2 + len(PATHS)


def test_size_below_chunk_is_padded_without_recompiling():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        small = run_benchmark(BenchConfig(sizes=(20,), paths=("fast_de_f32",), chunk=32, loop_n=4, check_n=8))
    finally:
        jax.config.update("jax_enable_x64", previous)
    entry = small["results"]["fast_de_f32"]
    assert entry["runs"][0]["chunk"] == 32 and entry["n_traces"] == 1
    assert small["agreement"]["fast_de_f32"]["agrees"]
