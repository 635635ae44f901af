"""Evaluation of trained models: accuracy, calibration, the exact-posterior oracle, least-squares baselines.

Symmetry-aware errors, hits and densities come from `lfjax.symmetry`.
"""

from lfjax.evaluation.metrics import accuracy_summary as accuracy_summary
from lfjax.evaluation.metrics import coverage_curve as coverage_curve
from lfjax.evaluation.metrics import kde_mode_and_rank as kde_mode_and_rank
from lfjax.evaluation.metrics import kde_modes as kde_modes
from lfjax.evaluation.run import evaluate as evaluate
