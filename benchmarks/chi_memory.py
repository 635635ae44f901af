"""Peak resident memory and time of one large `lfjax.chi_t_powder` call (run in a fresh process).

    python benchmarks/chi_memory.py --kind general --n 1000000   # Er3+, params with B43, 64 T
    python benchmarks/chi_memory.py --kind de --n 200000         # Er3+, D and E (tridiagonal path)

Prints one JSON line: kind, n, n_temps, seconds (first call, compile included), peak RSS (MiB,
ru_maxrss of this process), and the RSS before the call. float32.
"""

from __future__ import annotations

import argparse
import json
import resource
import time


def run(kind: str, n: int, n_temps: int = 64, budget_mib: float | None = None) -> dict:
    import jax
    import numpy as np

    from lfjax.physics import chi_t_powder, ion

    er = ion("Er3+")
    rng = np.random.default_rng(0)
    temps = np.geomspace(1.8, 300.0, n_temps).astype(np.float32)
    if kind == "de":
        d = rng.uniform(-15, 15, n).astype(np.float32)
        params = {"D": d, "E": (np.abs(d) / 3 * rng.uniform(0, 1, n)).astype(np.float32)}
    else:
        scale = {"B20": 1.0, "B40": 1e-2, "B43": 1e-2, "B60": 1e-4, "B63": 1e-4, "B66": 1e-4}
        params = {k: (rng.uniform(-1, 1, n) * s).astype(np.float32) for k, s in scale.items()}
    kwargs = {} if budget_mib is None else {"budget_bytes": budget_mib * 1024**2}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    out = jax.block_until_ready(chi_t_powder(er, params, temps, **kwargs))
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert out.shape == (n, n_temps) and bool(np.all(np.isfinite(np.asarray(out[:: max(1, n // 1000)]))))
    return {"kind": kind, "n": n, "n_temps": n_temps, "seconds": seconds, "peak_rss_mib": peak,
            "rss_before_mib": before, "curves_per_s": n / seconds}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=("general", "de"), default="general")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--n-temps", type=int, default=64)
    parser.add_argument("--budget-mib", type=float, default=None)
    args = parser.parse_args()
    print(json.dumps(run(args.kind, args.n, args.n_temps, args.budget_mib)))


if __name__ == "__main__":
    main()
