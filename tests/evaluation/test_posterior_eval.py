"""The "lfjax refined" row of `lfjax evaluate` is the refinement `lfjax infer` ships (`inference.refine`)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.evaluation.posterior_eval import mode_starts, refine_from_modes
from lfjax.inference.refine import Problem, refine
from lfjax.physics import chi_t_powder_de, ion
from lfjax.symmetry import de_group, images

pytestmark = pytest.mark.usefixtures("x64")
ER = ion("Er3+")
TEMPS = np.geomspace(1.8, 300, 24)


class _Model:
    """What refine_from_modes needs of a trained model: the ion and its temperature grid."""

    ion = ER
    temps_k = TEMPS


def test_refined_row_is_inference_refine_from_the_posterior_modes():
    rng = np.random.default_rng(0)
    truths = [(-6.0, 0.8, 0.002, 1.01), (4.0, 1.1, -0.001, 0.99)]
    chi_t, samples, rss_truth = [], [], []
    for d, e, dia, fm in truths:
        sim = np.asarray(chi_t_powder_de(ER, d, e, jnp.asarray(TEMPS), dtype=jnp.float64))
        clean = fm * sim + dia * TEMPS
        chi_t.append(clean * (1 + 0.002 * rng.normal(size=TEMPS.size)))
        rss_truth.append(np.sum((clean / chi_t[-1] - 1) ** 2))
        draws = rng.normal([d, e], 0.2, (300, 2))
        draws = images(de_group(), draws)[np.arange(300), rng.integers(0, 6, 300)]  # symmetrised
        samples.append(np.concatenate([draws, np.full((300, 1), dia), np.full((300, 1), fm)], axis=1))
    chi_t, samples = np.array(chi_t), np.array(samples)
    row = refine_from_modes(_Model, chi_t, samples)
    starts, _ = mode_starts(samples)
    problem = Problem(ER, ("D", "E", "chi_dia", "f_m"))
    for b, (d, e, dia, fm) in enumerate(truths):
        best = refine(problem, TEMPS, chi_t[b], np.zeros_like(TEMPS), starts[b])[0]
        np.testing.assert_allclose(row["de"][b], [best.values["D"], best.values["E"]], rtol=1e-12)
        assert row["log_likelihood"][b] == best.log_likelihood and row["chi_dia"][b] == best.values["chi_dia"]
        # and it is a real optimum: at least as good a fit as the truth, near one of its equivalents
        assert row["rss"][b] <= rss_truth[b] * (1 + 1e-9)
        truth = np.asarray(images(de_group(), np.array([d, e])))
        assert np.min(np.linalg.norm(truth - row["de"][b], axis=1)) < 1.0
    assert row["s_per_curve_refine"] > 0
