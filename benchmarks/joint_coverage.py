"""Calibration of the joint-set fit and importance posterior on simulated Er3+ sets (chi(T) + M(H)).

    python benchmarks/joint_coverage.py --preset axial --sets 50 --out benchmarks/results/joint_coverage_axial.json
    python benchmarks/joint_coverage.py --preset D3d --sets 30 --out benchmarks/results/joint_coverage_d3d.json
    python benchmarks/joint_coverage.py --preset axial --sets 2 --draws 256 --starts 8      # a minute
    python benchmarks/joint_coverage.py --preset D3d --sets 50 --noise known --starts 8 --sampler smc \
        --draws 500 --mcmc 5 --mh-direction x      # M(H) along x (an oriented crystal), ~1 min per set

Shards: `--indices 0:25` here and `--indices 25:50` elsewhere (same other flags), then
    python benchmarks/joint_coverage.py --merge a.json b.json --out merged.json

Logic in lfjax/benchmarking/joint_coverage.py; the JSON is rewritten after every set.
"""

import argparse
import json

import lfjax  # noqa: F401  (sets the XLA CPU flag before JAX starts)
from lfjax.benchmarking.joint_coverage import merge, run, write_json


def parse_indices(text: str) -> list[int]:
    """'3,7,10:14' -> [3, 7, 10, 11, 12, 13] (a:b is Python's half-open range)."""
    out = []
    for part in text.split(","):
        lo, sep, hi = part.partition(":")
        out += list(range(int(lo), int(hi))) if sep else [int(part)]
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="axial", help="model preset (axial, D3d, ...)")
    parser.add_argument("--ion", default="Er3+")
    parser.add_argument("--sets", type=int, default=50, help="simulated measurement sets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sampler", choices=("importance", "smc", "nested"), default="importance",
                        help="posterior: importance sampling around the fit's optima, SMC seeded by them, or "
                             "nested sampling from the prior")
    parser.add_argument("--draws", type=int, default=1000,
                        help="importance draws per round (SMC: particles; nested: posterior draws kept)")
    parser.add_argument("--live", type=int, default=200, help="nested: live points")
    parser.add_argument("--regions", type=int, default=1, help="nested: regions the live points may be cut into")
    parser.add_argument("--chain-steps", type=int, default=2000,
                        help="nested: steps kept of the Metropolis chains from the nested draws (0: none)")
    parser.add_argument("--mcmc", type=int, default=5, help="SMC: Metropolis steps per tempering step")
    parser.add_argument("--rounds", type=int, default=3, help="importance rounds at most")
    parser.add_argument("--starts", type=int, default=16, help="fit starts")
    parser.add_argument("--noise", choices=("integrated", "known"), default="integrated",
                        help="integrated: curves without a noise level (integrated out); known: the true level")
    parser.add_argument("--noise-range", type=float, nargs=2, default=(0.003, 0.01), help="relative noise (low, high)")
    parser.add_argument("--truth-box", type=float, default=1.0, help="truths drawn from this fraction of the prior box")
    parser.add_argument("--temps", type=int, default=20, help="points of the chi(T) curve")
    parser.add_argument("--fields", type=int, default=8, help="points of the M(H) curve")
    parser.add_argument("--mh-direction", choices=("powder", "x", "y", "z"), default="powder",
                        help="field direction of the M(H) curve: powder, or an oriented crystal's axis")
    parser.add_argument("--explore-points", type=int, default=25,
                        help="fit explores on at most this many points per curve first (>= the curve length: off)")
    parser.add_argument("--max-wall-s", type=float, default=None, help="start no new set after this many seconds")
    parser.add_argument("--out", default=None, help="JSON report (rewritten atomically after every set)")
    parser.add_argument("--resume", action="store_true", help="keep the sets of an existing --out and go on")
    parser.add_argument("--indices", default=None, help="run only these sets, e.g. '0:25' or '3,7,10:14' (a shard)")
    parser.add_argument("--claim-dir", default=None,
                        help="folder shared by processes running the same --indices: each set runs once, in the first to claim it")
    parser.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                        help="join shard reports of one configuration into --out (runs nothing)")
    args = parser.parse_args()
    if args.merge:
        reports = []
        for path in args.merge:
            with open(path) as fh:
                reports.append(json.load(fh))
        report = merge(reports)
        if args.out:
            write_json(report, args.out)
        print(f"{report['n_sets_done']} sets from {len(reports)} shards: fit no worse than truth "
              f"{report['fit_no_worse_than_truth']:.2f}, coverage90 {report['coverage90']:.2f} +- "
              f"{report['coverage90_se']:.2f}, coverage50 {report['coverage50']:.2f} +- {report['coverage50_se']:.2f}")
        return
    report = run(args.preset, args.sets, args.seed, args.draws, args.starts, args.noise, ion=args.ion,
                 truth_box=args.truth_box, noise_range=tuple(args.noise_range), max_rounds=args.rounds,
                 n_temps=args.temps, n_fields=args.fields, explore_points=args.explore_points,
                 max_wall_s=args.max_wall_s, out=args.out, resume=args.resume, log=lambda m: print(m, flush=True),
                 sampler=args.sampler, n_mcmc=args.mcmc, mh_direction=args.mh_direction, n_live=args.live, max_regions=args.regions, chain_steps=args.chain_steps,
                 indices=None if args.indices is None else parse_indices(args.indices), claim_dir=args.claim_dir)
    print(f"{report['n_sets_done']} sets: fit no worse than truth {report['fit_no_worse_than_truth']:.2f}, "
          f"coverage90 {report['coverage90']:.2f} +- {report['coverage90_se']:.2f}, "
          f"coverage50 {report['coverage50']:.2f} +- {report['coverage50_se']:.2f}, "
          f"median ESS {report['median_ess']:.0f}, {report['wall_s']:.0f} s; "
          f"load {report['loadavg_start']} -> {report['loadavg_end']}")


if __name__ == "__main__":
    main()
