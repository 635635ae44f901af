"""`lfjax bench`: curves/s of the chi T paths (numpy, general JAX, fast second-order, Stevens)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Optional

import typer

from lfjax.cli._common import guarded
from lfjax.errors import UserInputError


def _ints(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(float(v)) for v in text.split(",") if v.strip())
    except ValueError:
        raise UserInputError(f"{option} must be comma-separated integers such as 1000,1e4,1e6; got {text!r}") from None
    if not values:
        raise UserInputError(f"{option} must list at least one size; got {text!r}")
    return values


@guarded
def bench(
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the full report (JSON) here.")] = None,
    sizes: Annotated[Optional[str], typer.Option(help="N values, comma-separated (default 1000,1e4,1e5,1e6).")] = None,
    paths: Annotated[Optional[str], typer.Option(help="Paths, comma-separated (default: all).")] = None,
    chunk: Annotated[int, typer.Option(help="Parameter sets per call of the fast and numpy-batched paths.")] = 1 << 12,
    quick: Annotated[bool, typer.Option(help="Tiny sizes (N = 64) to check that everything runs.")] = False,
) -> None:
    """Benchmark curves/s for Er3+ chi T at 64 temperatures (compile time apart; see the JSON)."""
    import json

    from lfjax.benchmarking import PATHS, BenchConfig, format_model_rows, format_table, run_benchmark
    from lfjax.io.atomic import write_text

    chosen = tuple(p.strip() for p in paths.split(",") if p.strip()) if paths else PATHS
    wanted = _ints(sizes, "--sizes") if sizes else None
    try:  # BenchConfig checks its fields with ValueError; here they are command-line input
        if quick:
            config = BenchConfig.quick(paths=chosen)
            if wanted:
                config = dataclasses.replace(config, sizes=wanted, max_n=tuple((p, max(wanted)) for p in PATHS))
        else:
            config = BenchConfig(paths=chosen, chunk=chunk, **({"sizes": wanted} if wanted else {}))
    except ValueError as exc:
        raise UserInputError(f"{exc} (check --paths, --sizes and --chunk)") from None
    report = run_benchmark(config, log=lambda line: typer.echo(line, err=True))
    typer.echo(format_table(report))
    if report.get("model_rows"):
        typer.echo("\nGeneral models (curves/s):\n" + format_model_rows(report))
    typer.echo(f"load average at start: {', '.join(f'{x:.2f}' for x in report['loadavg_start'])}; "
               f"all paths agree with float64: {report['all_agree']}")
    if json_path is not None:
        write_text(json_path, json.dumps(report, indent=2) + "\n")
        typer.echo(f"wrote {json_path}", err=True)
