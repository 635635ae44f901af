"""Amortized inference on a measurement set: proposal density, importance weights, the SMC fallback."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lfjax.engines import likelihood as lk
from lfjax.inference import amortized as am
from lfjax.inference import proposal as prop
from lfjax.io.writers import write_qd_dat
from lfjax.models.trained import load_model
from lfjax.physics import chi_t_powder, ion

MOLAR_MASS = 500.0
TRUTH = (-6.0, 1.2, 0.0005, 1.01)


@pytest.fixture(scope="module")
def model():
    return load_model("default")


def _set(tmp_path, n=24, field_oe=1000.0, t_lo=1.8):
    """A set file with one simulated chi(T) curve of the (D, E) model (0.3 % noise)."""
    d, e, chi_dia, f_m = TRUTH
    rng = np.random.default_rng(0)
    temps = np.geomspace(t_lo, 300.0, n)
    with jax.enable_x64(True):
        chi_t = np.asarray(chi_t_powder(ion("Er"), {"D": d, "E": e}, temps, field_oe=field_oe))
    chi = (f_m * chi_t / temps + chi_dia) * (1 + 0.003 * rng.normal(size=n))
    fields = np.full(n, field_oe)
    write_qd_dat(tmp_path / "m.dat", temps, fields, chi * fields * 20e-3 / MOLAR_MASS, mass_mg=20.0, name="sim")
    toml = tmp_path / "set.toml"
    toml.write_text(f'ion = "Er3+"\nmolar_mass_g_per_mol = {MOLAR_MASS}\n[[data]]\nfile = "m.dat"\nkind = "chi"\n'
                    f'field_oe = {field_oe}\nlabel = "chi"\n')
    return toml


@pytest.mark.slow
def test_log_prob_is_a_normalised_density_of_the_symmetrised_draws(model):
    """E_r[q / r] = 1 for a broad Gaussian r covering all six (D, E) images (q integrates to 1)."""
    curve = model.latent_bank()["chi_t"][3]
    draws = model.sample(curve, 4000, key=jax.random.key(0))
    lq = model.log_prob(curve, draws)
    assert lq.shape == (4000,) and np.all(np.isfinite(lq))
    # the six images of a draw have the same density (the sum over the group is invariant)
    from lfjax.symmetry import de_group, images

    imgs = np.asarray(images(de_group(), draws[:5, :2]))  # (5, 6, 2)
    for i in range(5):
        th = np.concatenate([imgs[i], np.repeat(draws[i:i + 1, 2:], 6, axis=0)], axis=1)
        np.testing.assert_allclose(model.log_prob(curve, th), lq[i], atol=2e-3)
    rng = np.random.default_rng(1)
    mean = np.array([0.0, 0.0, draws[:, 2].mean(), draws[:, 3].mean()])
    sd = np.array([12.0, 6.0, 3 * draws[:, 2].std(), 3 * draws[:, 3].std()])
    r = mean + sd * rng.normal(size=(100_000, 4))
    log_r = np.sum(-0.5 * ((r - mean) / sd) ** 2 - np.log(np.sqrt(2 * np.pi) * sd), axis=1)
    ratio = np.exp(model.log_prob(curve, r) - log_r)
    assert np.mean(ratio) == pytest.approx(1.0, abs=5 * ratio.std() / np.sqrt(ratio.size) + 0.03)


@pytest.mark.slow
def test_weights_match_an_independent_computation_and_are_uniform_for_the_exact_posterior(tmp_path, model):
    from lfjax.io.measurement_set import read_measurement_set

    mset = read_measurement_set(_set(tmp_path))
    problem, data = am.build_problem(mset, model)
    assert problem.free == ("D", "E") and problem.theta_names[2:] == lk.NUISANCES
    obs = prop.observed_curve(mset, model)
    theta, log_q = prop.proposal(model, obs, problem, 12, jax.random.key(0))
    imp = am.importance_weights(problem, data, theta, log_q)
    with jax.enable_x64(True):
        jdata = lk.to_jax(data)
        one = jax.jit(lambda t: lk.log_prior(problem, t) + lk.log_likelihood(problem, t, jdata))  # one draw at a time
        log_t = np.array([float(one(jnp.asarray(t))) for t in theta])
    lw = log_t - log_q
    w = np.exp(lw - lw.max())
    w /= w.sum()
    np.testing.assert_allclose(imp.weights, w, rtol=1e-9, atol=1e-15)
    assert imp.ess == pytest.approx(1 / np.sum(w**2))
    # a proposal proportional to the posterior gives exactly uniform weights and ESS = N
    exact = am.importance_weights(problem, data, theta, log_t - 3.0)
    np.testing.assert_allclose(exact.weights, np.full(12, 1 / 12), rtol=1e-9)
    assert exact.ess == pytest.approx(12.0)


def test_observed_curve_picks_the_field_closest_to_the_models(tmp_path, model):
    from lfjax.errors import ModelMismatchError
    from lfjax.io.measurement_set import read_measurement_set

    obs = prop.observed_curve(read_measurement_set(_set(tmp_path)), model)
    assert obs.chi_t_on_grid.shape == model.temps_k.shape and not obs.full_range
    ranged = tmp_path / "ranged"
    ranged.mkdir()
    toml = _set(ranged)
    toml.write_text(toml.read_text() + "t_min_k = 40\n")
    mset = read_measurement_set(toml)
    assert mset.curves[0].temps_k.min() >= 40
    obs = prop.observed_curve(mset, model)  # the file's full range feeds the proposal, with a warning
    assert obs.full_range and any("full measured range" in w for w in obs.warnings)
    narrow = tmp_path / "narrow"
    narrow.mkdir()
    with pytest.raises(ModelMismatchError, match="covers the model grid"):
        prop.observed_curve(read_measurement_set(_set(narrow, t_lo=40.0)), model)


@pytest.mark.slow
def test_route_switches_to_smc_where_the_ess_is_low_and_result_json_records_it(tmp_path, model):
    from lfjax.inference.amortized_report import write_outputs

    toml = _set(tmp_path)
    common = dict(data=(toml,), samples=200, smc_particles=100, smc_mcmc=2, starts=1, max_modes=2)
    easy = am.run_infer_set(am.SetInferConfig(**common, min_ess=1.0, min_ess_fraction=0.0), model=model)
    assert easy.route == "importance" and easy.smc is None
    forced = am.run_infer_set(am.SetInferConfig(**common, min_ess=1e9), model=model)
    assert forced.route == "smc" and forced.smc.betas[-1] == pytest.approx(1.0)
    assert forced.importance.ess == pytest.approx(easy.importance.ess)  # same draws, same weights
    _, obj = write_outputs(forced, tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["route"] == "smc" and saved["smc"]["n_steps"] == forced.smc.n_steps
    assert saved["importance"]["ess"] == pytest.approx(forced.importance.ess)
    for post in (easy, forced):  # both routes fit as well as the truth, near it (modulo the six equivalents)
        from lfjax.engines.sample import fold_samples

        best = fold_samples(post.problem, post.fit.solutions[0].theta[None])[0]
        truth = fold_samples(post.problem, np.array([TRUTH]))[0]
        with jax.enable_x64(True):
            res = lk.weighted_residuals(post.problem, jnp.asarray(TRUTH), lk.to_jax(post.data),
                                        jnp.asarray(post.fit.sigmas))
            truth_objective = float(jnp.sum(res**2))
        assert post.fit.solutions[0].objective <= truth_objective + 1e-6
        assert abs(best[0] - truth[0]) < 1.0 and abs(best[1] - truth[1]) < 0.5
        assert saved["predictive_rms_rel_percent"]["chi"] < 1.0
    assert {"result.json", "samples.csv", "corner.png", "band_1.png", "fit_1.png"} <= {p.name for p in (tmp_path / "out").iterdir()}


@pytest.mark.slow
def test_beyond_the_smc_budget_the_low_ess_route_samples_around_the_fit(tmp_path, model):
    from lfjax.inference.amortized_report import write_outputs

    toml = _set(tmp_path)
    config = am.SetInferConfig(data=(toml,), samples=200, starts=2, max_modes=2, min_ess=1e9, budget_min=0.0,
                               fit_importance_draws=400)
    said = []
    post = am.run_infer_set(config, model=model, progress=said.append)
    assert post.route == "fit-importance" and post.smc is None and post.fit is not None
    assert any("fit-importance" in m for m in said) and any(m.startswith("fit:") for m in said)
    fi = post.fit_importance
    assert fi.ess_pooled > 50 and post.samples.shape == (400, post.problem.n_theta)
    from lfjax.engines.sample import fold_samples

    truth = fold_samples(post.problem, np.array([TRUTH]))[0]
    mean, sd = post.folded.mean(axis=0), post.folded.std(axis=0)
    assert np.all(np.abs(mean[:2] - truth[:2]) < 3 * sd[:2])  # the truth inside the posterior's bulk
    _, obj = write_outputs(post, tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["route"] == "fit-importance" and saved["fit_importance"]["ess_pooled"] == pytest.approx(fi.ess_pooled)
    assert saved["fit_importance"]["reliable"] and saved["predictive_rms_rel_percent"]["chi"] < 1.0
