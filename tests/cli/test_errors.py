"""User mistakes are one line `error: ...` and exit 2; anything else is a bug: traceback, exit 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lfjax.cli.main import app
from lfjax.errors import LfjaxError

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "configs" / "tiny.toml")
runner = CliRunner()


def _one_line_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.output


def _bad_toml(tmp_path: Path) -> str:
    path = tmp_path / "bad.toml"
    path.write_text("[train]\nstepz = 3\n")
    return str(path)


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda tmp: ["simulate", "--ion", "Xx", "--param", "D=1"], "unknown ion 'Xx'"),
        (lambda tmp: ["train", str(tmp / "missing.toml")], "missing.toml not found"),
        (lambda tmp: ["train", _bad_toml(tmp), "--workdir", str(tmp / "w")], "unknown key(s) ['stepz'] in [train]"),
        (lambda tmp: ["train", TINY, "--workdir", str(tmp), "--set", "data.d_max_k=-1"], "[data]: data needs"),
        (lambda tmp: ["train", TINY, "--workdir", str(tmp / "none"), "--resume"], "does not exist"),
        (lambda tmp: ["plot-training", str(tmp)], "metrics.jsonl not found"),
        (lambda tmp: ["fit", str(tmp / "nope.dat")], "cannot read"),
        (lambda tmp: ["simulate", "--param", "D=1", "--temps-file", str(tmp / "t.txt")], "cannot read"),
        (lambda tmp: ["bench", "--quick", "--paths", "fast"], "paths must be among"),
    ],
    ids=["unknown-ion", "missing-config", "bad-config-key", "bad-config-range", "missing-checkpoint",
         "missing-metrics", "missing-data-file", "missing-temps-file", "bad-bench-path"],
)
def test_user_mistakes_are_one_line_exit_2(tmp_path, make_args, message):
    _one_line_exit_2(make_args(tmp_path), message)


def test_unwritable_output_paths_are_user_errors(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    _one_line_exit_2(["simulate", "--param", "D=1", "--temps", "2,5", "--output", str(blocker / "out.csv")],
                     "cannot create the folder")
    _one_line_exit_2(["simulate", "--param", "D=1", "--temps", "2,5", "--output", str(tmp_path)], "is a folder")
    _one_line_exit_2(["train", TINY, "--workdir", str(blocker)], "is a file")
    assert blocker.read_text() == "x"


def test_a_bug_raising_value_error_keeps_its_traceback_and_exits_1(monkeypatch, tmp_path):
    import lfjax.training.config as cfg_lib

    def broken(*args, **kwargs):
        raise ValueError("internal inconsistency")  # a bug, not a domain error

    monkeypatch.setattr(cfg_lib, "load", broken)
    result = runner.invoke(app, ["train", TINY, "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert type(result.exception) is ValueError and not isinstance(result.exception, LfjaxError)
    assert "error:" not in result.stderr


_BUGGY_BENCH = """
import sys
import lfjax.benchmarking as bench
def broken(*args, **kwargs):
    return 1 / 0
bench.run_benchmark = broken
from lfjax.cli.main import app
app(prog_name="lfjax")
"""


def test_a_bug_in_a_real_process_prints_the_traceback_and_exits_1():
    proc = subprocess.run([sys.executable, "-c", _BUGGY_BENCH, "bench", "--quick"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback (most recent call last)" in proc.stderr and "ZeroDivisionError" in proc.stderr
    assert "error:" not in proc.stderr.splitlines()[-1]
    proc = subprocess.run([sys.executable, "-c", "from lfjax.cli.main import app; app(prog_name='lfjax')",
                           "simulate", "--ion", "Xx", "--param", "D=1"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: unknown ion 'Xx'") and "Traceback" not in proc.stderr
