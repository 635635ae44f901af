"""The `lfjax` command."""

from __future__ import annotations

import os

import typer

#: XLA's concurrency-optimised CPU scheduler deadlocks (every thread idle, the result never ready)
#: on batched finite-difference Jacobians through many small eigensolvers inside loops with
#: jax 0.10.2 on this 2-core CPU: the joint fit of `lfjax fit`/`lfjax sample` hung in about half
#: of the runs. The plain scheduler has not hung once. Set before JAX starts its backend.
XLA_CPU_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler=false"


def _set_xla_flags() -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_enable_concurrency_optimized_scheduler" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {XLA_CPU_FLAG}".strip()


_set_xla_flags()

from lfjax.cli.bench import bench
from lfjax.cli.evaluate import evaluate
from lfjax.cli.fit import fit
from lfjax.cli.infer import infer
from lfjax.cli.sample import sample
from lfjax.cli.simulate import simulate
from lfjax.cli.train import plot_training, train

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Ligand-field parameters of lanthanide complexes from magnetic susceptibility.")
app.command()(simulate)
app.command()(train)
app.command("plot-training")(plot_training)
app.command()(bench)
app.command()(evaluate)
app.command()(fit)
app.command()(infer)
app.command()(sample)


@app.callback()
def _main() -> None:
    """Ligand-field parameters of lanthanide complexes from magnetic susceptibility."""
