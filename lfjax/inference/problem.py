"""What refinement fits: the free parameters, the data as the solver sees them, the curve model.

`Problem` (ion + free parameters, with the likelihood's symmetry on them), `FitData` (one padded
data set, a pytree), `CurveModel` (which powder chi T is simulated), `Solution` (one refined
result), and the model itself: `curve` and `projected` (relative residuals with the linear
parameters chi_dia, f_m projected out in closed form). The solver is `inference.refine`.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.errors import ParameterError
from lfjax.physics import chi_t_powder, chi_t_powder_de
from lfjax.physics.hamiltonian import normalise_name
from lfjax.physics.ions import Ion
from lfjax.physics.operators import parse_stevens_name
from lfjax.symmetry import SymmetryGroup, de_group

LINEAR_NAMES = ("chi_dia", "f_m")
#: Internal scale of each ligand-field parameter by rank k: the solver sees value / scale.
SCALE_BY_K = {2: 1.0, 4: 1e-2, 6: 1e-4}


class CurveModel(enum.Enum):
    """Which powder chi T the solver simulates."""

    FAST = "fast"  #: zero field, the second-order (D, E) fast path
    ZERO = "zero"  #: zero field, the general Van Vleck path
    FIELD = "field"  #: finite field per point, M/H over the powder quadrature


class FitData(NamedTuple):
    """One data set as the solver sees it, padded to a multiple of `refine.PAD` points (a pytree).

    Attributes:
      temps_k, chi_t, field_oe: (n,) K, emu K/mol per ion, Oe.
      weight: (n,) 1 for data points, 0 for padding.
      scale: (n,) factor on the simulated curve (a fixed finite-field correction; 1 for none).
    """

    temps_k: jax.Array
    chi_t: jax.Array
    field_oe: jax.Array
    weight: jax.Array
    scale: jax.Array


@dataclasses.dataclass(frozen=True)
class Problem:
    """What is fitted: the ion and the free parameters (other Bkq fixed at 0, chi_dia 0, f_m 1).

    Attributes:
      ion: the ion.
      free: ligand-field names (D, E or Stevens Bkq, in K) and optionally chi_dia (emu/mol), f_m.
    """

    ion: Ion
    free: tuple[str, ...]

    def __post_init__(self):
        names = tuple(n if n in LINEAR_NAMES else normalise_name(n) for n in self.free)
        if len(set(names)) != len(names):
            raise ParameterError(f"a free parameter is listed twice: {', '.join(self.free)}")
        if not any(n not in LINEAR_NAMES for n in names):
            raise ParameterError("free parameters need at least one ligand-field parameter (D, E or Bkq)")
        folded = {"B20" if n == "D" else "B22" if n == "E" else n for n in names}
        if len(folded) != len(names):
            raise ParameterError("give D, E or B20, B22, not both (D = 3 B20, E = B22)")
        object.__setattr__(self, "free", names)

    @property
    def field_names(self) -> tuple[str, ...]:
        """The free ligand-field parameters, in `free` order."""
        return tuple(n for n in self.free if n not in LINEAR_NAMES)

    @property
    def linear_names(self) -> tuple[str, ...]:
        """The free linear parameters (chi_dia, f_m), in `free` order."""
        return tuple(n for n in self.free if n in LINEAR_NAMES)

    @property
    def is_de(self) -> bool:
        """True when the ligand field is exactly (D, E): results fold to the canonical wedge."""
        return set(self.field_names) == {"D", "E"}

    def scales(self) -> np.ndarray:
        """Internal scale of each ligand-field parameter (K)."""
        return np.array([1.0 if n in ("D", "E") else SCALE_BY_K[parse_stevens_name(n)[0]] for n in self.field_names])

    def de_columns(self) -> list[int]:
        """Column indices of D and E in `field_names` (a (D, E) problem only)."""
        return [self.field_names.index("D"), self.field_names.index("E")]

    def symmetry(self) -> tuple[SymmetryGroup, list[int]]:
        """(group, columns): the likelihood's symmetry on those columns of the ligand-field vector.

        (D, E): the six equivalence maps on (D, E); otherwise the trivial group on all columns.
        """
        if self.is_de:
            return de_group(), self.de_columns()
        k = len(self.field_names)
        return SymmetryGroup(maps=np.eye(k)[None], names=self.field_names), list(range(k))


@dataclasses.dataclass(frozen=True, eq=False)
class Solution:
    """One refined solution.

    Attributes:
      values, errors: name -> value and 1-sigma error (K; chi_dia in emu/mol; f_m unitless; NaN =
        undetermined) for every free parameter, plus chi_dia / f_m at their fixed values if not free.
      rss: sum of squared relative residuals; rms_rel_residual: sqrt(rss / n).
      log_likelihood: Gaussian log-likelihood of the relative residuals with the noise profiled
        (`likelihood.log_likelihood_from_rss`), comparable with the grid map.
      converged: the solver reported success.
      residuals_rel: (n,) relative residuals; the model curve is chi_t_data * (1 + residuals_rel).
    """

    values: dict[str, float]
    errors: dict[str, float]
    rss: float
    rms_rel_residual: float
    log_likelihood: float
    converged: bool
    residuals_rel: np.ndarray


def curve(problem: Problem, theta, temps_k, field_oe, mode: CurveModel):
    """chi T (emu K/mol) at scaled ligand-field parameters `theta` (f_m = 1, chi_dia = 0)."""
    values = theta * jnp.asarray(problem.scales())
    params = dict(zip(problem.field_names, values))
    if mode is CurveModel.FAST:
        return chi_t_powder_de(problem.ion, params["D"], params["E"], temps_k, dtype=jnp.float64)
    if mode is CurveModel.ZERO:
        return chi_t_powder(problem.ion, params, temps_k)
    return chi_t_powder(problem.ion, params, temps_k, field_oe=field_oe)


def _design(problem: Problem, sim, temps, chi_t):
    """Columns of the linear parameters (relative units) and the target after fixed ones."""
    cols = {"chi_dia": temps / chi_t, "f_m": sim / chi_t}
    fixed = (0.0 if "f_m" in problem.linear_names else sim / chi_t)
    a = jnp.stack([cols[n] for n in problem.linear_names], axis=-1) if problem.linear_names else None
    return a, jnp.ones_like(sim) - fixed


def projected(problem: Problem, theta, data: FitData, mode: CurveModel):
    """(weighted relative residuals (n,), best linear parameters (n_lin,)) at scaled `theta`.

    Padding points (weight 0) contribute nothing, so one compiled solver serves every data set
    padded to the same length.
    """
    temps, chi_t, field, weight, scale = data
    sim = curve(problem, theta, temps, field, mode) * scale
    a, target = _design(problem, sim, temps, chi_t)
    target = target * weight
    if a is None:
        return -target, jnp.zeros((0,), sim.dtype)
    a = a * weight[:, None]
    beta = jnp.linalg.solve(a.T @ a, a.T @ target)
    return a @ beta - target, beta
