"""Inference from a measured chi T (T): least-squares refinement, the brute-force grid, `lfjax fit`.

Public API (K, emu/mol, emu K/mol, Oe):
  Problem(ion, free); refine(problem, temps_k, chi_t, field_oe, starts) -> [Solution]
  scan(ion, temps_k, chi_t, ...) -> GridScan (map + distinct modes); NoiseModel, linear_fit
  FitConfig; run_fit(config) -> FitResult; write_outputs(result, out_dir)
"""
