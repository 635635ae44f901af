"""`import lfjax` sets the XLA CPU scheduler flag before JAX starts (see lfjax._xla)."""

import os
import subprocess
import sys


def _flags_after_import(env_flags):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    if env_flags is not None:
        env["XLA_FLAGS"] = env_flags
    code = "import os, lfjax; print(os.environ.get('XLA_FLAGS', ''))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_import_sets_the_scheduler_flag():
    assert _flags_after_import(None) == "--xla_cpu_enable_concurrency_optimized_scheduler=false"


def test_user_flags_are_kept_and_their_choice_wins():
    out = _flags_after_import("--xla_dump_to=/tmp/x --xla_cpu_enable_concurrency_optimized_scheduler=true")
    assert out == "--xla_dump_to=/tmp/x --xla_cpu_enable_concurrency_optimized_scheduler=true"
    out = _flags_after_import("--xla_dump_to=/tmp/x")
    assert out == "--xla_dump_to=/tmp/x --xla_cpu_enable_concurrency_optimized_scheduler=false"
