"""The amortized-vs-sample agreement benchmark at tiny size: its records are consistent."""

import numpy as np
import pytest

from lfjax.benchmarking import amortized_agreement as aa


@pytest.fixture(scope="module")
def report():  # one held-out curve of er3_axial, small samplers (~1 min on 2 cores)
    return aa.run("er3_axial", n_sets=1, seed=3, samples=200, particles=200, n_mcmc=4)


def test_simulated_curve_is_what_the_reader_reads(tmp_path):
    from lfjax.io.measurement_set import read_measurement_set
    from lfjax.models.trained import load_model

    model = load_model("er3_axial")
    truths, curves = aa.simulate_sets(model, 2, seed=1)
    assert truths.shape == (2, 5) and curves.shape == (2, model.config.data.n_temps)
    path = tmp_path / "c.csv"
    temps = model.config.data.temps_k()
    aa.write_curve(path, temps, curves[0])
    mset = read_measurement_set(str(path))
    (curve,) = mset.curves
    np.testing.assert_allclose(curve.temps_k, temps, rtol=1e-6)
    np.testing.assert_allclose(curve.values * curve.temps_k, curves[0], rtol=1e-7)  # chi (emu/mol) back to chi T


def test_records_are_consistent(report):
    assert report["n_sets"] == 1 and report["parameters"] == ["B20", "B40", "B60", "chi_dia_emu_per_mol", "f_m"]
    (rec,) = report["sets"]
    ref, sd = np.asarray(rec["sample_mean"]), np.asarray(rec["sample_sd"])
    dev = np.abs(np.asarray(rec["corrected_mean"]) - ref) / sd
    np.testing.assert_allclose(rec["corrected_dev_sd"], dev, rtol=1e-9)
    assert rec["corrected_agrees"] == bool(dev.max() <= aa.TOLERANCE_SD)
    assert report["corrected_agree_fraction"] == float(rec["corrected_agrees"])
    assert rec["route"] in ("importance", "smc") and np.all(sd > 0)
    # both posteriors sit near the truth on a 0.3 % curve: within 5 posterior sd for the ligand field
    truth = np.asarray(rec["truth"])
    assert np.all(np.abs(ref[:3] - truth[:3]) <= 5 * sd[:3] + 1e-12)
