"""`lfjax bench` as one report: the chi T eigh paths (`eigh`) plus the general-model rows (`models`)."""

from __future__ import annotations

from collections.abc import Callable

from lfjax.benchmarking import eigh, models


def run_benchmark(config: eigh.BenchConfig, log: Callable[[str], None] = lambda s: None,
                  model_rows: bool | None = None) -> dict:
    """`eigh.run_benchmark`, plus key "model_rows" (`models.run_model_rows`) in the same JSON.

    Args:
      config: what to run; the rows use min(max(sizes), 4096) curves for chi T and
        max(1, min(max(sizes) // 64, 64)) for M(H); the numpy loops min(loop_n, 32) and 1 curve.
      log: progress lines.
      model_rows: run the rows (default: when every eigh path is selected, as `lfjax bench` does).
    """
    report = eigh.run_benchmark(config, log)
    if model_rows is None:
        model_rows = set(config.paths) == set(eigh.PATHS)
    if model_rows:
        top = max(config.sizes)
        report["model_rows"] = models.run_model_rows(
            n_chi=min(top, 4096), n_mh=max(1, min(top // 64, 64)), n_loop=min(config.loop_n, 32), n_loop_mh=1,
            n_temps=config.n_temps, log=log)
    return report


def format_model_rows(report: dict) -> str:
    """Markdown table of the model rows: curves/s of lfjax, McPhase (where installed), plain jnp and
    the numpy loop, and lfjax's speedups."""
    rows = report.get("model_rows", {})
    lines = ["| row | lfjax curves/s | McPhase cf1ion curves/s | plain jnp curves/s | numpy loop curves/s "
             "| x McPhase | x numpy loop | x plain jnp |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, row in rows.items():
        if key == "targets":
            continue
        mc = f"{row['mcphase']['curves_per_s']:,.1f}" if "mcphase" in row else "n/a"
        mc_x = f"{row['speedup_vs_mcphase']:.1f}" if "mcphase" in row else "n/a"
        lines.append(f"| {key} | {row['lfjax']['curves_per_s']:,.0f} | {mc} | {row['plain_jnp']['curves_per_s']:,.0f} | "
                     f"{row['numpy_loop']['curves_per_s']:,.1f} | {mc_x} | {row['speedup_vs_numpy_loop']:.1f} | "
                     f"{row['speedup_vs_plain_jnp']:.1f} |")
    return "\n".join(lines)
