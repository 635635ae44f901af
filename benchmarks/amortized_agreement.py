"""Amortized posterior (raw and importance-corrected) against `lfjax sample` on held-out simulated curves.

    python benchmarks/amortized_agreement.py --model er3_axial --sets 20 --json benchmarks/results/amortized_agreement_er3_axial.json
    python benchmarks/amortized_agreement.py --sets 1 --samples 200 --particles 200     # a quick check

Logic in lfjax/benchmarking/amortized_agreement.py.
"""

import argparse
import json
import os
import tempfile

import lfjax  # noqa: F401  (sets the XLA CPU flag before JAX starts)
from lfjax.benchmarking.amortized_agreement import run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="er3_axial", help="shipped model name or checkpoint folder")
    parser.add_argument("--sets", type=int, default=20, help="held-out simulated curves")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=2000, help="amortized draws per curve")
    parser.add_argument("--particles", type=int, default=1000, help="SMC particles of lfjax sample")
    parser.add_argument("--mcmc", type=int, default=10, help="random-walk steps per SMC tempering step")
    parser.add_argument("--json", default=None, help="write the report here (atomically)")
    args = parser.parse_args()
    report = run(args.model, args.sets, args.seed, args.samples, args.particles, args.mcmc,
                 log=lambda s: print(s, flush=True))
    print(f"agreement within {report['tolerance_sd']} sd: corrected {report['corrected_agree_fraction']:.2f}, "
          f"raw {report['raw_agree_fraction']:.2f}; routes {report['routes']}")
    if args.json:
        folder = os.path.dirname(os.path.abspath(args.json))
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as fh:
            json.dump(report, fh, indent=1)
        os.replace(fh.name, args.json)


if __name__ == "__main__":
    main()
