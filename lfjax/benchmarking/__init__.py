"""Throughput benchmarks of the susceptibility paths (library code; entry points live elsewhere)."""

from lfjax.benchmarking.eigh import PATHS as PATHS
from lfjax.benchmarking.eigh import BenchConfig as BenchConfig
from lfjax.benchmarking.eigh import format_table as format_table
from lfjax.benchmarking.suite import format_model_rows as format_model_rows
from lfjax.benchmarking.suite import run_benchmark as run_benchmark
