"""Powder M(H) (Er3+, D3d, 2 K, 20 fields, float32): curves/s of lfjax, plain batched eigh and a
per-curve numpy loop, and the default rule's accuracy against a fine rule, in one run.

    python benchmarks/mh_powder_throughput.py --json benchmarks/results/mh_powder_cpu.json
    python benchmarks/mh_powder_throughput.py --curves 16 --prior 8 --hard 4      # seconds

Logic in lfjax/benchmarking/mh_powder.py.
"""

import argparse
import json

import lfjax  # noqa: F401  (sets the XLA CPU flag before JAX starts)
from lfjax.benchmarking.mh_powder import run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--curves", type=int, default=64, help="parameter sets timed per implementation")
    parser.add_argument("--loop", type=int, default=1, help="curves timed in the numpy loop (extrapolated)")
    parser.add_argument("--prior", type=int, default=200, help="prior draws in the accuracy check")
    parser.add_argument("--hard", type=int, default=40, help="draws per harder class (Ising, weak, moderate)")
    parser.add_argument("--json", default=None, help="write the report here")
    args = parser.parse_args()
    report = run(args.curves, args.loop, args.prior, args.hard, log=print)
    print(f"load average: start {report['loadavg_start']}, end {report['loadavg_end']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
