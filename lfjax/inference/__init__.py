"""Inference from a measured chi T (T): least-squares refinement, the brute-force grid, `lfjax fit`, `lfjax infer`.

Public API (K, emu/mol, emu K/mol, Oe):
  Problem(ion, free); refine(problem, temps_k, chi_t, field_oe, starts) -> [Solution]
  scan(ion, temps_k, chi_t, ...) -> GridScan (map + distinct modes); NoiseModel, linear_fit
  FitConfig; run_fit(config) -> FitResult; write_outputs(result, out_dir)
  InferConfig; run_infer(config) -> InferResult (the model from `lfjax.models.trained`)
Symmetry (fold, distances, merge, KDE) comes from `lfjax.symmetry`; precision and compile-once
rules from `inference.compiled` (entry points run in float64; refine / scan check it).
"""
