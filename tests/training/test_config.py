"""Config loading: defaults, validation with the valid keys named, overrides, TOML round trip."""

from pathlib import Path

import pytest

from lfjax.training import config as cfg_lib

REPO = Path(__file__).resolve().parents[2]


def test_default_config_file_matches_physics_defaults():
    cfg = cfg_lib.load(REPO / "configs" / "er3_de.toml")
    assert cfg.data.ion == "Er3+" and cfg.data.d_max_k == 15.0
    assert cfg.data.sigma_dia_emu_per_mol == 0.002 and cfg.data.sigma_m == 0.02 and cfg.data.noise_rel == 0.003
    assert (cfg.data.t_min_k, cfg.data.t_max_k, cfg.data.n_temps) == (1.8, 300.0, 64)
    assert cfg.model.latent_dim == 3


def test_unknown_key_names_the_valid_keys(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[train]\nstepz = 3\n")
    with pytest.raises(cfg_lib.ConfigError, match=r"unknown key\(s\) \['stepz'\] in \[train\]; valid keys: .*'steps'"):
        cfg_lib.load(path)
    path.write_text("[optim]\nlr = 3\n")
    with pytest.raises(cfg_lib.ConfigError, match="valid tables"):
        cfg_lib.load(path)


def test_type_errors_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[train]\nsteps = "many"\n')
    with pytest.raises(cfg_lib.ConfigError, match="train.steps must be an integer"):
        cfg_lib.load(path)
    path.write_text("[train]\nsteps = 7\n")
    cfg = cfg_lib.load(path, ["train.steps=11", "model.encoder_widths=[8, 4]", "data.ion=Dy3+", "train.learning_rate=2e-4"])
    assert cfg.train.steps == 11 and cfg.model.encoder_widths == (8, 4) and cfg.data.ion == "Dy3+"
    assert cfg.train.learning_rate == 2e-4
    with pytest.raises(cfg_lib.ConfigError, match="section.key=value"):
        cfg_lib.load(path, ["steps"])
    with pytest.raises(cfg_lib.ConfigError, match="valid keys"):
        cfg_lib.load(path, ["train.nope=1"])


def test_resolved_toml_round_trips(tmp_path):
    cfg = cfg_lib.load(REPO / "configs" / "tiny.toml", ["data.ion=Er(III)"])
    path = tmp_path / "resolved.toml"
    path.write_text(cfg_lib.to_toml(cfg))
    assert cfg_lib.load(path) == cfg


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(cfg_lib.ConfigError, match="expected a TOML file"):
        cfg_lib.load(tmp_path / "none.toml")
    with pytest.raises(cfg_lib.ConfigError, match="expected a readable TOML text file"):
        (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00bad")
        cfg_lib.load(tmp_path / "binary.toml")


def test_a_section_range_check_is_a_config_error():
    with pytest.raises(cfg_lib.ConfigError, match=r"\[data\]: data needs d_max_k > 0"):
        cfg_lib.from_dict({"data": {"d_max_k": -1.0}})
