"""Curves/s of the Er3+ chi T paths; same options as `lfjax bench` (see lfjax/benchmarking/eigh.py).

    python benchmarks/eigh_throughput.py --json benchmarks/results/eigh_cpu.json
    python benchmarks/eigh_throughput.py --quick --paths fast_de_f32,general_de_f32
"""

import typer

from lfjax.cli.bench import bench

if __name__ == "__main__":
    typer.run(bench)
