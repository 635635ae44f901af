"""Training throughput: steps/s and curves/s of the jitted on-the-fly train step.

    python benchmarks/training_throughput.py --json benchmarks/results/training_cpu.json
    python benchmarks/training_throughput.py --config configs/tiny.toml --steps 5 --batch 32 --json out.json

Compile time is measured separately; steady state times `--steps` steps after one warm-up call,
with `block_until_ready`. The simulation share is the steady-state time of the jitted batch
generator (prior -> chi T -> error model -> normalisation) divided by the step time.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Annotated, Optional

import typer


def _timed(fn, n: int) -> float:
    import jax

    out = fn(0)
    jax.block_until_ready(out)
    start = time.perf_counter()
    for i in range(n):
        out = fn(i + 1)
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / n


def run(config_path: Path, steps: int, batch: Optional[int], norm_curves: int) -> dict:
    """Returns the benchmark record (device, versions, figures)."""
    import flax
    import jax
    import jax.numpy as jnp

    from lfjax.data.normalise import fit_normalisation
    from lfjax.data.stream import make_batch
    from lfjax.models.posterior import build
    from lfjax.training import config as cfg_lib
    from lfjax.training.train import batch_mesh, init_params, make_optimizer, make_train_step

    overrides = [f"data.norm_curves={norm_curves}"] + ([f"train.batch_size={batch}"] if batch else [])
    cfg = cfg_lib.load(config_path, overrides)
    bs = cfg.train.batch_size
    net = build(cfg.model, cfg.data.n_temps)
    norm = fit_normalisation(cfg.data, cfg.model.fold_canonical)
    tx = make_optimizer(cfg)
    params = init_params(cfg, net, jax.random.key(0))
    state = {"params": params, "opt": tx.init(params)}
    step_fn = make_train_step(cfg, net, norm, tx, batch_mesh())
    data_key = jax.random.key(1)

    def train_once(i):
        state["params"], state["opt"], metrics = step_fn(state["params"], state["opt"], jnp.int32(i), data_key)
        return metrics

    t0 = time.perf_counter()
    jax.block_until_ready(train_once(0))
    compile_s = time.perf_counter() - t0
    step_s = _timed(train_once, steps)
    simulate = jax.jit(lambda k: make_batch(k, cfg.data, bs, norm=norm))
    sim_s = _timed(lambda i: simulate(jax.random.fold_in(data_key, i)), steps)
    return {
        "benchmark": "training_throughput", "config": str(config_path), "batch_size": bs, "steps": steps,
        "device": str(jax.devices()[0].device_kind), "platform": jax.default_backend(), "n_devices": jax.device_count(),
        "python": platform.python_version(), "jax": jax.__version__, "flax": flax.__version__,
        "compile_s": compile_s, "step_s": step_s, "steps_per_s": 1 / step_s, "curves_per_s": bs / step_s,
        "simulate_s": sim_s, "simulate_share": sim_s / step_s, "step_traces": step_fn.n_traces[0],
    }


def main(
    config: Annotated[Path, typer.Option(help="Training config.")] = Path("configs/er3_de.toml"),
    steps: Annotated[int, typer.Option(help="Timed steady-state steps.")] = 50,
    batch: Annotated[Optional[int], typer.Option(help="Batch size (default: the config's).")] = None,
    norm_curves: Annotated[int, typer.Option(help="Curves for the normalisation fit.")] = 10_000,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the record here.")] = None,
) -> None:
    """Time the training step and its data generation."""
    record = run(config, steps, batch, norm_curves)
    text = json.dumps(record, indent=2)
    if json_path is not None:
        from lfjax.io.atomic import write_text

        write_text(json_path, text + "\n")
    typer.echo(text)


if __name__ == "__main__":
    typer.run(main)
