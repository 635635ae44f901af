"""The amortized proposal of a set whose chi T curve starts above the model grid (cut-off curves)."""

from pathlib import Path

import jax
import numpy as np
import pytest

from lfjax.inference import amortized as am
from lfjax.inference import proposal as prop
from lfjax.io.measurement_set import read_measurement_set
from lfjax.io.writers import write_qd_dat
from lfjax.physics import chi_t_powder, ion

REPO = Path(__file__).resolve().parents[2]
MOLAR_MASS = 500.0


def _set(tmp_path, t_min_k):
    """A set with one simulated axial chi(T) curve measured from 1.8 K, analysed from t_min_k up."""
    temps = np.geomspace(1.8, 300.0, 40)
    with jax.enable_x64(True):
        chi_t = np.asarray(chi_t_powder(ion("Er"), {"B20": -1.0, "B40": 0.005, "B60": 1e-5}, temps))
    chi = chi_t / temps
    chi[temps < 6] *= 0.5  # a low-temperature drop the single-ion model lacks
    fields = np.full(temps.size, 1000.0)
    write_qd_dat(tmp_path / "m.dat", temps, fields, chi * fields * 20e-3 / MOLAR_MASS, mass_mg=20.0, name="sim")
    toml = tmp_path / "set.toml"
    toml.write_text(f'ion = "Er3+"\nmolar_mass_g_per_mol = {MOLAR_MASS}\n[[data]]\nfile = "m.dat"\nkind = "chi"\n'
                    f'field_oe = 1000\nt_min_k = {t_min_k}\nlabel = "chi"\n')
    return read_measurement_set(toml)


def test_a_cut_model_sees_only_the_analysed_range(tmp_path, tiny_cut_model):
    mset = _set(tmp_path, 8.0)
    obs = prop.observed_curve(mset, tiny_cut_model)
    t_lo = float(np.min(mset.curves[0].temps_k))
    assert 8.0 <= t_lo < 9.5 and obs.t_cut_k == pytest.approx(t_lo) and not obs.full_range
    grid = tiny_cut_model.temps_k
    below = grid < t_lo
    assert below.sum() == 5 and np.all(obs.chi_t_on_grid[below] == obs.chi_t_on_grid[~below][0])
    # the grid points from the cut-off up follow the data (chi T rises with T for this field)
    assert np.all(np.diff(obs.chi_t_on_grid[~below]) > -0.05)
    problem, _ = am.build_problem(mset, tiny_cut_model)
    theta, log_q = prop.proposal(tiny_cut_model, obs, problem, 16, jax.random.key(0))
    assert theta.shape == (16, problem.n_theta) and np.all(np.isfinite(log_q))


def test_beyond_the_models_cut_off_range_the_full_curve_is_read_again(tmp_path, tiny_cut_model):
    mset = _set(tmp_path, 25.0)
    obs = prop.observed_curve(mset, tiny_cut_model)
    assert obs.t_cut_k is None and obs.full_range


@pytest.mark.parametrize("example, t_lo", [("ercot2_1000oe_chi_set.toml", 12.0), ("er2_dimer_chi_set.toml", 8.0)])
def test_real_curves_analysed_above_their_low_temperature_anomaly_are_in_distribution(shared_dir, example, t_lo):
    """er3_axial sees ErCOT2 above 12 K and the Er2 dimer above 8 K as cut curves, not flagged."""
    from lfjax.models.trained import load_model

    model = load_model("er3_axial")
    mset = read_measurement_set(REPO / "lfjax" / "examples" / example, data_dir=str(shared_dir / "data" / "real"))
    obs = prop.observed_curve(mset, model)
    assert obs.t_cut_k == pytest.approx(t_lo, rel=0.02) and not obs.full_range
    ood = model.ood_scores(obs.chi_t_on_grid, t_cut_k=obs.t_cut_k)
    assert not bool(ood["flagged"])
    assert float(ood["latent_distance"]) < ood["thresholds"]["latent_distance"]
