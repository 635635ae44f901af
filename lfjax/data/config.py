"""Configuration of the training stream: prior, error model, temperature grid."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Prior, error model and grid of the training stream.

    Attributes:
      ion: ion name ("Er3+") understood by `lfjax.physics.ion`.
      d_max_k: canonical wedge |D| <= d_max_k (K), 0 <= E <= |D| / 3.
      sigma_dia_emu_per_mol: std of the diamagnetic error chi_dia ~ N(0, sigma) (emu/mol).
      sigma_m: std of the molar-mass factor f_m ~ N(1, sigma).
      noise_rel: relative point noise on chi T (0.003 = 0.3 %); 0 disables it.
      t_min_k, t_max_k, n_temps: log-spaced temperature grid (K).
      field_oe: measuring field (Oe); 0 = zero-field Van Vleck (fast path, default).
      norm_curves: prior curves used to fix the global min-max normalisation.
      norm_seed: seed of that (fixed) normalisation sample.
    """

    ion: str = "Er3+"
    d_max_k: float = 15.0
    sigma_dia_emu_per_mol: float = 0.002
    sigma_m: float = 0.02
    noise_rel: float = 0.003
    t_min_k: float = 1.8
    t_max_k: float = 300.0
    n_temps: int = 64
    field_oe: float = 0.0
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

    def temps_k(self) -> np.ndarray:
        """The model's temperature grid (K): n_temps log-spaced points in [t_min_k, t_max_k]."""
        return np.geomspace(self.t_min_k, self.t_max_k, self.n_temps)
