"""lfjax against McPhase's compiled single-ion code (libmcphase.cf1ion), an independent implementation.

McPhase builds its own Stevens operators, Zeeman term and thermal averages; agreement to ~1e-5
(its physical constants differ from CODATA in the 6th digit) on every Stevens term, Kramers and
non-Kramers ions, axes and oblique directions, is a check lfjax's own numpy brute force cannot give.
"""

import numpy as np
import pytest

pytest.importorskip("libmcphase")

from lfjax.benchmarking import _mcphase  # noqa: E402
from lfjax.physics import chi_axes, chi_t_powder, ion  # noqa: E402
from lfjax.physics.magnetization import magnetization  # noqa: E402
from lfjax.physics.operators import STEVENS_NAMES  # noqa: E402
from lfjax.physics.sphere import hemisphere_quadrature  # noqa: E402

_SCALE = {"2": 1.0, "4": 1e-2, "6": 1e-4}
#: McPhase's constants (mu_B / k_B, N_A mu_B^2 / k_B) differ from CODATA 2018 by a few 1e-7..1e-6.
RTOL = 2e-5


def _draw(the_ion, seed):
    names = tuple(n for n in STEVENS_NAMES if int(n[1]) <= 2 * the_ion.j)
    rng = np.random.default_rng(seed)
    return names, rng.uniform(-1, 1, len(names)) * np.array([_SCALE[n[1]] for n in names])


@pytest.mark.parametrize("name", ["Er3+", "Dy3+", "Tb3+", "Ce3+", "Yb3+", "Ho3+"])
def test_zero_field_chi_along_axes_matches_cf1ion(name, x64):
    the_ion = ion(name)
    names, values = _draw(the_ion, 1)
    temps = np.array([2.0, 5.0, 20.0, 80.0, 300.0])
    ours = np.asarray(chi_axes(the_ion, dict(zip(names, values)), temps))
    ref = _mcphase.chi_axes(name, names, values[None], temps)[0]
    np.testing.assert_allclose(ours, ref, rtol=RTOL)
    powder = np.asarray(chi_t_powder(the_ion, dict(zip(names, values)), temps))
    np.testing.assert_allclose(powder, _mcphase.chi_t_powder(name, names, values[None], temps)[0], rtol=RTOL)


@pytest.mark.parametrize("name", ["Er3+", "Dy3+", "Tb3+", "Pr3+"])
def test_single_crystal_magnetization_matches_cf1ion(name, x64):
    """Every Stevens term (sine terms too), oblique directions, an M(H) sweep at 2 K and 5 K."""
    the_ion = ion(name)
    names, values = _draw(the_ion, 2)
    fields = np.array([1e3, 1e4, 3e4, 7e4])
    for direction in ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [1.0, -2.0, 3.0]):
        b = np.asarray(direction) / np.linalg.norm(direction)
        for temp in (2.0, 5.0):
            ours = np.asarray(magnetization(the_ion, dict(zip(names, values)), np.full(fields.shape, temp),
                                            fields, direction=b))
            ref = _mcphase.magnetization_sweep(name, names, values[None], temp, fields, b[None])[0]
            np.testing.assert_allclose(ours, ref, rtol=RTOL, err_msg=f"direction {direction}, {temp} K")


def test_sine_terms_carry_the_opposite_sign_in_cf1ion(x64):
    """The documented convention: without the sign flip, oblique M with sine terms disagrees."""
    the_ion = ion("Er3+")
    names, values = ("B20", "B4-3", "B6-6"), np.array([-0.3, 0.02, 3e-4])
    b = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)
    ours = float(magnetization(the_ion, dict(zip(names, values)), np.array([2.0]), np.array([3e4]), direction=b)[0])
    model = _mcphase.single_ion("Er3+", names)
    for name, value in zip(names, values):
        setattr(model, name.replace("-", "") + "S" if "-" in name else name, float(value))
    unflipped = float(np.ravel(model.magnetisation([2.0], [3.0], list(b), "bohr"))[0])
    flipped = _mcphase.magnetization_sweep("Er3+", names, values[None], 2.0, np.array([3e4]), b[None])[0, 0]
    assert abs(flipped / ours - 1) < RTOL
    assert abs(unflipped / ours - 1) > 1e-3


def test_powder_magnetization_default_rule_within_bound_of_cf1ion_fine_average(x64):
    """lfjax's default wedge rule vs McPhase averaged over a fine hemisphere rule: 2e-3 at 2 K."""
    the_ion = ion("Er3+")
    names = ("B20", "B40", "B43", "B60", "B63", "B66")
    values = np.array([-0.9, 5e-3, 0.05, -3e-5, 4e-4, 2e-4])
    fields = np.array([1e3, 1e4, 7e4])
    dirs, weights = hemisphere_quadrature(24, 48)
    ref = _mcphase.magnetization_sweep("Er3+", names, values[None], 2.0, fields, dirs, weights)[0]
    ours = np.asarray(magnetization(the_ion, dict(zip(names, values)), np.full(3, 2.0), fields))
    np.testing.assert_allclose(ours, ref, rtol=2e-3)
