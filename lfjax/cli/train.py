"""`lfjax train` and `lfjax plot-training`: train on the fly, and plot a run's loss curves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lfjax.cli._common import enable_compilation_cache, guarded


@guarded
def train(
    config: Annotated[Path, typer.Argument(help="TOML config, e.g. configs/er3_de.toml.")],
    steps: Annotated[Optional[int], typer.Option(help="Total steps (a resumed run continues to it).")] = None,
    workdir: Annotated[Optional[Path], typer.Option(help="Run folder (default: runs/<config name>).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the latest checkpoint in --workdir.")] = False,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override: section.key=value (repeatable).")] = None,
) -> None:
    """Train the VAE + flow on simulated curves generated on the fly (Ctrl-C saves and stops)."""
    from lfjax.training.interrupt import StopRequest

    # From here on Ctrl-C only requests a stop: the run saves the step it reached and exits 130.
    with StopRequest() as stop:
        enable_compilation_cache()  # a resumed run skips compiling the step
        result = _train(config, steps, workdir, resume, set_, stop)
        if result is None:
            typer.echo("interrupted before training started; nothing was saved", err=True)
            raise typer.Exit(code=130)
        if stop.requested:
            typer.echo(f"interrupted: saved step {result['step']} to {result['workdir']}; continue with --resume",
                       err=True)
            raise typer.Exit(code=130)
        typer.echo(f"trained to step {result['step']}; checkpoints, config.toml and metrics.jsonl in "
                   f"{result['workdir']}", err=True)


def _train(config, steps, workdir, resume, set_, stop):
    """Loads the config and trains with a progress bar; None if stopped before training was set up."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from lfjax.training import config as cfg_lib
    from lfjax.training.train import train_and_evaluate

    overrides = list(set_ or [])
    if steps is not None:
        overrides.append(f"train.steps={steps}")
    cfg = cfg_lib.load(config, overrides)
    if stop.requested:
        return None
    workdir = workdir or Path("runs") / config.stem
    columns = (
        TextColumn("step {task.completed:>7.0f}/{task.total:.0f}"), BarColumn(),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("train", total=cfg.train.steps, info="compiling...")

        def on_log(m):
            info = f"loss {m['loss']:.3f} nll {m['nll']:.3f} recon {m['recon']:.2e} | {m['curves_per_s']:,.0f} curves/s"
            progress.update(task, completed=m["step"], info=info)

        result = train_and_evaluate(cfg, workdir, resume=resume, on_log=on_log, stop=stop)
    return dict(result, workdir=workdir)


@guarded
def plot_training(
    workdir: Annotated[Path, typer.Argument(help="A run folder with metrics.jsonl.")],
    output: Annotated[Optional[Path], typer.Option(help="PNG path (default: WORKDIR/training.png).")] = None,
) -> None:
    """Plot a run's loss curves from WORKDIR/metrics.jsonl."""
    import json

    import numpy as np

    from lfjax.errors import ReaderError
    from lfjax.io.atomic import save_figure
    from lfjax.plotting.training import training_figure

    path = workdir / "metrics.jsonl"
    if not path.is_file():
        raise ReaderError(f"{path} not found; expected a run folder written by `lfjax train`")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReaderError(f"cannot read {path} ({exc}); expected the metrics.jsonl written by `lfjax train`") from None
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            raise ReaderError(f"{path} line {i} is not JSON; expected one JSON object per line") from None
    if not rows:
        raise ReaderError(f"{path} is empty; train for at least train.log_every steps first")
    steps = np.array([r["step"] for r in rows])
    losses = {k: np.array([r.get(k, np.nan) for r in rows], dtype=float) for k in ("loss", "nll", "recon", "kl")}
    output = output or workdir / "training.png"
    save_figure(training_figure(steps, losses, title=str(workdir)), output)
    typer.echo(f"wrote {output}", err=True)
