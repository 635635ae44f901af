"""Every row of shared/reference/chi_zero_field.csv: 1e-5 relative in float64, 1e-4 in float32."""

import csv
import json
from collections import defaultdict

import jax.numpy as jnp
import numpy as np

from lfjax.physics import chi_axes, ion


def _cases(shared_dir):
    groups = defaultdict(list)
    with open(shared_dir / "reference" / "chi_zero_field.csv") as fh:
        for row in csv.DictReader(fh):
            groups[row["case"]].append(row)
    return groups


def _check(shared_dir, dtype, rtol):
    groups = _cases(shared_dir)
    assert len(groups) >= 10
    worst = 0.0
    for rows in groups.values():
        params = {k: np.asarray(v, dtype=dtype) for k, v in json.loads(rows[0]["params_K"]).items()}
        temps = np.array([float(r["T_K"]) for r in rows], dtype=dtype)
        ref = np.array([[float(r[c]) for c in ("chi_x", "chi_y", "chi_z", "chiT_powder")] for r in rows])
        axes = np.asarray(chi_axes(ion(rows[0]["ion"]), params, temps, dtype=dtype), dtype=np.float64)
        got = np.concatenate([axes, (axes.mean(-1) * temps)[:, None]], axis=-1)
        worst = max(worst, float(np.max(np.abs(got - ref) / np.abs(ref))))
    assert worst < rtol, worst


def test_reference_float64(shared_dir, x64):
    _check(shared_dir, jnp.float64, 1e-5)


def test_reference_float32(shared_dir):
    _check(shared_dir, jnp.float32, 1e-4)
