"""`lfjax evaluate`: accuracy, calibration and least-squares comparison of a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lfjax.cli._common import guarded
from lfjax.errors import UserInputError


def _positive(value: int, option: str, allow_zero: bool = False) -> int:
    if value < 0 or (value == 0 and not allow_zero):
        raise UserInputError(f"{option} must be {'>= 0' if allow_zero else '> 0'}; got {value}")
    return value


@guarded
def evaluate(
    model: Annotated[str, typer.Argument(help='"default" (the shipped model), a train workdir or a checkpoint folder.')],
    n: Annotated[int, typer.Option("--n", help="Fresh test curves drawn from the model's own prior.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the test curves, posterior draws and LS starts.")] = 0,
    out: Annotated[Optional[Path], typer.Option(help="Output folder (default: runs/evaluate).")] = None,
    samples: Annotated[int, typer.Option(help="Posterior draws per curve.")] = 1000,
    refine_n: Annotated[int, typer.Option(help="Curves refined from the posterior modes (0: none).")] = 200,
    ls_n: Annotated[int, typer.Option(help="Curves fitted by the least-squares baselines (0: none).")] = 200,
    starts: Annotated[int, typer.Option(help="Starts of the multi-start least squares.")] = 32,
    batch: Annotated[int, typer.Option(help="Curves per batched call.")] = 25,
    cut_k: Annotated[Optional[float], typer.Option(
        "--cut-k", help="Models trained on cut curves: evaluate on curves seen only from this temperature (K) up.")] = None,
) -> None:
    """Evaluate MODEL on fresh prior curves: coverage, contraction, OOD rate (D, E: hit rate, oracle, LS too)."""
    _positive(n, "--n")
    _positive(samples, "--samples")
    _positive(starts, "--starts")
    _positive(batch, "--batch")
    _positive(refine_n, "--refine-n", allow_zero=True)
    _positive(ls_n, "--ls-n", allow_zero=True)

    from lfjax.evaluation.report import write_outputs
    from lfjax.evaluation.run import evaluate as run_evaluation
    from lfjax.models.trained import load_model

    trained = load_model(model)  # CheckpointError: one line, exit 2
    out = out or Path("runs") / "evaluate"
    if not trained.config.data.is_de:
        _evaluate_any(trained, n=n, seed=seed, samples=samples, batch=batch, out=out, t_cut_k=cut_k)
        return
    if cut_k is not None:
        from lfjax.errors import UserInputError

        raise UserInputError("--cut-k applies to models trained on cut curves (e.g. er3_axial), not to D, E models")
    summary, arrays = run_evaluation(
        trained, n=n, seed=seed, n_samples=samples, refine_n=refine_n, ls_n=ls_n, n_starts=starts, batch=batch,
        log=lambda line: typer.echo(line, err=True),
    )
    written = write_outputs(summary, arrays, out)
    typer.echo(
        f"mode hit rate {summary['mode_hit_rate']:.3f} (exact posterior {summary['oracle_hit_rate']:.3f}), "
        f"coverage 50/90 % {summary['coverage_50']:.2f}/{summary['coverage_90']:.2f}, "
        f"OOD {summary['ood_rate']:.3f}; wrote {', '.join(p.name for p in written)} to {out}"
    )


def _evaluate_any(trained, *, n: int, seed: int, samples: int, batch: int, out: Path, t_cut_k=None) -> None:
    """Any model other than D, E: calibration, contraction per parameter and OOD rate."""
    from lfjax.evaluation.general import evaluate_any
    from lfjax.evaluation.general_report import write_outputs

    summary, arrays = evaluate_any(trained, n=n, seed=seed, n_samples=samples, batch=batch, t_cut_k=t_cut_k,
                                   log=lambda line: typer.echo(line, err=True))
    written = write_outputs(summary, arrays, out)
    contraction = ", ".join(f"{k} {v['median']:.2f}" for k, v in summary["contraction"].items())
    typer.echo(
        f"HPD coverage 50/90 % {summary['coverage_50']:.3f}/{summary['coverage_90']:.3f} "
        f"({', '.join(summary['model_parameters'])}; with nuisances {summary['coverage_all_50']:.3f}/"
        f"{summary['coverage_all_90']:.3f}), contraction (median sd/prior sd) {contraction}, "
        f"OOD {summary['ood_rate']:.3f}; wrote {', '.join(p.name for p in written)} to {out}"
    )
