"""Curves per second of the zero-field powder chi T paths (Er3+, 64 temperatures).

Paths (all from lfjax; the numpy baselines use lfjax's operators):
  numpy_loop           per-curve np.linalg.eigh (16 x 16) + Van Vleck sum, float64; timed on a
                       small N and extrapolated (its per-curve cost does not depend on N)
  numpy_batched        np.linalg.eigh on (n, 16, 16) + vectorised Van Vleck sum, float64
  general_de_f32       `chi_t_powder` (D, E) on full 16 x 16 matrices (one eigh per curve), float32, jitted
  fast_de_f32/_f64     `chi_t_powder_de`: one 8 x 8 eigh per curve (two blocks, Kramers)
  general_stevens_f32  `chi_t_powder` with all 27 Stevens parameters (k <= 6), complex64

Each JAX path is compiled once per chunk shape (ahead of time: `jit(...).lower(...).compile()`,
timed apart), then timed in steady state over N parameter sets in chunks, with results copied
into one (N, n_T) host array. Every path is also checked against the float64 general path on a
shared subset of parameter sets (max relative difference).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import resource
import sys
import threading
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from lfjax.benchmarking import _numpy_baseline
from lfjax.physics import chi_t_powder, chi_t_powder_de, ion
from lfjax.physics.operators import STEVENS_NAMES

PATHS = ("numpy_loop", "numpy_batched", "general_de_f32", "fast_de_f32", "fast_de_f64", "general_stevens_f32")
#: Largest N a path runs by default: the slow paths would take hours at 10^6.
MAX_N = {"numpy_loop": 200, "numpy_batched": 100_000, "general_de_f32": 100_000, "fast_de_f32": 10**6,
         "fast_de_f64": 10**6, "general_stevens_f32": 10_000}
#: Max relative difference to the float64 general path that counts as agreement.
TOLERANCE = {"numpy_loop": 1e-9, "numpy_batched": 1e-9, "general_de_f32": 1e-4, "fast_de_f32": 1e-4,
             "fast_de_f64": 1e-9, "general_stevens_f32": 1e-4}
_DESCRIPTION = {
    "numpy_loop": "per-curve np.linalg.eigh (16x16) + Van Vleck sum, float64 (timed at small N, extrapolated)",
    "numpy_batched": "batched np.linalg.eigh (n,16,16) + vectorised Van Vleck sum, float64",
    "general_de_f32": "lfjax.chi_t_powder, (D, E), full 16x16, one eigh per curve, float32, jit",
    "fast_de_f32": "lfjax.chi_t_powder_de, one 8x8 eigh per curve, float32, jit",
    "fast_de_f64": "lfjax.chi_t_powder_de, one 8x8 eigh per curve, float64, jit",
    "general_stevens_f32": "lfjax.chi_t_powder, 27 Stevens parameters (k<=6), complex 16x16, float32, jit",
}
_MIB = 1024.0**2
#: Steady-state timing: best of up to _REPEATS passes, no new pass once _REPEAT_BUDGET_S is spent.
_REPEATS, _REPEAT_BUDGET_S = 3, 2.0


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """What to run. Sizes above a path's `max_n` are skipped for that path (listed in the JSON)."""

    sizes: tuple[int, ...] = (1_000, 10_000, 100_000, 1_000_000)
    paths: tuple[str, ...] = PATHS
    chunk: int = 1 << 12  # per call of the fast and numpy-batched paths; (8, 8, chunk) temporaries fit L2
    general_chunk: int = 1 << 10  # per call of the general paths (64 matrices per curve; ~0.6 GiB temporaries)
    loop_n: int = 200  # curves timed by numpy_loop
    check_n: int = 32  # shared subset for the cross-path agreement check
    n_temps: int = 64
    t_min_k: float = 1.8
    t_max_k: float = 300.0
    seed: int = 0
    max_n: tuple[tuple[str, int], ...] = tuple(MAX_N.items())

    def __post_init__(self):
        unknown = [p for p in self.paths if p not in PATHS]
        if unknown or not self.paths:
            raise ValueError(f"paths must be among {', '.join(PATHS)}; got {', '.join(self.paths) or 'none'}")
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError(f"sizes must be positive integers; got {self.sizes}")
        for name, value in (("chunk", self.chunk), ("general_chunk", self.general_chunk),
                            ("loop_n", self.loop_n), ("check_n", self.check_n), ("n_temps", self.n_temps)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1; got {value}")

    @classmethod
    def quick(cls, paths: tuple[str, ...] = PATHS) -> BenchConfig:
        """Tiny sizes for tests: N = 64 in two chunks per path."""
        return cls(sizes=(64,), paths=paths, chunk=32, general_chunk=32, loop_n=16, check_n=8,
                   max_n=tuple((p, 64) for p in PATHS))


def _params(config: BenchConfig, n: int) -> dict[str, np.ndarray]:
    """Er3+ (D, E) on the canonical wedge |D| <= 15 K, 0 <= E <= |D|/3, and 27 Stevens parameters (K)."""
    rng = np.random.default_rng(config.seed)
    d = rng.uniform(-15.0, 15.0, n)
    e = np.abs(d) / 3 * rng.uniform(0.0, 1.0, n)
    scale = np.array([{"2": 1.0, "4": 1e-2, "6": 1e-4}[name[1]] for name in STEVENS_NAMES])
    stevens = rng.uniform(-1.0, 1.0, (n, len(STEVENS_NAMES))) * scale
    return {"d": d, "e": e, "stevens": stevens}


def _inputs(path: str) -> tuple[str, ...]:
    """Which parameter arrays a path takes."""
    return ("stevens",) if path == "general_stevens_f32" else ("d", "e")


def _path_function(path: str, er, temps_k: np.ndarray) -> Callable:
    """f(*inputs) -> chi T (n, n_T) on one chunk (pure; JAX paths are jitted by the caller)."""
    de_names = ("B20", "B22")  # D = 3 B20, E = B22 (docs/physics.md)
    if path == "numpy_loop":
        return lambda d, e: _numpy_baseline.chi_t_loop(er, de_names, np.stack([d / 3, e], -1), temps_k)
    if path == "numpy_batched":
        return lambda d, e: _numpy_baseline.chi_t_batched(er, de_names, np.stack([d / 3, e], -1), temps_k)
    if path == "general_de_f32":
        return lambda d, e: chi_t_powder(er, {"D": d, "E": e}, temps_k, dtype=jnp.float32)
    if path == "general_stevens_f32":
        return lambda st: chi_t_powder(er, dict(zip(STEVENS_NAMES, jnp.moveaxis(st, -1, 0))), temps_k,
                                       dtype=jnp.float32)
    dtype = jnp.float32 if path == "fast_de_f32" else jnp.float64
    return lambda d, e: chi_t_powder_de(er, d, e, temps_k, dtype=dtype)


def _dtype(path: str):
    return np.float32 if path.endswith("f32") else np.float64


def _is_jax(path: str) -> bool:
    return not path.startswith("numpy")


class _RssSampler:
    """Peak resident memory while a path runs (psutil sampling every 5 ms; ru_maxrss as well)."""

    def __init__(self):
        try:
            import psutil
        except ImportError:  # optional: ru_maxrss alone then
            self._proc = None
        else:
            self._proc = psutil.Process()
        self.start_mib = self.peak_mib = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> float | None:
        return self._proc.memory_info().rss / _MIB if self._proc else None

    def _run(self):
        while not self._stop.wait(0.005):
            self.peak_mib = max(self.peak_mib, self._rss())

    def __enter__(self):
        if self._proc:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._proc:
            self._thread.join()
            self.peak_mib = max(self.peak_mib, self._rss())


def _max_rss_mib() -> float:
    """Process peak resident memory so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MIB if sys.platform == "darwin" else peak / 1024.0


def _chunks(n: int, chunk: int):
    """(start, stop) of each chunk; the last one is padded to `chunk` by the caller."""
    return [(i, min(i + chunk, n)) for i in range(0, n, chunk)]


def _pad(x: np.ndarray, size: int) -> np.ndarray:
    return x if x.shape[0] == size else np.concatenate([x, np.repeat(x[-1:], size - x.shape[0], axis=0)])


def _run_jax_path(path, fn, params, sizes, chunk_cap, dtype):
    """Compile once per chunk shape, then time each N in steady state.

    Returns (runs, compiles, number of traces, evaluate) where evaluate(d, e, stevens) runs the
    compiled executable that was timed (smallest chunk shape, padded) on any number of sets.
    """
    traces, keys = [], _inputs(path)

    def traced(*arrays):
        traces.append(arrays[0].shape)  # runs only while tracing: counts compilations
        return fn(*arrays)

    jitted = jax.jit(traced)
    compiled, compiles, runs = {}, [], []
    for n in sizes:
        chunk = min(chunk_cap, 1 << (n - 1).bit_length())
        args = [_pad(params[k][:chunk].astype(dtype), chunk) for k in keys]
        if chunk not in compiled:
            device_args = [jax.device_put(a) for a in args]
            t0 = time.perf_counter()
            compiled[chunk] = jitted.lower(*device_args).compile()
            t1 = time.perf_counter()
            jax.block_until_ready(compiled[chunk](*device_args))
            t2 = time.perf_counter()
            jax.block_until_ready(compiled[chunk](*device_args))
            t3 = time.perf_counter()
            compiles.append({"chunk": chunk, "compile_s": t1 - t0, "first_call_s": t2 - t1, "second_call_s": t3 - t2})
        call = compiled[chunk]
        out = np.empty((n, params["temps"].size), dtype=dtype)

        def one_pass():
            for start, stop in _chunks(n, chunk):
                batch = [jax.device_put(_pad(params[k][start:stop].astype(dtype), chunk)) for k in keys]
                result = jax.block_until_ready(call(*batch))
                out[start:stop] = np.asarray(result)[: stop - start]

        best, cpu = _best_of(one_pass)
        runs.append({"n": n, "chunk": chunk, "n_chunks": len(_chunks(n, chunk)), "seconds": best, "cpu_seconds": cpu})
    chunk = min(compiled)

    def evaluate(*arrays):
        pieces = [np.asarray(compiled[chunk](*(_pad(a[start:stop].astype(dtype), chunk) for a in arrays)))
                  [: stop - start] for start, stop in _chunks(arrays[0].shape[0], chunk)]
        return np.concatenate(pieces)

    return runs, compiles, len(traces), evaluate


def _best_of(one_pass) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) of up to _REPEATS calls, stopping once _REPEAT_BUDGET_S is spent."""
    best, spent, cpu = float("inf"), 0.0, float("inf")
    for _ in range(_REPEATS):
        if spent > _REPEAT_BUDGET_S:
            break
        t0, c0 = time.perf_counter(), time.process_time()
        one_pass()
        elapsed = time.perf_counter() - t0
        best, spent, cpu = min(best, elapsed), spent + elapsed, min(cpu, time.process_time() - c0)
    return best, cpu


def _run_numpy_path(fn, params, sizes, chunk_cap):
    """Times each N (numpy runs eagerly: no compile step)."""
    runs = []
    for n in sizes:
        out = np.empty((n, params["temps"].size))

        def one_pass():
            for start, stop in _chunks(n, chunk_cap):
                out[start:stop] = fn(params["d"][start:stop], params["e"][start:stop])

        best, cpu = _best_of(one_pass)
        runs.append({"n": n, "chunk": min(n, chunk_cap), "n_chunks": len(_chunks(n, chunk_cap)), "seconds": best,
                     "cpu_seconds": cpu})
    return runs


def _agreement(paths, functions, params, check_n: int, er, temps_k) -> dict[str, dict]:
    """Max relative difference of each path to the float64 general path on the first `check_n` sets.

    `functions[path]` is what was timed (for JAX paths, the compiled chunk executable).
    """
    sub = {k: params[k][:check_n] for k in ("d", "e", "stevens")}
    # Eager (op by op): a jitted float64 reference once stalled in XLA's CPU runtime after long runs.
    ref_de = np.asarray(chi_t_powder(er, {"D": sub["d"], "E": sub["e"]}, temps_k, dtype=jnp.float64))
    ref_st = np.asarray(chi_t_powder(er, dict(zip(STEVENS_NAMES, sub["stevens"].T)), temps_k, dtype=jnp.float64))
    report = {}
    for path in paths:
        dtype = _dtype(path)
        curves = np.asarray(functions[path](*(sub[k].astype(dtype) for k in _inputs(path))), np.float64)
        ref = ref_st if path == "general_stevens_f32" else ref_de
        diff = float(np.max(np.abs(curves / ref - 1.0)))
        report[path] = {"max_rel_diff": diff, "tolerance": TOLERANCE[path], "agrees": bool(diff <= TOLERANCE[path]),
                        "reference": "chi_t_powder float64 (" + ("Stevens" if ref is ref_st else "D, E") + ")"}
    return report


def _environment() -> dict:
    import jaxlib

    return {
        "devices": [str(d) for d in jax.devices()],
        "backend": jax.default_backend(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _acceptance(results: dict) -> dict:
    """The project's targets: fast float32 >= 2e5 curves/s and >= 3x general_de_f32; 1e6 curves < 4 GiB."""
    fast, general = results.get("fast_de_f32"), results.get("general_de_f32")
    if fast is None:
        return {}
    rate = {r["n"]: r["curves_per_s"] for r in fast["runs"]}
    n_top = max(rate)
    report = {"fast_f32_n": n_top, "fast_f32_curves_per_s": rate[n_top],
              "fast_f32_ge_200k": rate[n_top] >= 2e5, "peak_rss_mib_after_fast_f32": fast["peak_rss_mib"],
              "rss_below_4gib": fast["peak_rss_mib"] < 4096}
    if general is not None:
        common = sorted(set(rate) & {r["n"] for r in general["runs"]})
        general_rate = {r["n"]: r["curves_per_s"] for r in general["runs"]}
        n_cmp = common[-1] if common else max(general_rate)
        speedup = rate.get(n_cmp, rate[n_top]) / general_rate[n_cmp]
        report.update({"speedup_vs_general_de_f32": speedup, "speedup_at_n": n_cmp, "speedup_ge_3": speedup >= 3})
    return report


def run_benchmark(config: BenchConfig, log: Callable[[str], None] = lambda s: None) -> dict:
    """Runs `config.paths` and returns the JSON-ready report (environment, figures, agreement).

    Runs inside `jax.enable_x64(True)` (float64 reference and float64 paths); float32 paths
    pass their dtype per call. The global flag is left as it was.
    """
    with jax.enable_x64(True):
        return _run_benchmark(config, log)


def _run_benchmark(config: BenchConfig, log: Callable[[str], None]) -> dict:
    load_start, environment = os.getloadavg(), _environment()
    er = ion("Er3+")
    temps_k = np.geomspace(config.t_min_k, config.t_max_k, config.n_temps)
    max_n = dict(config.max_n)
    params = _params(config, max(max(config.sizes), config.loop_n, config.check_n))
    params["temps"] = temps_k
    functions = {p: _path_function(p, er, temps_k) for p in config.paths}
    results = {}
    for path in config.paths:
        per_curve = 1  # every path diagonalises H once per curve (the general path reuses it for all T)
        entry = {"description": _DESCRIPTION[path], "dtype": np.dtype(_dtype(path)).name,
                 "matrix_size": 8 if path.startswith("fast") else er.dim, "matrices_per_curve": per_curve}
        sizes = sorted({n for n in config.sizes if n <= max_n.get(path, n)})
        skipped = sorted(set(config.sizes) - set(sizes))
        rss_before = _max_rss_mib()
        with _RssSampler() as sampler:
            if path == "numpy_loop":
                runs = _run_numpy_path(functions[path], params, [config.loop_n], config.loop_n)
                entry.update(extrapolated=True, note=f"timed on N = {config.loop_n}; per-curve cost is "
                             "independent of N, so the rate holds for any N (extrapolated)",
                             extrapolated_seconds={str(n): n * runs[0]["seconds"] / config.loop_n
                                                   for n in config.sizes})
                skipped = []
            elif path == "numpy_batched":
                runs = _run_numpy_path(functions[path], params, sizes, config.chunk)
            else:
                cap = config.general_chunk if path.startswith("general") else config.chunk
                runs, compiles, n_traces, functions[path] = _run_jax_path(path, functions[path], params, sizes, cap,
                                                                          _dtype(path))
                entry.update(compiles=compiles, n_traces=n_traces,
                             compiled_once_per_chunk_shape=n_traces == len(compiles))
        for run in runs:
            run["curves_per_s"] = run["n"] / run["seconds"]
            run["matrices_per_s"] = run["curves_per_s"] * per_curve
            run["curves_per_cpu_s"] = run["n"] / max(run["cpu_seconds"], 1e-9)  # less sensitive to other load
        entry.update(runs=runs, n_values=[r["n"] for r in runs], n_skipped=skipped,
                     peak_rss_mib=_max_rss_mib(), rss_peak_increase_mib=_max_rss_mib() - rss_before)
        if sampler.start_mib is not None:
            entry.update(rss_start_mib=sampler.start_mib, rss_sampled_peak_mib=sampler.peak_mib,
                         rss_sampled_increase_mib=sampler.peak_mib - sampler.start_mib)
        results[path] = entry
        log(f"{path}: " + ", ".join(f"N={r['n']}: {r['curves_per_s']:.4g} curves/s" for r in runs))
    agreement = _agreement(config.paths, functions, params, config.check_n, er, temps_k)
    return {
        "benchmark": "eigh_throughput",
        "model": "Er3+ zero-field powder chi T; (D, E) on |D| <= 15 K, 0 <= E <= |D|/3 (Stevens path: 27 "
                 "parameters, |B2q| <= 1 K, |B4q| <= 1e-2 K, |B6q| <= 1e-4 K)",
        "temperatures_k": {"n": config.n_temps, "min": config.t_min_k, "max": config.t_max_k, "spacing": "log"},
        "environment": environment,  # date_utc: start of the run
        "loadavg_start": list(load_start),
        "loadavg_end": list(os.getloadavg()),
        "config": dataclasses.asdict(config),
        "results": results,
        "agreement": agreement,
        "all_agree": all(a["agrees"] for a in agreement.values()),
        "acceptance": _acceptance(results),
        "peak_rss_mib": _max_rss_mib(),
    }


def format_table(report: dict) -> str:
    """Markdown table: path, dtype, N, curves/s (wall and per CPU second), matrices/s, compile s, RSS, agreement."""
    lines = ["| path | dtype | N | curves/s | curves/CPU-s | matrices/s | compile s | RSS increase MiB "
             "| max rel diff |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for path, entry in report["results"].items():
        compile_s = "/".join(f"{c['compile_s']:.2f}" for c in entry.get("compiles", [])) or "–"
        rss = entry.get("rss_sampled_increase_mib", entry["rss_peak_increase_mib"])
        diff = report["agreement"][path]["max_rel_diff"]
        for run in entry["runs"]:
            n = f"{run['n']} (extrap.)" if entry.get("extrapolated") else str(run["n"])
            lines.append(f"| {path} | {entry['dtype']} | {n} | {run['curves_per_s']:,.0f} | "
                         f"{run['curves_per_cpu_s']:,.0f} | "
                         f"{run['matrices_per_s']:,.0f} | {compile_s} | {rss:.0f} | {diff:.1e} |")
    return "\n".join(lines)
