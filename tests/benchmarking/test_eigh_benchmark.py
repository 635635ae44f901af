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
    result = CliRunner().invoke(app, ["bench", "--quick", "--json", str(path)])
    assert result.exit_code == 0, result.output
    assert "General models (curves/s):" in result.stdout and "| chi_t_D3d |" in result.stdout
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


def test_runs_float64_inside_a_context_and_leaves_the_global_flag_alone():
    assert not jax.config.jax_enable_x64  # nothing in the test session flips the global flag
    report = run_benchmark(BenchConfig.quick(paths=("fast_de_f64",)))
    assert not jax.config.jax_enable_x64
    assert report["results"]["fast_de_f64"]["dtype"] == "float64"
    assert report["agreement"]["fast_de_f64"]["max_rel_diff"] <= 1e-9  # a float32 run could not reach this


def test_unknown_path_lists_valid_ones():
    with pytest.raises(ValueError, match="fast_de_f32"):
        BenchConfig(paths=("fast",))


def test_table_lists_each_run(report):
    table = format_table(report)
    assert "| fast_de_f32 | float32 | 64 |" in table and "| numpy_batched | float64 | 64 |" in table
    assert len(table.splitlines()) == 2 + len(PATHS)


def test_size_below_chunk_is_padded_without_recompiling():
    small = run_benchmark(BenchConfig(sizes=(20,), paths=("fast_de_f32",), chunk=32, loop_n=4, check_n=8))
    entry = small["results"]["fast_de_f32"]
    assert entry["runs"][0]["chunk"] == 32 and entry["n_traces"] == 1
    assert small["agreement"]["fast_de_f32"]["agrees"]


def test_bad_paths_and_sizes_are_one_line_exit_2():
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "--quick", "--paths", "fast"])
    assert result.exit_code == 2 and result.stderr.startswith("error: paths must be among")
    assert len(result.stderr.strip().splitlines()) == 1
    result = runner.invoke(app, ["bench", "--sizes", "abc"])
    assert result.exit_code == 2 and "--sizes must be comma-separated integers" in result.stderr


def test_model_rows_in_the_same_json(report):
    from lfjax.benchmarking import _mcphase, format_model_rows
    from lfjax.benchmarking.models import MCPHASE_ABSENT, ROWS

    rows = report["model_rows"]
    assert set(ROWS) <= set(rows)
    with_mcphase = _mcphase.available()
    assert rows["targets"]["reference"] == ("mcphase" if with_mcphase else MCPHASE_ABSENT)
    for key in ROWS:
        row = rows[key]
        for impl in ("lfjax", "plain_jnp", "numpy_loop"):
            assert row[impl]["curves_per_s"] > 0 and row[impl]["n"] >= 1
        assert row["numpy_loop"]["max_rel_diff_vs_f64"] < 1e-9  # float64 loop against the float64 reference
        limit = 2e-5 if key.startswith("chi_t") else 1e-4
        assert row["lfjax"]["max_rel_diff_vs_f64"] < limit, (key, row["lfjax"])
        assert row["speedup_vs_numpy_loop"] == pytest.approx(
            row["lfjax"]["curves_per_s"] / row["numpy_loop"]["curves_per_s"])
        if with_mcphase:  # McPhase's constants differ from CODATA in the 6th digit
            assert row["mcphase"]["max_rel_diff_vs_f64"] < 3e-5, (key, row["mcphase"])
            assert row["speedup_vs_mcphase"] == pytest.approx(
                row["lfjax"]["curves_per_s"] / row["mcphase"]["curves_per_s"])
    assert rows["chi_t_D3d"]["parameters"] == ["B20", "B40", "B43", "B60", "B63", "B66"]
    assert len(rows["chi_t_general"]["parameters"]) == 27
    assert len(format_model_rows(report).splitlines()) == 2 + len(ROWS)
