"""Training for any model specification: flow dimension, symmetry folding, train -> save -> restore -> resume."""

import json
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lfjax
from lfjax.data.config import DataConfig
from lfjax.data.prior import fold_theta, sample_theta, symmetry_group, theta_names
from lfjax.data.stream import make_batch, simulate
from lfjax.errors import ConfigError
from lfjax.physics.equivalents import canonical
from lfjax.training import config as cfg_lib
from lfjax.training.train import build_net, init_params, train_and_evaluate

REPO = Path(__file__).resolve().parents[2]
AXIAL = REPO / "configs" / "tiny_axial.toml"


def _flow_dim(config) -> int:
    """n_theta read off the initialised parameters: the last conditioner layer has n (3 bins + 1) outputs."""
    params = init_params(config, build_net(config), jax.random.key(0))
    leaves = jax.tree_util.tree_leaves_with_path(params)
    kernels = [x for p, x in leaves if "conditioners_0" in jax.tree_util.keystr(p) and "kernel" in jax.tree_util.keystr(p)]
    return kernels[-1].shape[-1] // (3 * config.model.flow_bins + 1)


@pytest.mark.parametrize(
    "data, names",
    [
        ({}, ("D", "E", "chi_dia", "f_m")),
        ({"preset": "axial"}, ("B20", "B40", "B60", "chi_dia", "f_m")),
        ({"preset": "axial", "lambda_max_mol_per_emu": 0.05}, ("B20", "B40", "B60", "chi_dia", "f_m", "lambda")),
        ({"params": ["B20", "B40", "B43"]}, ("B20", "B40", "B43", "chi_dia", "f_m")),
        ({"ion": "Dy3+", "preset": "D3d"}, ("B20", "B40", "B43", "B60", "B63", "B66", "chi_dia", "f_m")),
    ],
)
def test_flow_dimension_follows_the_model(data, names):
    base = cfg_lib.load(AXIAL if data.get("preset") == "axial" else REPO / "configs" / "tiny.toml")
    config = cfg_lib.replace(base, data=dict(data, preset=data.get("preset", "DE")))
    assert theta_names(config.data) == names
    assert _flow_dim(config) == len(names)
    theta = np.asarray(sample_theta(jax.random.key(0), 8, config.data))
    assert theta.shape == (8, len(names))


def test_de_group_fold_is_the_old_canonical_fold():
    cfg = DataConfig()
    theta = np.asarray(sample_theta(jax.random.key(3), 5000, cfg), np.float64)
    folded = np.asarray(fold_theta(jnp.asarray(theta), cfg))
    expected = np.asarray(canonical(theta[:, 0], theta[:, 1]))
    np.testing.assert_allclose(folded[:, :2], expected, atol=1e-5)
    np.testing.assert_array_equal(folded[:, 2:], theta[:, 2:].astype(np.float32))
    assert symmetry_group(cfg).n_maps == 6
    # the spec's (D, E) maps are the same six matrices as the group's, in another order
    spec_maps = lfjax.model_spec("Er3+", preset="DE").maps_array()
    group_maps = symmetry_group(cfg).maps
    assert all(np.any(np.all(np.isclose(group_maps, m), axis=(1, 2))) for m in spec_maps)


def test_general_path_with_explicit_parameters_matches_chi_t_powder():
    cfg = DataConfig(params=("B20", "B40", "B43"), scale_k=300.0, n_temps=12, noise_rel=0.0)
    theta = np.asarray(sample_theta(jax.random.key(4), 6, cfg))
    got = np.asarray(simulate(cfg, jnp.asarray(theta))["chi_t"])
    params = {"B20": theta[:, 0], "B40": theta[:, 1], "B43": theta[:, 2]}
    ref = np.asarray(lfjax.chi_t_powder(lfjax.ion("Er3+"), params, cfg.temps_k()))
    np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_axial_mean_field_matches_the_physics_chi(x64):
    cfg = DataConfig(preset="axial", scale_k=300.0, n_temps=10, lambda_max_mol_per_emu=0.2,
                     lambda_min_mol_per_emu=-0.2)
    theta = np.asarray(sample_theta(jax.random.key(5), 4, cfg), np.float64)
    got = np.asarray(simulate(cfg, jnp.asarray(theta), dtype=jnp.float64)["chi_t"])
    temps = cfg.temps_k()
    ref = np.stack([
        np.asarray(lfjax.chi(lfjax.ion("Er3+"), {"B20": t[0], "B40": t[1], "B60": t[2]}, temps, np.zeros_like(temps),
                             mean_field=t[5], dtype=jnp.float64, n_theta=48)) * temps
        for t in theta
    ])
    no_mf = np.asarray(simulate(DataConfig(preset="axial", scale_k=300.0, n_temps=10), jnp.asarray(theta[:, :5]),
                                dtype=jnp.float64)["chi_t"])
    assert np.max(np.abs(got / no_mf - 1)) > 1e-3  # the mean field matters at these lambdas
    np.testing.assert_allclose(got, ref, rtol=2e-4)


def test_m_of_h_observables_reach_the_network_input():
    cfg = DataConfig(preset="axial", scale_k=300.0, n_temps=8, mh_temps_k=(2.0,), mh_fields_oe=(1e4, 5e4),
                     noise_rel=0.0, norm_curves=200)
    batch = jax.jit(lambda k: make_batch(k, cfg, 4))(jax.random.key(6))
    assert batch["mh"].shape == (4, 2) and cfg.n_points == 10
    theta = np.asarray(batch["theta"])
    params = {"B20": theta[:, 0], "B40": theta[:, 1], "B60": theta[:, 2]}
    m = np.asarray(lfjax.magnetization(lfjax.ion("Er3+"), params, [2.0, 2.0], [1e4, 5e4]))
    expected = theta[:, 4:5] * m + theta[:, 3:4] * np.array([1e4, 5e4]) / 5584.939
    np.testing.assert_allclose(np.asarray(batch["mh"]), expected, rtol=1e-4)
    assert np.all(np.asarray(batch["mh"])[:, 1] > np.asarray(batch["mh"])[:, 0])  # M grows with H


def test_bad_model_in_config_is_a_config_error():
    with pytest.raises(ConfigError, match="does not name a model"):
        cfg_lib.from_dict({"data": {"preset": "hexagonal-ish"}})
    with pytest.raises(ConfigError, match="ranges_k"):
        cfg_lib.from_dict({"data": {"preset": "axial", "ranges_k": [1.0, 0.0]}})
    with pytest.raises(ConfigError, match="list of strings"):
        cfg_lib.from_dict({"data": {"params": [20, 40]}})


@pytest.fixture(scope="module")
def axial_run(tmp_path_factory):
    config = cfg_lib.load(AXIAL, ["train.steps=12", "train.log_every=2", "train.checkpoint_every=6",
                                  "data.norm_curves=1000"])
    workdir = tmp_path_factory.mktemp("axial")
    result = train_and_evaluate(config, workdir)
    return config, workdir, result


def test_tiny_axial_trains_saves_restores_and_resumes_exactly(axial_run, tmp_path):
    from lfjax.models.trained import load_model

    config, workdir, result = axial_run
    rows = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6, 8, 10, 12] and all(np.isfinite(r["loss"]) for r in rows)
    model = load_model(workdir)
    assert model.theta_names == ("B20", "B40", "B60", "chi_dia", "f_m")
    bank = model.latent_bank()
    draws = model.sample(bank["chi_t"][0], 64, key=0)
    assert draws.shape == (64, 5) and np.all(np.isfinite(draws))
    assert set(model.ood_scores(bank["chi_t"][:3])) >= {"flagged", "latent_distance"}
    # resume from the step-6 checkpoint of the same run: the 6 steps after it equal the uninterrupted ones
    run = tmp_path / "r"
    shutil.copytree(workdir, run)
    shutil.rmtree(run / "checkpoints" / "12")
    resumed = train_and_evaluate(config, run, resume=True)
    assert resumed["step"] == 12
    for a, b in zip(jax.tree_util.tree_leaves(resumed["params"]), jax.tree_util.tree_leaves(result["params"])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_export_for_serving_drops_the_optimiser_state(axial_run, tmp_path):
    from lfjax.models.trained import load_model
    from lfjax.training.checkpoint import export_for_serving

    config, workdir, result = axial_run
    target = export_for_serving(workdir, tmp_path / "shipped")
    assert target.name == "12" and not (target / "opt_state").exists() and (target / "params").is_dir()
    assert (tmp_path / "shipped" / "config.toml").is_file() and (tmp_path / "shipped" / "metrics.jsonl").is_file()
    a, b = load_model(tmp_path / "shipped"), load_model(workdir)
    chi_t = b.latent_bank()["chi_t"][:2]
    np.testing.assert_array_equal(a.sample_batch(chi_t, 16, key=1), b.sample_batch(chi_t, 16, key=1))


def test_checkpoints_older_than_the_model_keys_resume_at_their_defaults():
    from lfjax.errors import CheckpointError
    from lfjax.training.checkpoint import check_compatible

    resolved = cfg_lib.resolve(cfg_lib.load(REPO / "configs" / "tiny.toml"))
    old = {section: {k: v for k, v in values.items() if k not in ("preset", "params", "scale_k")}
           for section, values in resolved.items()}
    check_compatible({"config": old}, resolved)  # keys missing from the checkpoint, at their defaults
    axial = cfg_lib.resolve(cfg_lib.replace(cfg_lib.load(REPO / "configs" / "tiny.toml"), data={"preset": "axial"}))
    with pytest.raises(CheckpointError, match="data.preset"):
        check_compatible({"config": old}, axial)
