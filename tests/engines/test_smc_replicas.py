"""Independent SMC runs pooled by their evidence, and the check that says whether they agree."""

from __future__ import annotations

import numpy as np
from _sim import simulate_curves

import lfjax
from lfjax.engines import likelihood as lk
from lfjax.engines.sample import Posterior, pool_replicas, replica_check
from lfjax.spec import model_spec

ION = lfjax.ion("Er3+")


def _problem():
    curves = simulate_curves(ION, {"B20": -1.0}, mh=False, n_t=8)
    return lk.build(curves, model_spec(ION, preset="axial"))[0]


def _run(problem, centre, log_z, seed, n=2000):
    rng = np.random.default_rng(seed)
    samples = np.column_stack([centre + 0.1 * rng.standard_normal(n), 0.002 * rng.standard_normal(n),
                               1.0 + 0.02 * rng.standard_normal(n)])
    return Posterior(problem=problem, samples=samples, log_likelihood=np.zeros(n), betas=np.array([0.5, 1.0]),
                     ess=np.array([0.5, 0.5]), acceptance=np.array([0.3, 0.3]),
                     independence_acceptance=np.array([0.1, 0.1]), log_evidence=log_z, wall_s=1.0)


def test_runs_of_one_posterior_agree_and_pool_evenly():
    problem = _problem()
    a, b = _run(problem, -1.0, 10.0, 0), _run(problem, -1.0, 10.3, 1)
    check = replica_check(problem, [a, b])
    assert check["agree"] and check["log_evidence_span"] < 0.31
    assert all(abs(r - 1.0) < 0.01 for r in check["rhat"].values())
    pooled = pool_replicas(problem, [a, b], seed=0)
    assert pooled.samples.shape == (4000, 3)
    assert abs(pooled.log_evidence - np.logaddexp(10.0, 10.3) + np.log(2)) < 1e-12
    assert pooled.replicas == check


def test_a_run_that_lost_a_mode_is_flagged_and_weighted_by_its_evidence():
    problem = _problem()
    lost, kept = _run(problem, -1.0, 0.0, 0), _run(problem, -2.0, np.log(3.0), 1)  # mode masses 1 : 3
    check = replica_check(problem, [lost, kept])
    assert not check["agree"]
    assert check["rhat"]["B20"] > 2.0 and check["max_rhat"] == check["rhat"]["B20"]
    pooled = pool_replicas(problem, [lost, kept], seed=3)
    share = np.mean(pooled.samples[:, 0] < -1.5)
    assert abs(share - 0.75) < 0.02, share  # each run's draws carry its evidence
