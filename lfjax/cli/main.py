"""The `lfjax` command."""

from __future__ import annotations

import typer

from lfjax._xla import set_xla_flags

set_xla_flags()  # before JAX starts (see lfjax._xla)

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
