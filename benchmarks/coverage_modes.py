"""Where the posterior of one simulated coverage set puts its mass, mode by mode, and where the truth lies.

    python benchmarks/coverage_modes.py --preset D3d --index 3      # ~6 min on 2 cores

Set `index` of `benchmarks/joint_coverage.py` (same --seed, known noise, default curves): its
seeding fit, the SMC seeded by it, and per component of the fit's Laplace mixture the Laplace
weight against the share of SMC draws; logic in `lfjax.benchmarking.joint_coverage.mode_shares`.
"""

import argparse
import json

import lfjax  # noqa: F401  (sets the XLA CPU flag before JAX starts)
from lfjax.benchmarking.joint_coverage import mode_shares


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="D3d")
    parser.add_argument("--ion", default="Er3+")
    parser.add_argument("--index", type=int, default=3, help="set index of the coverage benchmark")
    parser.add_argument("--seed", type=int, default=0, help="the coverage benchmark's --seed")
    parser.add_argument("--starts", type=int, default=8)
    parser.add_argument("--particles", type=int, default=500)
    parser.add_argument("--mcmc", type=int, default=5)
    parser.add_argument("--json", default=None, help="also write the record here")
    args = parser.parse_args()
    rec = mode_shares(args.preset, args.index, args.seed, ion=args.ion, n_starts=args.starts,
                      n_particles=args.particles, n_mcmc=args.mcmc)
    print(f"set {rec['index']}: optima {[round(o, 2) for o in rec['objectives']]}")
    for k, (w, s) in enumerate(zip(rec["laplace_weights"], rec["draw_shares"])):
        print(f"  component {k}: Laplace weight {w:.3f}, SMC draws {s:.3f}" + ("  <- truth" if k == rec["truth_component"] else ""))
    print(f"truth HPD rank {rec['hpd_rank']:.3f}; Delta chi^2 to the best draw: truth {rec['truth_dchi2']:.1f}, "
          f"draws median {rec['draws_dchi2_q50']:.1f}, 90 % {rec['draws_dchi2_q90']:.1f}; "
          f"SMC {rec['smc_steps']} steps, {rec['smc_s']:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rec, fh, indent=1)


if __name__ == "__main__":
    main()
