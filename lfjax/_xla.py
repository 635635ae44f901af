"""The XLA CPU flag lfjax needs, set in the environment before JAX starts its backend.

XLA's concurrency-optimised CPU scheduler deadlocks (every thread idle, the result never ready)
on batched solvers and Jacobians through many small eigensolvers inside loops with jax 0.10 on a
2-core CPU: joint fits and even a plain jitted set likelihood hung in about half of the runs. The
plain scheduler has not hung once. `import lfjax` sets the flag; XLA reads XLA_FLAGS when jax is
first imported, so library users are protected when they import lfjax before jax (or export the
flag themselves); a flag the user already gave for this option is kept.
"""

from __future__ import annotations

import os

XLA_CPU_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler=false"


def set_xla_flags() -> None:
    """Adds `XLA_CPU_FLAG` to XLA_FLAGS unless the option is already there."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_enable_concurrency_optimized_scheduler" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {XLA_CPU_FLAG}".strip()
