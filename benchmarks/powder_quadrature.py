"""Convergence of the powder M quadrature (sphere.powder_quadrature) against a fine rule.

    python benchmarks/powder_quadrature.py [--draws 40]

Draws parameter sets per preset with each Stevens term alone splitting the levels by at most
`scale_k` (|B_kq| max|eig O_kq| <= scale_k), plus Ising-like Dy3+/Er3+ cases (large negative
B20), and prints the max relative difference of powder M at 2 K (100 Oe, 1 T, 7 T) between
each (n_theta, n_phi) and a fine (64, 96) rule. float64.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from lfjax.physics import ion
from lfjax.physics.magnetization import magnetization
from lfjax.physics.operators import operator_stack

PRESETS = {
    "axial": ("B20", "B40", "B60"),
    "D4h": ("B20", "B40", "B44", "B60", "B64"),
    "D3d": ("B20", "B40", "B43", "B60", "B63", "B66"),
    "D2h": ("B20", "B22", "B40", "B42", "B44", "B60", "B62", "B64", "B66"),
    "general": ("B20", "B22", "B2-1", "B40", "B4-3", "B43", "B6-6", "B62", "B6-5"),
}
RULES = [(8, 16), (12, 24), (16, 24), (16, 36), (24, 36), (24, 48)]
FINE = (64, 96)


def draw(the_ion, names, scale_k, n, rng):
    ops = operator_stack(the_ion.j, names)
    span = np.array([np.max(np.abs(np.linalg.eigvalsh(o))) for o in ops])
    return {nm: rng.uniform(-1, 1, n) * scale_k / s for nm, s in zip(names, span)}


def cases(n_draws, rng):
    for name in ("Er", "Dy", "Tb"):
        the_ion = ion(name)
        for preset, names in PRESETS.items():
            for scale in (3.0, 300.0):
                yield f"{name} {preset} <= {scale:g} K", the_ion, names, draw(the_ion, names, scale, n_draws, rng)
    for name in ("Dy", "Er"):  # Ising ground doublets: large negative B20, small rest
        the_ion = ion(name)
        names = PRESETS["D3d"]
        p = draw(the_ion, names, 20.0, n_draws, rng)
        p["B20"] = -rng.uniform(0.5, 3.0, n_draws)
        yield f"{name} Ising D3d", the_ion, names, p


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=24)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    temps = np.array([2.0, 2.0, 2.0])
    fields = np.array([100.0, 1e4, 7e4])
    worst = {r: 0.0 for r in RULES}
    print("case | " + " | ".join(f"{a}x{b}" for a, b in RULES))
    with jax.enable_x64(True):
        for label, the_ion, names, params in cases(args.draws, rng):
            fine = np.asarray(magnetization(the_ion, params, temps, fields, n_theta=FINE[0], n_phi=FINE[1]))
            row = []
            for rule in RULES:
                m = np.asarray(magnetization(the_ion, params, temps, fields, n_theta=rule[0], n_phi=rule[1]))
                err = float(np.max(np.abs(m / fine - 1)))
                worst[rule] = max(worst[rule], err)
                row.append(f"{err:.1e}")
            print(label, "|", " | ".join(row), flush=True)
    print("worst |", " | ".join(f"{worst[r]:.1e}" for r in RULES))


if __name__ == "__main__":
    main()
