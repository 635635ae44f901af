"""Convergence of the powder M quadrature (sphere.powder_quadrature) against a fine rule.

    python benchmarks/powder_quadrature.py [--draws 40]

Draws parameter sets per preset with each Stevens term alone splitting the levels by at most
`scale_k` (|B_kq| max|eig O_kq| <= scale_k), plus Ising-like Dy3+/Er3+ cases (large negative
B20; for DE and D2h also Ising axes along x or y), plus Er3+/Dy3+ D3d draws of the comparable-energy
prior (`presets.prior_ranges`, 500 K) and Ising-like draws from it (`lfjax.benchmarking.mh_powder`,
which also times the default rule), and prints the max relative difference of
powder M at 2 K (100 Oe, 1 T, 7 T) between each rule and a fine one: product rules
(n_theta, n_phi) against (64, 96) for presets with a 3- or 4-fold axis; reduced Lebedev rules
(order) against order 131 for DE, D2h and general (whose default is Lebedev). float64.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from lfjax.benchmarking import mh_powder
from lfjax.physics import ion
from lfjax.physics.magnetization import magnetization
from lfjax.physics.operators import operator_stack

PRESETS = {
    "DE": ("B20", "B22"),
    "axial": ("B20", "B40", "B60"),
    "D4h": ("B20", "B40", "B44", "B60", "B64"),
    "D3d": ("B20", "B40", "B43", "B60", "B63", "B66"),
    "D2h": ("B20", "B22", "B40", "B42", "B44", "B60", "B62", "B64", "B66"),
    "general": ("B20", "B22", "B2-1", "B40", "B4-3", "B43", "B6-6", "B62", "B6-5"),
}
RULES = [(5, 18), (6, 18), (7, 18), (8, 18), (8, 24), (12, 24), (16, 36), (24, 48)]
FINE = (64, 96)
ORDERS = [23, 29, 35, 41, 47]
FINE_ORDER = 131
LEBEDEV = ("DE", "D2h", "general")


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
    for name in ("Er", "Dy"):  # D3d from the 500 K comparable-energy prior, and its Ising-like corner
        the_ion = ion(name)
        prior = mh_powder.prior_draws(the_ion, n_draws, rng)
        yield f"{name} D3d prior 500 K", the_ion, PRESETS["D3d"], dict(zip(PRESETS["D3d"], prior.T))
        ising = mh_powder.ising_draws(the_ion, n_draws, rng)
        yield f"{name} D3d Ising prior", the_ion, PRESETS["D3d"], dict(zip(PRESETS["D3d"], ising.T))
    for name in ("Dy", "Er"):  # Ising ground doublets: large negative B20, small rest
        the_ion = ion(name)
        names = PRESETS["D3d"]
        p = draw(the_ion, names, 20.0, n_draws, rng)
        p["B20"] = -rng.uniform(0.5, 3.0, n_draws)
        yield f"{name} Ising D3d", the_ion, names, p
        for axis, (d_sign, e_ratio) in {"z": (-1, 0.0), "x": (1, 1.0), "y": (1, -1.0)}.items():
            d = d_sign * rng.uniform(1.0, 6.0, n_draws)  # D = 3 B20, E = B22: Ising axis along `axis`
            yield f"{name} Ising DE {axis}", the_ion, PRESETS["DE"], {"B20": d / 3, "B22": e_ratio * d}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=24)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    temps = np.array([2.0, 2.0, 2.0])
    fields = np.array([100.0, 1e4, 7e4])
    worst = {r: 0.0 for r in RULES + ORDERS}
    print("product rules (3-, 4-fold axis) | " + " | ".join(f"{a}x{b}" for a, b in RULES))
    print("Lebedev orders (DE, D2h, general) | " + " | ".join(str(o) for o in ORDERS))
    with jax.enable_x64(True):
        for label, the_ion, names, params in cases(args.draws, rng):
            lebedev = any(p in label.split() for p in LEBEDEV)
            rules = [{"order": o} for o in ORDERS] if lebedev else [dict(n_theta=a, n_phi=b) for a, b in RULES]
            keys = ORDERS if lebedev else RULES
            ref = {"order": FINE_ORDER} if lebedev else dict(n_theta=FINE[0], n_phi=FINE[1])
            fine = np.asarray(magnetization(the_ion, params, temps, fields, **ref))
            row = []
            for key, rule in zip(keys, rules):
                m = np.asarray(magnetization(the_ion, params, temps, fields, **rule))
                err = float(np.max(np.abs(m / fine - 1)))
                worst[key] = max(worst[key], err)
                row.append(f"{err:.1e}")
            print(label, "|", " | ".join(row), flush=True)
    print("worst product |", " | ".join(f"{worst[r]:.1e}" for r in RULES))
    print("worst Lebedev |", " | ".join(f"{worst[o]:.1e}" for o in ORDERS))


if __name__ == "__main__":
    main()
