"""`lfjax train`, `lfjax plot-training` and the throughput benchmark at tiny size."""

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from lfjax.cli.main import app

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "configs" / "tiny.toml")


def test_train_resume_and_plot(tmp_path):
    runner = CliRunner()
    workdir = tmp_path / "run"
    args = ["train", TINY, "--workdir", str(workdir), "--set", "data.norm_curves=1000", "--set", "train.log_every=5"]
    result = runner.invoke(app, args + ["--steps", "10"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [5, 10] and all("loss" in r and "curves_per_s" in r for r in rows)
    result = runner.invoke(app, args + ["--steps", "15", "--resume"])
    assert result.exit_code == 0, result.output
    assert (workdir / "checkpoints" / "15").is_dir()
    result = runner.invoke(app, ["plot-training", str(workdir)])
    assert result.exit_code == 0, result.output
    assert (workdir / "training.png").stat().st_size > 1000


def test_user_errors_are_one_line_with_exit_code_2(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["train", TINY, "--workdir", str(tmp_path), "--set", "train.stepz=3"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: unknown key(s) ['stepz'] in [train]; valid keys:")
    assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(app, ["train", TINY, "--workdir", str(tmp_path / "none"), "--resume"])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["plot-training", str(tmp_path)])
    assert result.exit_code == 2 and "metrics.jsonl not found" in result.output


def test_throughput_benchmark_runs_at_tiny_size(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "training_throughput.py"), "--config", TINY, "--steps", "3",
         "--batch", "32", "--norm-curves", "500", "--json", str(out)],
        check=True, capture_output=True, text=True, cwd=REPO,
    )
    record = json.loads(out.read_text())
    assert record["batch_size"] == 32 and record["step_traces"] == 1
    assert record["curves_per_s"] > 0 and 0 < record["simulate_share"] < 5
    assert {"device", "jax", "flax", "steps_per_s", "compile_s"} <= set(record)


def test_sigint_while_loading_the_config_stops_before_training(tmp_path, monkeypatch):
    import os
    import signal

    import lfjax.training.config as cfg_lib

    real_load = cfg_lib.load

    def load_then_sigint(*args, **kwargs):  # a real Ctrl-C arriving while the command reads its config
        config = real_load(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return config

    monkeypatch.setattr(cfg_lib, "load", load_then_sigint)
    before = signal.getsignal(signal.SIGINT)
    result = CliRunner().invoke(app, ["train", TINY, "--workdir", str(tmp_path / "w")])
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines() == ["interrupted before training started; nothing was saved"]
    assert not (tmp_path / "w").exists() and signal.getsignal(signal.SIGINT) is before
