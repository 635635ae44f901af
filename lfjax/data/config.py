"""Configuration of the training stream: model, prior, error model, observables.

The model is a preset ("DE", the default: the canonical (D, E) wedge |D| <= d_max_k; "axial",
"D3d", ... from `lfjax.physics.presets`) or an explicit list of parameter names. For every
model other than DE the prior is uniform in the comparable-energy box of `lfjax.spec.model_spec`
(each term alone splits the J multiplet by at most scale_k kelvin), or in explicit `ranges_k`,
symmetrised by the likelihood's group (`lfjax.data.prior`).

theta, the flow's variable, is (model parameters..., chi_dia, f_m) and, with a mean field
(a non-zero lambda range), lambda last (`lfjax.data.prior.theta_names`).
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Model, prior, error model and observables of the training stream.

    Attributes:
      ion: ion name ("Er3+") understood by `lfjax.physics.ion`.
      preset: model preset or alias ("DE", "axial", "D3d", ...); ignored when `params` is given.
      params: explicit parameter names (Stevens Bkq, or D and E); empty = use `preset`.
      scale_k: comparable-energy prior scale (K): each term alone splits the multiplet by at most
        this much (`lfjax.physics.presets.prior_ranges`); not used by DE.
      ranges_k: optional explicit prior ranges, flat pairs (low_1, high_1, low_2, ...) in K in the
        model's parameter order, replacing the scale_k box; not used by DE.
      d_max_k: DE only: canonical wedge |D| <= d_max_k (K), 0 <= E <= |D| / 3.
      sigma_dia_emu_per_mol: std of the diamagnetic error chi_dia ~ N(0, sigma) (emu/mol).
      sigma_m: std of the molar-mass factor f_m ~ N(1, sigma).
      noise_rel: relative point noise on chi T (0.003 = 0.3 %) and on M(H); 0 disables it.
      t_min_k, t_max_k, n_temps: log-spaced temperature grid (K) of the chi T curve.
      field_oe: measuring field (Oe) of the chi T curve; 0 = zero-field Van Vleck (fast paths,
        default); > 0 = finite-field powder M/H (one diagonalisation per direction: much slower).
      lambda_min_mol_per_emu, lambda_max_mol_per_emu: uniform prior of the mean-field constant
        lambda (mol/emu, > 0 ferromagnetic); both 0 = no mean field (default).
      mh_temps_k, mh_fields_oe: optional M(H) observables: one powder magnetisation curve per
        temperature (K) on these fields (Oe), seen by the network after the chi T curve
        (mu_B per ion, error model f_m M + chi_dia H). Empty = chi T only (default).
      t_cut_max_k: > 0: the network also learns chi T curves measured only above a cut-off
        temperature, drawn log-uniformly in [t_min_k, t_cut_max_k] for half of the training curves
        (`lfjax.data.cut`); 0 = whole curves only (default).
      norm_curves: prior curves used to fix the global min-max normalisation.
      norm_seed: seed of that (fixed) normalisation sample.
    """

    ion: str = "Er3+"
    preset: str = "DE"
    params: tuple[str, ...] = ()
    scale_k: float = 500.0
    ranges_k: tuple[float, ...] = ()
    d_max_k: float = 15.0
    sigma_dia_emu_per_mol: float = 0.002
    sigma_m: float = 0.02
    noise_rel: float = 0.003
    t_min_k: float = 1.8
    t_max_k: float = 300.0
    n_temps: int = 64
    field_oe: float = 0.0
    lambda_min_mol_per_emu: float = 0.0
    lambda_max_mol_per_emu: float = 0.0
    mh_temps_k: tuple[float, ...] = ()
    mh_fields_oe: tuple[float, ...] = ()
    t_cut_max_k: float = 0.0
    norm_curves: int = 100_000
    norm_seed: int = 0

    def __post_init__(self):
        for name in ("sigma_dia_emu_per_mol", "sigma_m"):
            if not getattr(self, name) > 0:
                raise ValueError(
                    f"data.{name} must be > 0 (the flow models chi_dia and f_m as parameters); "
                    f"got {getattr(self, name)}; for a model without this augmentation use a negligible "
                    "value such as 1e-6"
                )
        if not (self.d_max_k > 0 and 0 < self.t_min_k < self.t_max_k and self.n_temps >= 5 and self.noise_rel >= 0):
            raise ValueError(
                "data needs d_max_k > 0, 0 < t_min_k < t_max_k, n_temps >= 5 and noise_rel >= 0; got "
                f"d_max_k={self.d_max_k}, t_min_k={self.t_min_k}, t_max_k={self.t_max_k}, "
                f"n_temps={self.n_temps}, noise_rel={self.noise_rel}"
            )
        if not self.scale_k > 0 or self.field_oe < 0:
            raise ValueError(f"data needs scale_k > 0 and field_oe >= 0; got scale_k={self.scale_k}, "
                             f"field_oe={self.field_oe}")
        if self.lambda_min_mol_per_emu > self.lambda_max_mol_per_emu:
            raise ValueError(
                "data needs lambda_min_mol_per_emu <= lambda_max_mol_per_emu; got "
                f"{self.lambda_min_mol_per_emu} > {self.lambda_max_mol_per_emu}"
            )
        if (bool(self.mh_temps_k) != bool(self.mh_fields_oe) or any(t <= 0 for t in self.mh_temps_k)
                or any(h <= 0 for h in self.mh_fields_oe)):
            raise ValueError(
                "M(H) observables need both mh_temps_k and mh_fields_oe (positive temperatures in K and "
                f"fields in Oe), or neither; got mh_temps_k={list(self.mh_temps_k)}, "
                f"mh_fields_oe={list(self.mh_fields_oe)}"
            )
        if self.t_cut_max_k != 0 and self.is_de:
            raise ValueError("t_cut_max_k applies to preset or explicit models, not to DE; set it to 0")
        if self.t_cut_max_k != 0 and not self.t_min_k < self.t_cut_max_k < self.t_max_k:
            raise ValueError(f"t_cut_max_k must be 0 (whole curves) or between t_min_k and t_max_k; got "
                             f"{self.t_cut_max_k} with the grid {self.t_min_k}-{self.t_max_k} K")
        if len(self.ranges_k) % 2 or any(lo >= hi for lo, hi in zip(self.ranges_k[::2], self.ranges_k[1::2])):
            raise ValueError(f"ranges_k must be flat (low, high) pairs with low < high; got {list(self.ranges_k)}")

    @property
    def is_de(self) -> bool:
        """True for the (D, E) model with its canonical-wedge prior (the default model)."""
        return not self.params and self.preset.strip().lower() == "de"

    @property
    def has_mean_field(self) -> bool:
        """True when lambda is a parameter (a non-zero prior range)."""
        return self.lambda_max_mol_per_emu != 0.0 or self.lambda_min_mol_per_emu != 0.0

    @property
    def n_mh(self) -> int:
        """Number of M(H) points the network sees (n_mh_temps * n_mh_fields)."""
        return len(self.mh_temps_k) * len(self.mh_fields_oe)

    @property
    def n_points(self) -> int:
        """Length of the network input: n_temps chi T points, then the M(H) points."""
        return self.n_temps + self.n_mh

    @property
    def n_inputs(self) -> int:
        """Length of the network input: the observation, plus the cut-off's position with t_cut_max_k."""
        return self.n_points + (1 if self.t_cut_max_k > 0 else 0)

    def temps_k(self) -> np.ndarray:
        """The model's temperature grid (K): n_temps log-spaced points in [t_min_k, t_max_k]."""
        return np.geomspace(self.t_min_k, self.t_max_k, self.n_temps)

    def mh_points(self) -> tuple[np.ndarray, np.ndarray]:
        """(temperatures (K), fields (Oe)) of the M(H) points, each (n_mh,), temperature-major."""
        t, h = np.meshgrid(np.asarray(self.mh_temps_k, float), np.asarray(self.mh_fields_oe, float), indexing="ij")
        return t.reshape(-1), h.reshape(-1)
